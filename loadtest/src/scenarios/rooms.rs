//! Message load in rooms: fanout-max and its in-memory variant,
//! fanout-1m, fanout-100k, slow-consumer, many-rooms, big-room, and the
//! cluster scenarios.
//!
//! One server serves the whole scenario (or, in the cluster scenarios, one
//! cluster: instances sharing a broker, each room's members spread over
//! them, see [`instance_of`]): the members join once (the joins are not
//! measured), then each run (warm-ups first) has the publishers send,
//! waits until every accounted member received every message, and reads
//! the CPU time and memory of the server's processes around it.

use super::context::{cpu_use, memory_of, process_figures, Context, Part, Running, Store};
use super::Outcome;
use crate::client::{self, Clock, Pace, Recorder, Shared, StallWatch};
use crate::figures::RunFigures;
use crate::pacing::Schedule;
use crate::procfs::Memory;
use crate::server::Person;
use crate::signin;
use crate::wire;
use crate::ws::{Frame, WsReader, WsUrl, WsWriter};
use futures_util::stream::{self, StreamExt};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::{spawn_local, JoinHandle};

/// Clients connecting and joining at the same time during set-up: far
/// below the listen backlog, which would otherwise drop SYNs that the
/// kernel retries only a second later.
pub const CONNECT_CONCURRENCY: usize = 64;

/// The username of the person a sign-in variant signs in as.
pub const SIGN_IN_USERNAME: &str = "signer";

/// Pause after the joins, so that their presence frames are read before
/// the first run.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Delay from scheduling a run to its first send, so every publisher task
/// is waiting before its first message is due.
pub const START_DELAY: Duration = Duration::from_millis(20);

/// Longest to wait for the last deliveries once the publishers are done.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to keep waiting for deliveries once a member's connection
/// ended (its missing messages will never come).
pub const CLOSED_GRACE: Duration = Duration::from_secs(2);

/// Pause after closing every connection, so the server sees them close
/// before it is told to stop (its shutdown is then quick and clean).
pub const CLOSE_SETTLE: Duration = Duration::from_millis(200);

/// How often waits poll their condition (deliveries, stalled members seen).
pub const DRAIN_POLL: Duration = Duration::from_millis(2);

/// Longest slow-consumer keeps sending while waiting for the stalled
/// members to be dropped.
pub const STALL_WATCH: Duration = Duration::from_secs(30);

/// How often server memory is sampled while members are stalled.
pub const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// Longest a stalled member, once it reads again, waits for the end of
/// its connection (the close frame, when the server dropped it); one the
/// server kept is then "still open".
pub const STALL_RESUME_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest to wait for the observer to see a stalled member in a
/// presence frame after it joined.
const STALL_SEEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How messages are offered.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    /// Each room's publishers share `per_room` messages and send them as
    /// fast as the server accepts them.
    Burst {
        /// Messages per room per run.
        per_room: u64,
    },
    /// All publishers together send `per_s` messages a second (in all
    /// rooms) for `duration`, on an open-loop schedule.
    Paced {
        /// Messages per second, all rooms together.
        per_s: f64,
        /// How long.
        duration: Duration,
    },
}

/// The shape of a room scenario.
#[derive(Debug, Clone)]
pub struct RoomsPlan {
    /// Rooms.
    pub rooms: usize,
    /// Members of each room, publishers included.
    pub members_per_room: usize,
    /// Publishers of each room (members `0..publishers`).
    pub publishers: usize,
    /// The message load.
    pub load: Load,
    /// Extra connections that join and leave rooms during runs.
    pub churners: usize,
    /// Joins plus leaves per second, all churners together.
    pub churn_ops_per_s: f64,
    /// Members of room 0 that stop reading at each run's start.
    pub stalled: usize,
    /// Server instances: 1, a single server; more, a cluster of that many
    /// instances sharing a broker, over which each room's members are
    /// spread ([`instance_of`]).
    pub instances: usize,
    /// Password sign-ins per second beside the load, as one person made
    /// at set-up ([`crate::signin`]); 0 for none.
    pub sign_ins_per_s: f64,
}

impl RoomsPlan {
    /// Accounted members in all.
    pub fn members(&self) -> usize {
        self.rooms * self.members_per_room
    }

