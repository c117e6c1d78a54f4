//! The simulated chat clients: members that join a room and read every
//! frame, publishers that post stamped messages (in a burst or on an
//! open-loop schedule), churners that join and leave, stalled members that
//! stop reading; and the [`Recorder`] they all report to. Whatever reads a
//! connection answers the server's pings on the way ([`WsReader::fill`]
//! sends the pongs), so only a stalled member goes silent.
//!
//! The generator runs on one thread (a current-thread runtime and a
//! `LocalSet`, pinned to its own CPU), so the recorder is shared through
//! `Rc<RefCell<_>>` with no locking; a reader borrows it once per batch of
//! frames read from its socket and never across an `.await`. Every frame of
//! a batch gets the same arrival time, taken right after the `read` that
//! brought it in.

use crate::bots;
use crate::ledger::{Ledger, RoomOrder, Tally};
use crate::pacing::Schedule;
use crate::stats::Latencies;
use crate::wire::{self, Incoming, Stamp, WireError};
use crate::ws::{self, Frame, WsError, WsReader, WsUrl, WsWriter};
use common::ServerFrame;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Longest a member waits for the answer to its join.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Problems kept word for word per run; beyond that only counted.
pub const MAX_PROBLEMS_KEPT: usize = 20;

/// The generator's clock: nanoseconds since an epoch taken at start, the
/// time base of every stamp (senders and receivers share this process).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since the epoch.
    pub fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    /// `at` in nanoseconds since the epoch.
    pub fn ns_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// The instant `ns` nanoseconds after the epoch.
    pub fn instant(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }
}

/// Why a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error(transparent)]
    Ws(#[from] WsError),
    /// A frame could not be built or read.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The server refused the join.
    #[error("join refused: {0}")]
    Refused(String),
    /// No answer in time.
    #[error("no answer to the join within {0:?}")]
    Timeout(Duration),
    /// No account for the client.
    #[error(transparent)]
    Bots(#[from] bots::BotsError),
    /// The server closed the connection.
    #[error("closed by the server ({code:?} {reason:?})")]
    Closed {
        /// The close code.
        code: Option<u16>,
        /// Its reason.
        reason: String,
    },
}

/// A member that stopped reading, watched through the presence frames an
/// observer member receives.
#[derive(Debug, Clone)]
pub struct StallWatch {
    /// Its account's username (see [`crate::bots`]).
    pub name: String,
    /// Its account's id, once a presence frame listed it (`left` names
    /// accounts by id).
    pub user_id: Option<common::UserId>,
    /// Whether a presence frame listed it (so that its absence means it left).
    pub seen: bool,
    /// When (clock ns) a presence frame first left it out.
    pub dropped_at_ns: Option<u64>,
}

/// Everything the clients of one scenario report, reset for each run.
pub struct Recorder {
    /// The time base.
    pub clock: Clock,
    /// The run in progress; stamps of other runs are problems.
    pub run: u32,
    /// Latency of every accounted delivery, from the intended send time.
    pub latencies: Latencies,
    /// How late publishers sent, against their schedule.
    pub send_lag: Latencies,
    /// Accounted deliveries this run.
    pub delivered: u64,
    /// When the last accounted delivery arrived (clock ns).
    pub last_delivery_ns: u64,
    /// The rooms, by index.
    pub rooms: Vec<String>,
    /// The room of each accounted member.
    pub member_rooms: Vec<usize>,
    /// Each accounted member's ledger for this run.
    pub ledgers: Vec<Ledger>,
    /// Each room's ids for this run, as its members first received them.
    pub orders: Vec<RoomOrder>,
    /// Messages sent this run, per room and publisher.
    pub sent: Vec<Vec<u64>>,
    /// Correctness problems (kept up to [`MAX_PROBLEMS_KEPT`]).
    pub problems: Vec<String>,
    /// All problems, kept or not.
    pub problem_count: u64,
    /// Accounted members whose connection ended.
    pub closed_members: u64,
    /// Set while tearing down: connections ending then are no problem.
    pub closing: bool,
    /// Stalled members being watched (slow-consumer).
    pub stalls: Vec<StallWatch>,
    /// Whether presence frames should now be checked for stalled members.
    pub watching_stalls: bool,
    /// `joined` answers to churners this run.
    pub churn_joins: u64,
}

/// The recorder, as every client task holds it.
pub type Shared = Rc<RefCell<Recorder>>;

impl Recorder {
    /// A recorder for accounted members in `rooms`, `member_rooms[m]` being
    /// member `m`'s room.
    pub fn new(clock: Clock, rooms: Vec<String>, member_rooms: Vec<usize>) -> Self {
        Self {
            clock,
            run: 0,
            latencies: Latencies::new(),
            send_lag: Latencies::new(),
            delivered: 0,
            last_delivery_ns: 0,
            rooms,
            member_rooms,
            ledgers: Vec::new(),
            orders: Vec::new(),
            sent: Vec::new(),
            problems: Vec::new(),
            problem_count: 0,
            closed_members: 0,
            closing: false,
            stalls: Vec::new(),
            watching_stalls: false,
            churn_joins: 0,
        }
    }

    /// Starts run `run` with `publishers` publishers in every room.
    pub fn begin_run(&mut self, run: u32, publishers: usize) {
        self.run = run;
        self.latencies.clear();
        self.send_lag.clear();
        self.delivered = 0;
        self.last_delivery_ns = 0;
        self.ledgers = vec![Ledger::new(publishers); self.member_rooms.len()];
        self.orders = vec![RoomOrder::default(); self.rooms.len()];
        self.sent = vec![vec![0; publishers]; self.rooms.len()];
        self.problems.clear();
        self.problem_count = 0;
        self.churn_joins = 0;
    }

    /// Deliveries expected so far: what was sent to each room, times the
    /// room's accounted members.
    pub fn expected(&self) -> u64 {
        let mut members = vec![0u64; self.rooms.len()];
        for &room in &self.member_rooms {
            members[room] += 1;
        }
        self.sent
            .iter()
            .zip(members)
            .map(|(sent, members)| sent.iter().sum::<u64>() * members)
            .sum()
    }

    /// Messages sent this run in all rooms.
    pub fn messages_sent(&self) -> u64 {
        self.sent.iter().flatten().sum()
    }

    /// The ledgers checked against what was sent, added up.
    pub fn tally(&self) -> Tally {
        let mut total = Tally::default();
        for (ledger, &room) in self.ledgers.iter().zip(&self.member_rooms) {
            total.add(ledger.tally(&self.sent[room]));
        }
        total
    }

    /// Notes a correctness problem.
    pub fn problem(&mut self, what: impl FnOnce() -> String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS_KEPT {
            self.problems.push(what());
        }
    }

    /// Handles a text frame that reached accounted member `member` at `now_ns`.
    pub(crate) fn on_member_text(
        &mut self,
        member: usize,
        text: &str,
        now_ns: u64,
        observer: bool,
    ) {
        let delivery = match wire::classify(text) {
            Ok(Incoming::Message(delivery)) => delivery,
            Ok(Incoming::Presence) => {
                if observer && self.watching_stalls {
                    self.check_stalls(text, now_ns);
                }
                return;
            }
            Ok(Incoming::Typing | Incoming::RoomState) => return,
            Ok(Incoming::Joined) => {
                return self
                    .problem(|| format!("member {member}: a joined frame it did not ask for"))
            }
            Ok(Incoming::Error(error)) => {
                return self.problem(|| format!("member {member}: error frame {error}"))
            }
            Err(err) => return self.problem(|| format!("member {member}: {err}")),
        };
        let room = self.member_rooms[member];
        if delivery.room != self.rooms[room] {
            let got = delivery.room.to_string();
            return self.problem(|| format!("member {member}: a message of room {got}"));
        }
        let Some(stamp) = Stamp::parse(&delivery.text) else {
            return self
                .problem(|| format!("member {member}: an unstamped message {}", delivery.id));
        };
        if stamp.run != self.run {
            let run = self.run;
            return self.problem(|| {
                format!(
                    "member {member}: a message of run {} during run {run}",
                    stamp.run
                )
            });
        }
        self.latencies
            .record_ns(now_ns.saturating_sub(stamp.intended_ns));
        let publisher = stamp.publisher as usize;
        self.ledgers[member].record(delivery.id, publisher, stamp.seq);
        let sent = self.sent[room].get(publisher).copied().unwrap_or(0);
        if !self.orders[room].agrees(publisher, stamp.seq, sent, delivery.id) {
            let (seq, id) = (stamp.seq, delivery.id);
            self.problem(|| {
                format!("member {member}: message {seq} of publisher {publisher} came as id {id}, other members got another id")
            });
        }
        self.delivered += 1;
        self.last_delivery_ns = now_ns;
    }

    /// Marks watched stalled members that a presence delta says left as
    /// dropped (once they were seen joining).
    fn check_stalls(&mut self, text: &str, now_ns: u64) {
        let Ok(ServerFrame::Presence { joined, left, .. }) = ServerFrame::decode(text) else {
            return self.problem(|| "an unreadable presence frame".to_string());
        };
        for watch in &mut self.stalls {
            let gone = watch.user_id.is_some_and(|id| left.contains(&id));
            if gone && watch.seen && watch.dropped_at_ns.is_none() {
                watch.dropped_at_ns = Some(now_ns);
            }
            if let Some(person) = joined
                .iter()
                .find(|person| person.username.as_str() == watch.name)
            {
                watch.user_id = Some(person.user_id);
                watch.seen = true;
            }
        }
    }

    /// Handles the end of accounted member `member`'s connection.
    fn on_member_end(&mut self, member: usize, how: String) {
        if !self.closing {
            self.closed_members += 1;
            self.problem(|| format!("member {member}: {how}"));
        }
    }
}

/// Connects to `url` signed in as client `name`'s account (see
/// [`crate::bots`]) and joins `room`; returns once `joined` arrived, with
/// any frames after it still buffered in the reader.
pub async fn join(
    url: &WsUrl,
    room: &str,
    name: &str,
) -> Result<(WsReader, WsWriter), ClientError> {
    join_since(url, room, name, None)
        .await
        .map(|(reader, writer, _)| (reader, writer))
}

/// [`join`], asking for the messages after `since`; also returns the
/// `joined` frame.
pub async fn join_since(
    url: &WsUrl,
    room: &str,
    name: &str,
    since: Option<common::MessageId>,
) -> Result<(WsReader, WsWriter, ServerFrame), ClientError> {
    let attempt = async {
        let (mut reader, mut writer) = connect_as(url, name).await?;
        writer
            .send_text(&wire::join_since_frame(room, since)?)
            .await?;
        let joined = wait_joined(&mut reader).await?;
        Ok((reader, writer, joined))
    };
    tokio::time::timeout(JOIN_TIMEOUT, attempt)
        .await
        .unwrap_or(Err(ClientError::Timeout(JOIN_TIMEOUT)))
}

/// Opens a WebSocket to `url` signed in as client `name`'s account.
pub async fn connect_as(url: &WsUrl, name: &str) -> Result<(WsReader, WsWriter), ClientError> {
    let bot = bots::bot_for(name)?;
    Ok(ws::connect_as(url, Some(&bot.token)).await?)
}

/// Reads until the answer to a join: `Ok` with the `joined` frame decoded,
/// or the refusal. Presence, typing and room-state frames before it are skipped.
pub async fn wait_joined(reader: &mut WsReader) -> Result<ServerFrame, ClientError> {
    wait_joined_as(reader, |text| Ok(wire::decode(text)?)).await
}

/// As [`wait_joined`], but reads only how many messages the `joined`
/// frame's history holds: a join storm's 5,000 joiners each get a member
/// list of up to 5,000 people, which decoding in full would make the
/// generator's work rather than the server's.
pub async fn wait_joined_history_len(reader: &mut WsReader) -> Result<usize, ClientError> {
    wait_joined_as(reader, |text| Ok(wire::joined_history_len(text)?)).await
}

async fn wait_joined_as<T>(
    reader: &mut WsReader,
    read: impl Fn(&str) -> Result<T, ClientError>,
) -> Result<T, ClientError> {
    loop {
        while let Some(frame) = reader.next_frame()? {
            match frame {
                Frame::Text(text) => match wire::classify(text)? {
                    Incoming::Joined => return read(text),
                    Incoming::Error(error) => return Err(ClientError::Refused(error)),
                    Incoming::Presence
                    | Incoming::Typing
                    | Incoming::RoomState
                    | Incoming::Message(_) => {}
                },
                Frame::Close(code, reason) => {
                    return Err(ClientError::Closed {
                        code,
                        reason: reason.to_owned(),
                    })
                }
                Frame::Binary(_) | Frame::Control => {}
            }
        }
        reader.fill().await?;
    }
}

/// Reads accounted member `member`'s frames until its connection ends.
/// The `observer` also watches presence frames for stalled members.
pub async fn read_member(mut reader: WsReader, shared: Shared, member: usize, observer: bool) {
    let clock = shared.borrow().clock;
    loop {
        let end = {
            let now_ns = clock.now_ns();
            let mut recorder = shared.borrow_mut();
            loop {
                match reader.next_frame() {
                    Ok(Some(Frame::Text(text))) => {
                        recorder.on_member_text(member, text, now_ns, observer)
                    }
                    Ok(Some(Frame::Close(code, reason))) => {
                        break Some(format!("closed by the server ({code:?} {reason:?})"))
                    }
                    Ok(Some(Frame::Binary(_))) => {
                        recorder.problem(|| format!("member {member}: a binary frame"))
                    }
                    Ok(Some(Frame::Control)) => {}
                    Ok(None) => break None,
                    Err(err) => break Some(err.to_string()),
                }
            }
        };
        if let Some(how) = end {
            return shared.borrow_mut().on_member_end(member, how);
        }
        if let Err(err) = reader.fill().await {
            return shared.borrow_mut().on_member_end(member, err.to_string());
        }
    }
}

/// What a connection that is not accounted (a churner, an idle or a storm
/// client) saw while it was read.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    /// `joined` frames.
    pub joined: u64,
    /// `error` frames, as `code: message`.
    pub errors: Vec<String>,
    /// How the connection ended, if it did (and not by our own teardown).
    pub ended: Option<String>,
}