    /// Deliveries per second offered by a paced load.
    pub fn offered_deliveries_per_s(&self) -> Option<f64> {
        match self.load {
            Load::Paced { per_s, .. } => Some(per_s * self.members_per_room as f64),
            Load::Burst { .. } => None,
        }
    }
}

/// The instance that member `member` of a room (publishers first)
/// connects to, of `instances`: in turn, so that every instance has its
/// share of the room, publishers included.
pub fn instance_of(member: usize, instances: usize) -> usize {
    member % instances.max(1)
}

/// The clients of a scenario once joined.
struct Crowd {
    shared: Shared,
    writers: Vec<Option<WsWriter>>,
    readers: Vec<JoinHandle<()>>,
    churners: Vec<Option<WsWriter>>,
    churn_stop: Rc<Cell<bool>>,
}

impl Crowd {
    /// Closes every connection without counting it as a problem.
    fn close(self) {
        self.shared.borrow_mut().closing = true;
        self.churn_stop.set(true);
        for reader in &self.readers {
            reader.abort();
        }
        drop(self.writers);
        drop(self.churners);
    }
}

/// Runs a room scenario: `server_args` for its server, its history in
/// `store` (a cluster's is `--cluster-db`'s), `plan` for its load.
pub async fn run(
    ctx: &Context,
    name: &str,
    plan: &RoomsPlan,
    server_args: &[String],
    store: Store,
) -> Outcome {
    let mut outcome = Outcome::default();
    let person = match plan.sign_ins_per_s > 0.0 {
        true => match Person::random(SIGN_IN_USERNAME) {
            Ok(person) => Some(person),
            Err(err) => return outcome.failed(format!("a password: {err}")),
        },
        false => None,
    };
    let started = if plan.instances > 1 {
        ctx.start_cluster(plan.instances, server_args)
    } else {
        ctx.start_server_as(server_args, store, person.as_ref())
    };
    let server = match started {
        Ok(server) => server,
        Err(err) => return outcome.failed(format!("server: {err}")),
    };
    outcome.server_args = server.args.clone();
    outcome.broker_args = server.broker_args.clone();
    outcome.database_args = server.database_args.clone();
    let rooms: Vec<String> = (0..plan.rooms)
        .map(|room| format!("{}-{name}-{room}", ctx.tag))
        .collect();
    let mut crowd = match gather(ctx.clock, &server.urls, &rooms, plan).await {
        Ok(crowd) => crowd,
        Err(err) => {
            let log = server.log_tail();
            outcome.notes.extend(server.stop());
            return outcome.failed(format!("set-up: {err}\n--- server log ---\n{log}"));
        }
    };
    let total = ctx.warmups + ctx.runs;
    for run in 0..total {
        let warmup = run < ctx.warmups;
        eprintln!(
            "  {name}: {} {}/{}",
            if warmup { "warm-up" } else { "run" },
            if warmup {
                run + 1
            } else {
                run - ctx.warmups + 1
            },
            if warmup { ctx.warmups } else { ctx.runs }
        );
        let figures = match person.as_ref() {
            Some(person) => twin_runs(ctx, &server, &mut crowd, plan, run, person).await,
            None => run_once(ctx, &server, &mut crowd, plan, run, None).await,
        };
        let mut figures = match figures {
            Ok(figures) => figures,
            Err(err) => {
                crowd.close();
                outcome.notes.extend(server.stop());
                return outcome.failed(format!("run {run}: {err}"));
            }
        };
        figures.warmup = warmup;
        let problems = !figures.problems.is_empty();
        outcome.runs.push(figures);
        if problems {
            // The connections are no longer in a known state.
            break;
        }
    }
    crowd.close();
    tokio::time::sleep(CLOSE_SETTLE).await;
    outcome.notes.extend(server.stop());
    outcome
}

/// Connects and joins every member (and connects the churners), each to
/// its instance's URL of `urls`.
async fn gather(
    clock: Clock,
    urls: &[WsUrl],
    rooms: &[String],
    plan: &RoomsPlan,
) -> Result<Crowd, String> {
    let members = plan.members();
    let member_rooms: Vec<usize> = (0..members).map(|m| m / plan.members_per_room).collect();
    let shared: Shared = Rc::new(RefCell::new(Recorder::new(
        clock,
        rooms.to_vec(),
        member_rooms,
    )));
    let started = Instant::now();
    eprintln!(
        "  joining {members} members in {} rooms on {} instance(s)",
        rooms.len(),
        urls.len()
    );
    let mut writers: Vec<Option<WsWriter>> = (0..members).map(|_| None).collect();
    let mut readers = Vec::with_capacity(members);
    let mut joins = stream::iter(0..members)
        .map(|m| {
            let room = &rooms[m / plan.members_per_room];
            let index = m % plan.members_per_room;
            let url = &urls[instance_of(index, urls.len())];
            // One account per member (see `crate::bots`).
            let name = format!("m{m}");
            async move { (m, client::join(url, room, &name).await) }
        })
        .buffer_unordered(CONNECT_CONCURRENCY);
    let mut joined = 0usize;
    while let Some((m, result)) = joins.next().await {
        let (reader, writer) =
            result.map_err(|err| format!("member {m} after {joined} joined: {err}"))?;
        let observer = m == 0 && plan.stalled > 0;
        readers.push(spawn_local(client::read_member(
            reader,
            Rc::clone(&shared),
            m,
            observer,
        )));
        writers[m] = Some(writer);
        joined += 1;
        let closed = shared.borrow().closed_members;
        if closed > 0 {
            let first = shared
                .borrow()
                .problems
                .first()
                .cloned()
                .unwrap_or_default();
            return Err(format!(
                "{closed} joined members were disconnected while {joined} of {members} had joined ({first}); \
                 each join sends every member a presence frame listing all members"
            ));
        }
    }
    drop(joins);
    eprintln!("  joined in {:.1} s", started.elapsed().as_secs_f64());
    let churn_stop = Rc::new(Cell::new(false));
    let mut churners = Vec::with_capacity(plan.churners);
    for c in 0..plan.churners {
        let (reader, writer) =
            client::connect_as(&urls[instance_of(c, urls.len())], &format!("churn-{c}"))
                .await
                .map_err(|err| format!("churner {c}: {err}"))?;
        spawn_local(client::drain(
            reader,
            Some(Rc::clone(&shared)),
            Rc::clone(&churn_stop),
        ));
        churners.push(Some(writer));
    }
    tokio::time::sleep(SETTLE).await;
    let recorder = shared.borrow();
    if recorder.problem_count > 0 {
        return Err(format!("after the joins: {:?}", recorder.problems));
    }
    drop(recorder);
    Ok(Crowd {
        shared,
        writers,
        readers,
        churners,
        churn_stop,
    })
}

/// One run: send, wait for every delivery, read the figures.
/// A run with sign-ins and its twin without them: the same load on the
/// same server and connections, one right after the other, the twin first
/// in even runs and second in odd ones. So a drift in the speed of the
/// shared machine between runs (it moves `fanout-100k`'s p99 by a third
/// from one invocation to the next) hits both alike, which comparing with
/// another scenario's runs, minutes apart on another server, does not.
/// The figures are the run's with sign-ins, with the twin's p99 beside
/// (`twin_p99_ms`) and its problems. Each sign-in run waits for every
/// answer, so the twin after it starts with the hashing queue empty.
async fn twin_runs(
    ctx: &Context,
    server: &Running,
    crowd: &mut Crowd,
    plan: &RoomsPlan,
    run: u32,
    person: &Person,
) -> Result<RunFigures, String> {
    // Each of the two has a run number of its own: a message stamped with
    // another run's is a problem.
    let (first, second) = (2 * run, 2 * run + 1);
    let (twin, mut figures) = if run.is_multiple_of(2) {
        let twin = run_once(ctx, server, crowd, plan, first, None).await?;
        (
            twin,
            run_once(ctx, server, crowd, plan, second, Some(person)).await?,
        )
    } else {
        let figures = run_once(ctx, server, crowd, plan, first, Some(person)).await?;
        (
            run_once(ctx, server, crowd, plan, second, None).await?,
            figures,
        )
    };
    figures.twin_p99_ms = twin.latency.as_ref().map(|l| l.p99_ms);
    figures.problems.extend(
        twin.problems
            .into_iter()
            .map(|problem| format!("twin run without sign-ins: {problem}")),
    );
    Ok(figures)
}