/// Reads and skips everything a connection receives, counting `joined`
/// answers (also into the recorder's churn count, when given) and keeping
/// errors, until the connection ends. Once `stop` is set, its end is ours,
/// not news. Shared by churners, idle and join-storm clients.
pub async fn drain(mut reader: WsReader, shared: Option<Shared>, stop: Rc<Cell<bool>>) -> Drained {
    let mut drained = Drained::default();
    loop {
        loop {
            match reader.next_frame() {
                Ok(Some(Frame::Text(text))) => match wire::classify(text) {
                    Ok(Incoming::Joined) => {
                        drained.joined += 1;
                        if let Some(shared) = &shared {
                            shared.borrow_mut().churn_joins += 1;
                        }
                    }
                    Ok(Incoming::Error(error)) => drained.errors.push(error),
                    Ok(_) => {}
                    Err(err) => drained.errors.push(err.to_string()),
                },
                Ok(Some(Frame::Close(code, reason))) => {
                    if !stop.get() {
                        drained.ended = Some(format!("closed by the server ({code:?} {reason:?})"));
                    }
                    return drained;
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(err) => {
                    drained.ended = Some(err.to_string());
                    return drained;
                }
            }
        }
        if let Err(err) = reader.fill().await {
            if !stop.get() {
                drained.ended = Some(err.to_string());
            }
            return drained;
        }
    }
}

/// How a publisher paces its messages.
#[derive(Clone)]
pub enum Pace {
    /// `count` messages, each written as soon as the previous one was
    /// taken by the kernel ("as fast as accepted"); latency counts from
    /// the moment of the write.
    Burst {
        /// Messages to send.
        count: u64,
    },
    /// On an open-loop schedule from `start`; latency counts from each
    /// message's intended time. Ends early when `stop` is set.
    Scheduled {
        /// The publisher's schedule.
        schedule: Schedule,
        /// The run's start.
        start: Instant,
        /// Set to end the run before the schedule does.
        stop: Rc<Cell<bool>>,
    },
}

/// Publisher `publisher` of room `room` posts its messages through `writer`.
pub async fn publish(
    writer: &mut WsWriter,
    shared: &Shared,
    room: usize,
    publisher: usize,
    pace: Pace,
) -> Result<(), ClientError> {
    let (clock, run, room_name) = {
        let recorder = shared.borrow();
        (recorder.clock, recorder.run, recorder.rooms[room].clone())
    };
    let mut seq = 0u64;
    let send = |seq: u64, intended_ns: u64| {
        let stamp = Stamp {
            run,
            publisher: publisher as u32,
            seq,
            intended_ns,
        };
        wire::send_frame(&room_name, &stamp.text())
    };
    match pace {
        Pace::Burst { count } => {
            while seq < count {
                writer.send_text(&send(seq, clock.now_ns())?).await?;
                shared.borrow_mut().sent[room][publisher] += 1;
                seq += 1;
            }
        }
        Pace::Scheduled {
            schedule,
            start,
            stop,
        } => {
            while seq < schedule.count() && !stop.get() {
                let due = start + schedule.due(seq);
                if Instant::now() < due {
                    tokio::time::sleep_until(due.into()).await;
                }
                // Everything due by now goes out at once (open loop).
                // (At least the message slept for, whatever rounding says.)
                let elapsed = Instant::now().saturating_duration_since(start);
                let due_now = schedule.due_by(elapsed).max(seq + 1);
                while seq < due_now && !stop.get() {
                    let intended = clock.ns_at(start + schedule.due(seq));
                    writer.send_text(&send(seq, intended)?).await?;
                    let mut recorder = shared.borrow_mut();
                    recorder.sent[room][publisher] += 1;
                    recorder
                        .send_lag
                        .record_ns(clock.now_ns().saturating_sub(intended));
                    seq += 1;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::block_on;
    use crate::ws::WsUrl;

    fn stamped(room: &str, id: u64, stamp: Stamp) -> String {
        format!(
            r#"{{"type":"message","room":"{room}","id":{id},"name":"p","text":"{}","ts":1}}"#,
            stamp.text()
        )
    }

    fn stamp(run: u32, publisher: u32, seq: u64) -> Stamp {
        Stamp {
            run,
            publisher,
            seq,
            intended_ns: 1_000,
        }
    }

    #[test]
    fn deliveries_are_accounted_per_member_and_checked_against_what_was_sent() {
        let rooms = vec!["a".to_string(), "b".to_string()];
        let mut recorder = Recorder::new(Clock::start(), rooms, vec![0, 0, 1]);
        recorder.begin_run(1, 1);
        recorder.sent = vec![vec![2], vec![1]];
        assert_eq!(recorder.expected(), 2 * 2 + 1);
        for member in 0..2 {
            recorder.on_member_text(member, &stamped("a", 1, stamp(1, 0, 0)), 5_000, false);
        }
        recorder.on_member_text(0, &stamped("a", 2, stamp(1, 0, 1)), 6_000, false);
        recorder.on_member_text(2, &stamped("b", 1, stamp(1, 0, 0)), 7_000, false);
        assert_eq!(recorder.delivered, 4);
        assert_eq!(recorder.latencies.count(), 4);
        assert_eq!(recorder.problem_count, 0);
        // Member 1 never got message 2 of room a.
        let tally = recorder.tally();
        assert_eq!((tally.lost, tally.duplicated), (1, 0));
    }

    #[test]
    fn a_message_that_reaches_members_with_two_ids_is_a_problem() {
        let mut recorder = Recorder::new(Clock::start(), vec!["a".into()], vec![0, 0]);
        recorder.begin_run(0, 1);
        recorder.sent = vec![vec![2]];
        recorder.on_member_text(0, &stamped("a", 1, stamp(0, 0, 0)), 1, false);
        recorder.on_member_text(0, &stamped("a", 2, stamp(0, 0, 1)), 1, false);
        recorder.on_member_text(1, &stamped("a", 1, stamp(0, 0, 0)), 1, false);
        assert_eq!(recorder.problem_count, 0);
        // Ids still increase for member 1, but message 1 is not id 2 there.
        recorder.on_member_text(1, &stamped("a", 3, stamp(0, 0, 1)), 1, false);
        assert_eq!(recorder.problem_count, 1);
        assert!(
            recorder.problems[0].contains("id 3"),
            "{:?}",
            recorder.problems
        );
    }

    #[test]
    fn wrong_rooms_old_runs_and_error_frames_are_problems() {
        let mut recorder = Recorder::new(Clock::start(), vec!["a".into()], vec![0]);
        recorder.begin_run(2, 1);
        recorder.on_member_text(0, &stamped("z", 1, stamp(2, 0, 0)), 1, false);
        recorder.on_member_text(0, &stamped("a", 1, stamp(1, 0, 0)), 1, false);
        recorder.on_member_text(
            0,
            r#"{"type":"error","code":"unavailable","message":"x"}"#,
            1,
            false,
        );
        assert_eq!(recorder.problem_count, 3);
        assert_eq!(recorder.delivered, 0);
        // Ending while tearing down is no problem; before, it is.
        recorder.closing = true;
        recorder.on_member_end(0, "eof".into());
        assert_eq!(recorder.problem_count, 3);
        recorder.closing = false;
        recorder.on_member_end(0, "eof".into());
        assert_eq!((recorder.problem_count, recorder.closed_members), (4, 1));
    }

    /// A real WebSocket server (tungstenite, as the chat server uses) on a
    /// thread: returns its URL and, once the client closes, every text
    /// message it received.
    fn echo_less_server() -> (WsUrl, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut ws = tungstenite::accept(stream).expect("handshake");
            let mut texts = Vec::new();
            while let Ok(message) = ws.read() {
                if let tungstenite::Message::Text(text) = message {
                    texts.push(text.to_string());
                }
            }
            texts
        });
        let url = WsUrl::parse(&format!("ws://{addr}/ws")).expect("url");
        (url, server)
    }

    #[test]
    fn a_paced_publisher_sends_its_schedule_in_order_and_stops() {
        let (url, server) = echo_less_server();
        let shared: Shared = Rc::new(RefCell::new(Recorder::new(
            Clock::start(),
            vec!["r".into()],
            Vec::new(),
        )));
        shared.borrow_mut().begin_run(4, 2);
        let schedule = Schedule::shared(400.0, 2, 1, Duration::from_millis(100));
        assert_eq!(schedule.count(), 20);
        let started = Instant::now();
        block_on(async {
            let (_reader, mut writer) = ws::connect(&url).await.expect("connect");
            let pace = Pace::Scheduled {
                schedule,
                start: Instant::now(),
                stop: Rc::new(Cell::new(false)),
            };
            let publishing = publish(&mut writer, &shared, 0, 1, pace);
            tokio::time::timeout(Duration::from_secs(5), publishing)
                .await
                .expect("the publisher finishes")
                .expect("it sends everything");
        });
        // The schedule spans 100 ms: it was neither skipped nor dragged out.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert_eq!(shared.borrow().sent, [[0, 20]]);
        assert_eq!(shared.borrow().send_lag.count(), 20);
        let texts = server.join().expect("the server thread");
        let seqs: Vec<u64> = texts
            .iter()
            .map(|frame| {
                let text = frame.split(r#""text":""#).nth(1).expect("a send frame");
                let stamp = Stamp::parse(text).expect("a stamp");
                assert_eq!((stamp.run, stamp.publisher), (4, 1));
                stamp.seq
            })
            .collect();
        assert_eq!(seqs, (0..20).collect::<Vec<u64>>());
    }

    #[test]
    fn a_burst_publisher_sends_its_count() {
        let (url, server) = echo_less_server();
        let shared: Shared = Rc::new(RefCell::new(Recorder::new(
            Clock::start(),
            vec!["r".into()],
            Vec::new(),
        )));
        shared.borrow_mut().begin_run(0, 1);
        block_on(async {
            let (_reader, mut writer) = ws::connect(&url).await.expect("connect");
            publish(&mut writer, &shared, 0, 0, Pace::Burst { count: 300 })
                .await
                .expect("it sends everything");
        });
        assert_eq!(shared.borrow().messages_sent(), 300);
        assert_eq!(server.join().expect("the server thread").len(), 300);
    }

    #[test]
    fn a_stalled_member_counts_as_dropped_once_presence_leaves_it_out() {
        let mut recorder = Recorder::new(Clock::start(), vec!["a".into()], vec![0]);
        recorder.stalls = vec![StallWatch {
            name: "bench-000007".into(),
            user_id: None,
            seen: false,
            dropped_at_ns: None,
        }];
        recorder.watching_stalls = true;
        // Version 2: `joined` lists people, `left` their accounts' ids.
        let without = r#"{"type":"presence","room":"a","left":[8]}"#;
        let with = r#"{"type":"presence","room":"a","joined":[{"user_id":8,"username":"bench-000007","display_name":"bench-000007"}]}"#;
        // Not yet seen: an old leave means nothing.
        recorder.on_member_text(0, without, 10, true);
        assert_eq!(recorder.stalls[0].dropped_at_ns, None);
        recorder.on_member_text(0, with, 20, true);
        // Only the observer watches.
        recorder.on_member_text(0, without, 30, false);
        assert_eq!(recorder.stalls[0].dropped_at_ns, None);
        recorder.on_member_text(0, without, 40, true);
        assert_eq!(recorder.stalls[0].dropped_at_ns, Some(40));
    }
}