async fn run_once(
    ctx: &Context,
    server: &Running,
    crowd: &mut Crowd,
    plan: &RoomsPlan,
    run: u32,
    person: Option<&Person>,
) -> Result<RunFigures, String> {
    let shared = Rc::clone(&crowd.shared);
    shared.borrow_mut().begin_run(run, plan.publishers);
    let stalled = if plan.stalled > 0 {
        // On the observer's instance (member 0's): presence is per instance.
        Some(stall(server.url(), &shared, run, plan.stalled).await?)
    } else {
        None
    };
    let stop = Rc::new(Cell::new(false));
    let rss_before = server.memory();
    let before = server.sample();
    let start = Instant::now() + START_DELAY;
    let (pace_for, run_length) = paces(plan, start, &stop);
    let mut publishers = Vec::new();
    for room in 0..plan.rooms {
        for publisher in 0..plan.publishers {
            let member = room * plan.members_per_room + publisher;
            let mut writer = crowd.writers[member]
                .take()
                .ok_or_else(|| format!("member {member} has no connection"))?;
            let pace = pace_for(publisher);
            let shared = Rc::clone(&shared);
            publishers.push(spawn_local(async move {
                tokio::time::sleep_until(start.into()).await;
                let sent = client::publish(&mut writer, &shared, room, publisher, pace).await;
                (member, writer, sent)
            }));
        }
    }
    let churn = churn(crowd, plan, &shared, start, run_length, &stop);
    let sign_in_stop = Arc::new(AtomicBool::new(false));
    let sign_ins = match person {
        Some(person) => Some(
            signin::spawn(
                server.url().authority.clone(),
                person.clone(),
                plan.sign_ins_per_s,
                start,
                run_length,
                Arc::clone(&sign_in_stop),
            )
            .map_err(|err| format!("a thread for the sign-ins: {err}"))?,
        ),
        None => None,
    };
    let watch = stalled.as_ref().map(|_| {
        let minimum = match plan.load {
            Load::Paced { duration, .. } => duration,
            Load::Burst { .. } => Duration::ZERO,
        };
        let (shared, stop) = (Rc::clone(&shared), Rc::clone(&stop));
        spawn_local(watch_stalls(
            shared,
            server.parts.clone(),
            start,
            minimum,
            stop,
        ))
    });
    let mut problems = Vec::new();
    for publisher in publishers {
        let (member, writer, sent) = publisher
            .await
            .map_err(|err| format!("a publisher task failed: {err}"))?;
        crowd.writers[member] = Some(writer);
        if let Err(err) = sent {
            problems.push(format!("publisher {member}: {err}"));
        }
    }
    stop.set(true);
    sign_in_stop.store(true, Ordering::Relaxed);
    let mut churn_ops = None;
    for task in churn {
        let (c, writer, ops) = task
            .await
            .map_err(|err| format!("a churner task failed: {err}"))?;
        crowd.churners[c] = Some(writer);
        *churn_ops.get_or_insert(0) += ops;
    }
    let sign_ins = match sign_ins {
        Some(tally) => Some(
            tally
                .await
                .map_err(|err| format!("the sign-in thread failed: {err}"))?,
        ),
        None => None,
    };
    let peak_rss = match watch {
        Some(watch) => watch.await.ok().flatten(),
        None => None,
    };
    drain(&shared).await;
    let after = server.sample();
    let rss_after = server.memory();
    let mut figures = figures(ctx, server, &shared, plan, start, &before, &after);
    figures.problems.splice(0..0, problems);
    figures.server_rss_kib = rss_after.map(|m| m.rss_kib);
    figures.server_peak_rss_kib = rss_after.map(|m| m.peak_rss_kib);
    if let (Some(ops), Some(window)) = (churn_ops, figures.window_s) {
        figures.churn_ops_per_s = Some(ops as f64 / window);
    }
    if let Some(sign_ins) = sign_ins {
        figures.sign_ins_per_s = Some(sign_ins.ok as f64 / run_length.as_secs_f64().max(1e-9));
        figures.sign_in_p99_ms = sign_ins.latencies.summary().map(|l| l.p99_ms);
        figures.failures = Some(sign_ins.failed);
        figures.sign_ins_refused = Some(sign_ins.refused);
        if sign_ins.failed > 0 {
            figures.problems.push(format!(
                "{} sign-ins failed: {}",
                sign_ins.failed,
                sign_ins.reasons.join("; ")
            ));
        }
    }
    if let Some(stalled) = stalled {
        finish_stall(&shared, stalled, start, rss_before, peak_rss, &mut figures).await;
    }
    Ok(figures)
}

/// Each publisher's pace, and how long a paced run lasts.
fn paces(
    plan: &RoomsPlan,
    start: Instant,
    stop: &Rc<Cell<bool>>,
) -> (impl Fn(usize) -> Pace, Duration) {
    let (load, publishers, rooms, stalled) = (plan.load, plan.publishers, plan.rooms, plan.stalled);
    let length = match load {
        // slow-consumer goes on until the stalled members are dropped.
        Load::Paced { duration, .. } if stalled > 0 => duration.max(STALL_WATCH),
        Load::Paced { duration, .. } => duration,
        Load::Burst { .. } => Duration::ZERO,
    };
    let stop = Rc::clone(stop);
    let pace = move |publisher: usize| match load {
        Load::Burst { per_room } => {
            let p = publishers as u64;
            let count = per_room / p + u64::from((publisher as u64) < per_room % p);
            Pace::Burst { count }
        }
        Load::Paced { per_s, .. } => Pace::Scheduled {
            // Each room's publishers share the room's part of the rate.
            schedule: Schedule::shared(per_s / rooms as f64, publishers, publisher, length),
            start,
            stop: Rc::clone(&stop),
        },
    };
    (pace, length)
}

/// Starts the churners of a run: each alternately joins a room and leaves
/// it, on a shared open-loop schedule. Each task gives back its churner's
/// index, connection and operations done.
fn churn(
    crowd: &mut Crowd,
    plan: &RoomsPlan,
    shared: &Shared,
    start: Instant,
    length: Duration,
    stop: &Rc<Cell<bool>>,
) -> Vec<JoinHandle<(usize, WsWriter, u64)>> {
    let churners = plan.churners;
    if churners == 0 || plan.churn_ops_per_s <= 0.0 {
        return Vec::new();
    }
    let rooms: Rc<Vec<String>> = Rc::new(shared.borrow().rooms.clone());
    let mut tasks = Vec::new();
    for c in 0..churners {
        let Some(mut writer) = crowd.churners[c].take() else {
            continue;
        };
        let schedule = Schedule::shared(plan.churn_ops_per_s, churners, c, length);
        let (rooms, stop) = (Rc::clone(&rooms), Rc::clone(stop));
        tasks.push(spawn_local(async move {
            let ops = churn_one(&mut writer, c, &rooms, schedule, start, &stop).await;
            (c, writer, ops)
        }));
    }
    tasks
}

/// One churner's run; returns its joins plus leaves.
async fn churn_one(
    writer: &mut WsWriter,
    churner: usize,
    rooms: &[String],
    schedule: Schedule,
    start: Instant,
    stop: &Cell<bool>,
) -> u64 {
    let mut op = 0u64;
    let room_of = |op: u64| &rooms[(churner * 131 + (op / 2) as usize * 7) % rooms.len()];
    while op < schedule.count() && !stop.get() {
        tokio::time::sleep_until((start + schedule.due(op)).into()).await;
        let frame = if op.is_multiple_of(2) {
            wire::join_frame(room_of(op))
        } else {
            wire::leave_frame(room_of(op))
        };
        let Ok(frame) = frame else { break };
        if writer.send_text(&frame).await.is_err() {
            break;
        }
        op += 1;
    }
    if op % 2 == 1 {
        // Leave the room joined last, so the next run starts outside.
        if let Ok(frame) = wire::leave_frame(room_of(op - 1)) {
            let _ = writer.send_text(&frame).await;
        }
    }
    op
}

/// Waits until every expected delivery arrived, the drain timeout passed,
/// or a member's connection ended (then briefly, for the others).
async fn drain(shared: &Shared) {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut closed_since: Option<Instant> = None;
    loop {
        let (delivered, expected, closed) = {
            let recorder = shared.borrow();
            (
                recorder.delivered,
                recorder.expected(),
                recorder.closed_members,
            )
        };
        if delivered >= expected || Instant::now() > deadline {
            return;
        }
        if closed > 0 {
            let since = *closed_since.get_or_insert_with(Instant::now);
            if since.elapsed() > CLOSED_GRACE {
                return;
            }
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

/// The figures of a finished run.
fn figures(
    ctx: &Context,
    server: &Running,
    shared: &Shared,
    plan: &RoomsPlan,
    start: Instant,
    before: &super::context::Sample,
    after: &super::context::Sample,
) -> RunFigures {
    let recorder = shared.borrow();
    let tally = recorder.tally();
    let end = recorder.clock.instant(recorder.last_delivery_ns);
    let mut window = end.saturating_duration_since(start);
    if let Load::Paced { duration, .. } = plan.load {
        // The last message is due up to one interval before the end: the
        // offered rate is over the whole duration.
        window = window.max(duration);
    }
    let window = window.as_secs_f64();
    let window = (window > 0.0).then_some(window);
    let used = cpu_use(before, after, ctx.ticks_per_s, server.cpus);
    let delivered = recorder.delivered;
    let processes = process_figures(&server.parts, &used, &server.part_memory(), delivered);
    let mut problems = recorder.problems.clone();
    if recorder.problem_count > problems.len() as u64 {
        problems.push(format!("... {} problems in all", recorder.problem_count));
    }
    if !tally.is_exact() {
        problems.insert(
            0,
            format!(
                "{} deliveries lost, {} duplicated or out of order, {} unexpected (of {} expected)",
                tally.lost,
                tally.duplicated,
                tally.unexpected,
                recorder.expected()
            ),
        );
    }
    RunFigures {
        window_s: window,
        messages_sent: Some(recorder.messages_sent()),
        expected_deliveries: Some(recorder.expected()),
        deliveries: Some(delivered),
        lost: Some(tally.lost),
        duplicated: Some(tally.duplicated),
        unexpected: Some(tally.unexpected),
        deliveries_per_s: window.map(|w| delivered as f64 / w),
        offered_deliveries_per_s: plan.offered_deliveries_per_s(),
        latency: recorder.latencies.summary(),
        send_lag_p99_ms: recorder.send_lag.summary().map(|s| s.p99_ms),
        server_cpu_s: used.server.seconds,
        server_cpu_us_per_delivery: used.server.us_per(delivered),
        server_cpu_utilisation: used.server.utilisation,
        generator_cpu_utilisation: used.generator_utilisation,
        processes,
        problems,
        ..RunFigures::default()
    }
}

/// The members that stop reading in one slow-consumer run.
struct Stalled {
    /// Their tasks, each waiting for the signal to read again; they resolve
    /// to how the connection ended.
    tasks: Vec<(oneshot::Sender<()>, JoinHandle<Option<String>>)>,
}

/// Joins `count` members to room 0 that will not read, and waits until the
/// observer has seen them in a presence frame.
async fn stall(url: &WsUrl, shared: &Shared, run: u32, count: usize) -> Result<Stalled, String> {
    let room = shared.borrow().rooms[0].clone();
    let names: Vec<String> = (0..count).map(|i| format!("stall-{run}-{i}")).collect();
    {
        // Watch before joining: the observer may read the presence frames
        // of these joins before the joins' own answers arrive here.
        let mut recorder = shared.borrow_mut();
        let mut stalls = Vec::with_capacity(names.len());
        for name in &names {
            let bot = crate::bots::bot_for(name).map_err(|err| err.to_string())?;
            stalls.push(StallWatch {
                name: bot.username.clone(),
                user_id: None,
                seen: false,
                dropped_at_ns: None,
            });
        }
        recorder.stalls = stalls;
        recorder.watching_stalls = true;
    }
    let mut tasks = Vec::new();
    for name in &names {
        let (reader, writer) = client::join(url, &room, name)
            .await
            .map_err(|err| format!("stalled member {name}: {err}"))?;
        let (resume, resumed) = oneshot::channel();
        tasks.push((resume, spawn_local(stalled_member(reader, writer, resumed))));
    }
    let deadline = Instant::now() + STALL_SEEN_TIMEOUT;
    while !shared.borrow().stalls.iter().all(|watch| watch.seen) {
        if Instant::now() > deadline {
            return Err("the observer never saw the stalled members join".into());
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    Ok(Stalled { tasks })
}

/// A member that reads nothing until `resume` (so it answers no ping
/// either), then reads to the end of its connection; returns how it ended
/// (`None`: not within the timeout).
async fn stalled_member(
    mut reader: WsReader,
    writer: WsWriter,
    resume: oneshot::Receiver<()>,
) -> Option<String> {
    let _ = resume.await;
    let ended = tokio::time::timeout(STALL_RESUME_TIMEOUT, async {
        loop {
            loop {
                match reader.next_frame() {
                    Ok(Some(Frame::Close(code, _))) => {
                        return code.map_or("close".to_string(), |code| code.to_string())
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(err) => return format!("error: {err}"),
                }
            }
            if let Err(err) = reader.fill().await {
                return format!("{err}");
            }
        }
    })
    .await
    .ok();
    drop(writer);
    ended
}

/// Keeps a paced run going until the stalled members are dropped (and at
/// least `minimum` has passed) or [`STALL_WATCH`]; samples the memory of
/// the server's processes `parts` meanwhile and returns its peak RSS in KiB.
async fn watch_stalls(
    shared: Shared,
    parts: Vec<Part>,
    start: Instant,
    minimum: Duration,
    stop: Rc<Cell<bool>>,
) -> Option<u64> {
    let mut peak: Option<u64> = None;
    let mut ticker = tokio::time::interval(RSS_SAMPLE_INTERVAL);
    loop {
        ticker.tick().await;
        if let Some(memory) = memory_of(&parts) {
            peak = Some(peak.map_or(memory.rss_kib, |p| p.max(memory.rss_kib)));
        }
        let all_dropped = shared
            .borrow()
            .stalls
            .iter()
            .all(|watch| watch.dropped_at_ns.is_some());
        let elapsed = start.elapsed();
        if stop.get() || elapsed >= STALL_WATCH || (all_dropped && elapsed >= minimum) {
            stop.set(true);
            return peak;
        }
    }
}

/// Lets the stalled members read again, and records when they were dropped,
/// how their connections ended and the memory they held.
async fn finish_stall(
    shared: &Shared,
    stalled: Stalled,
    start: Instant,
    rss_before: Option<Memory>,
    peak_rss: Option<u64>,
    figures: &mut RunFigures,
) {
    let count = stalled.tasks.len();
    // Drops seen from now on are ours: the stalled members close their
    // connections after reading what is left.
    let drops: Vec<Option<u64>> = {
        let mut recorder = shared.borrow_mut();
        recorder.watching_stalls = false;
        recorder.stalls.iter().map(|w| w.dropped_at_ns).collect()
    };
    let mut endings = Vec::new();
    for (resume, task) in stalled.tasks {
        let _ = resume.send(());
        endings.push(task);
    }
    let mut closes: std::collections::BTreeMap<String, usize> = Default::default();
    for task in endings {
        let ending = task.await.ok().flatten();
        *closes
            .entry(ending.unwrap_or_else(|| "still open".into()))
            .or_default() += 1;
    }
    let mut recorder = shared.borrow_mut();
    let clock = recorder.clock;
    let start_ns = clock.ns_at(start);
    let dropped = drops.iter().flatten().count();
    let last = drops
        .iter()
        .map(|d| {
            d.map_or(STALL_WATCH.as_nanos() as u64, |at| {
                at.saturating_sub(start_ns)
            })
        })
        .max()
        .unwrap_or(0);
    figures.stalled = Some(count as u64);
    figures.stalled_dropped = Some(dropped as u64);
    figures.drop_after_s = Some(last as f64 / 1e9);
    figures.stalled_close = Some(
        closes
            .iter()
            .map(|(how, n)| format!("{how} x{n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let (Some(before), Some(peak)) = (rss_before, peak_rss) {
        figures.held_kib_per_stalled =
            Some(peak.saturating_sub(before.rss_kib) as f64 / count.max(1) as f64);
    }
    recorder.stalls.clear();
    recorder.watching_stalls = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of `members` each of `instances` gets.
    fn shares(members: usize, instances: usize) -> Vec<usize> {
        let mut shares = vec![0; instances];
        for member in 0..members {
            shares[instance_of(member, instances)] += 1;
        }
        shares
    }

    #[test]
    fn a_rooms_members_and_publishers_are_spread_evenly_over_the_instances() {
        assert_eq!(shares(1_000, 2), [500, 500]);
        assert_eq!(shares(7, 3), [3, 2, 2]);
        assert_eq!(shares(10, 1), [10]);
        // The 4 publishers (members 0..4) post through both instances.
        let publishers: Vec<usize> = (0..4).map(|p| instance_of(p, 2)).collect();
        assert_eq!(publishers, [0, 1, 0, 1]);
    }
}
