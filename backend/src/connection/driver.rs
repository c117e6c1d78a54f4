//! The connection's task: one future that reads, writes, carries out
//! requests and keeps the heartbeat.
//!
//! The task is a hand-written future ([`Run`]). While the connection is
//! open, it polls ([`Connection::poll_open`]) the state in [`Connection`],
//! which is all an idle connection holds: the socket, the reader's decoder,
//! the writer's (empty) batch, the heartbeat, the session, and one timer
//! for whichever deadline comes first (a ping, a stall check, the idle and
//! join timeouts, the write timeout). Each poll, in this order:
//!
//! 1. a close asked for (by a room, the session, a timeout or the shutdown)
//!    ends the open phase;
//! 2. the request being carried out, if any, is polled; done, it gives the
//!    session back;
//! 3. the writer takes up to [`WRITE_BURST`](super::WRITE_BURST) frames
//!    from the client's queue and writes them in one system call, and again
//!    while the socket takes them;
//! 4. unless a request is being carried out or the client's queue is more
//!    than [`PAUSE_READING_PERCENT`] full, the next message is read: a text
//!    message starts a request (boxed, see [`Session::request`]), control
//!    frames are answered at once;
//! 5. the timer, if it fired, pings, or closes the connection.
//!
//! Closing ([`Connection::close`], boxed: only a closing connection pays for
//! its state) finishes the request and leaves the rooms while the writer
//! finishes its batch and sends the close frame; then the client's answer
//! is awaited (see [`CLOSE_REPLY_TIMEOUT`]).

use super::heartbeat::{pong_sequence, Beat, Cadence, Heartbeat};
use super::reader::{FrameReader, ReadError};
use super::session::{refuse_binary, Request, Session, PAUSE_READING_PERCENT};
use super::writer::{has_unread_input, Writer, STALL_RECHECK};
use super::{ConnectionContext, CLOSE_REPLY_TIMEOUT};
use crate::hub::client::{ClientHandle, CloseReason};
use crate::limits::AdmissionTicket;
use crate::websocket::{DecodeError, Incoming, OutgoingFrame};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant, Sleep};
use tracing::Level;

/// Rounds of work (a request finished, a batch written, a message read, a
/// ping sent) one poll of a connection does at most before it lets other
/// tasks run; it is woken again at once. (Tokio's budget for I/O per poll
/// usually stops it first.)
const ROUNDS_PER_POLL: usize = 32;

/// The connection is to close (why is in the client's outbox).
struct Closing;

/// The session, or the request that has it.
enum SessionState {
    /// Waiting for the client's next request.
    Ready(Session),
    /// Carrying out a request.
    Busy(Request),
    /// Only while changing from one to the other.
    Moving,
}

pin_project! {
    /// The connection's task ([`Connection::run`]). Written by hand rather
    /// than as an `async` block, which would keep references to the
    /// connection and the timer, and a state of its own, next to them (32
    /// bytes, which every idle connection carries: see the test of the
    /// task's size in `http::ws`).
    pub(super) struct Run {
        phase: Phase,
        // The connection's one timer, set to its earliest deadline (see
        // `Connection::poll_timer`).
        #[pin]
        timer: Sleep,
    }
}

/// What the connection's task is doing.
// The open connection is the task's state, which every connection carries
// in place: boxed, it would take an allocation of the same size more.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// Serving the open connection.
    Open(Connection),
    /// Closing it. Boxed: only a closing connection pays for its state.
    Closing(Pin<Box<dyn Future<Output = ()> + Send>>),
    /// Done, or changing from one phase to the next.
    Done,
}

impl Future for Run {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let (phase, mut timer) = (this.phase, this.timer);
        loop {
            match phase {
                Phase::Open(connection) => {
                    ready!(connection.poll_open(cx, timer.as_mut()));
                    if let Phase::Open(connection) = std::mem::replace(phase, Phase::Done) {
                        *phase = Phase::Closing(Box::pin(connection.close()));
                    }
                }
                Phase::Closing(closing) => {
                    ready!(closing.as_mut().poll(cx));
                    *phase = Phase::Done;
                }
                Phase::Done => return Poll::Ready(()),
            }
        }
    }
}

/// Everything one connection holds; see the module documentation.
pub(super) struct Connection {
    socket: TcpStream,
    client: ClientHandle,
    context: Arc<ConnectionContext>,
    reader: FrameReader,
    writer: Writer,
    heartbeat: Heartbeat,
    session: SessionState,
    /// The sequence number of the newest ping the client answered.
    answered: u64,
    /// When the client is closed for having sent nothing, while the
    /// connection listens; listening starts over with every message, and
    /// time spent not listening (a request, a full queue) is not idle time.
    idle_deadline: Option<Instant>,
    /// When a client that never joined a room is closed.
    join_deadline: Instant,
    /// The client's close frame, once it sent one: its code, if it had one.
    client_close: Option<Option<u16>>,
    ticket: AdmissionTicket,
}

impl Connection {
    pub(super) fn new(
        socket: TcpStream,
        read_ahead: &[u8],
        client: ClientHandle,
        context: Arc<ConnectionContext>,
        ticket: AdmissionTicket,
    ) -> Self {
        let settings = context.settings;
        let now = Instant::now();
        Self {
            socket,
            reader: FrameReader::new(read_ahead),
            writer: Writer::default(),
            heartbeat: Heartbeat::new(now),
            session: SessionState::Ready(Session::new(&settings)),
            client,
            context,
            answered: 0,
            idle_deadline: None,
            join_deadline: now + settings.join_timeout,
            client_close: None,
            ticket,
        }
    }

    /// The connection's task: serves the connection, then closes it.
    pub(super) fn run(self) -> Run {
        Run {
            timer: sleep_until(self.next_due()),
            phase: Phase::Open(self),
        }
    }

    /// Drives the open connection; ready once it is to close.
    fn poll_open(&mut self, cx: &mut Context<'_>, mut timer: Pin<&mut Sleep>) -> Poll<()> {
        // Registered before the close reason is looked at, so that a close
        // asked for in between wakes the task.
        self.client.register(cx.waker());
        for _ in 0..ROUNDS_PER_POLL {
            if self.client.close_reason().is_some() {
                return Poll::Ready(());
            }
            let Ok(progress) = self.round(cx, timer.as_mut()) else {
                return Poll::Ready(());
            };
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// One round of the work listed in the module documentation. Returns
    /// whether anything happened (then another round may find more to do).
    fn round(&mut self, cx: &mut Context<'_>, timer: Pin<&mut Sleep>) -> Result<bool, Closing> {
        let mut progress = false;
        if let SessionState::Busy(request) = &mut self.session {
            if let Poll::Ready(session) = request.as_mut().poll(cx) {
                self.session = SessionState::Ready(session);
                progress = true;
            }
        }
        progress |= self.write(cx)?;
        progress |= self.read(cx)?;
        progress |= self.poll_timer(cx, timer)?;
        Ok(progress)
    }

    /// Writes what is queued; returns whether a batch was written whole.
    fn write(&mut self, cx: &mut Context<'_>) -> Result<bool, Closing> {
        let now = Instant::now();
        if self.writer.take(&self.client, now) {
            // A client reads its frames in order: a ping after them asks
            // whether it still reads (see `heartbeat`).
            if let Some(probe) = self.heartbeat.with_frames(now, self.answered) {
                self.writer.push_control(probe, now);
            }
        }
        if !self.writer.busy() {
            return Ok(false);
        }
        match self.writer.poll_write(cx, &self.socket, &self.client) {
            Poll::Pending => Ok(false),
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(err)) => {
                // The socket is broken: end the whole connection, so the
                // rooms let the client go.
                event_in_span!(&self.client, Level::DEBUG, error = %err, "write failed");
                self.writer.abandon(&self.client);
                self.client.close(CloseReason::ClientClosed);
                Err(Closing)
            }
        }
    }

    /// Reads the next message, if the connection listens; returns whether
    /// one arrived.
    fn read(&mut self, cx: &mut Context<'_>) -> Result<bool, Closing> {
        let resume_at = self.client.limit() * PAUSE_READING_PERCENT / 100;
        // Flow control: a client that posts faster than it reads what its
        // rooms send back is not read from, and TCP pushes back on it,
        // before its own queue can overflow.
        if !matches!(self.session, SessionState::Ready(_)) || self.client.queued() > resume_at {
            self.idle_deadline = None;
            return Ok(false);
        }
        let settings = &self.context.settings;
        if self.idle_deadline.is_none() {
            self.idle_deadline = Some(Instant::now() + settings.idle_timeout);
        }
        let max_message = settings.max_message_bytes;
        let message = match self.reader.poll_next(cx, &self.socket, max_message) {
            Poll::Pending => return Ok(false),
            Poll::Ready(Ok(Some(message))) => message,
            Poll::Ready(Ok(None)) => {
                self.client.close(CloseReason::ClientClosed);
                return Err(Closing);
            }
            Poll::Ready(Err(ReadError::Io(err))) => {
                event_in_span!(&self.client, Level::DEBUG, error = %err, "read failed");
                self.client.close(CloseReason::ClientClosed);
                return Err(Closing);
            }
            Poll::Ready(Err(ReadError::Decode(err))) => {
                event_in_span!(
                    &self.client,
                    Level::DEBUG,
                    error = %err,
                    "closing: the client broke the protocol"
                );
                self.client.close(match err {
                    DecodeError::TooBig { .. } => CloseReason::MessageTooBig,
                    DecodeError::InvalidUtf8 => CloseReason::InvalidUtf8,
                    DecodeError::Protocol(_) => CloseReason::ProtocolError,
                });
                return Err(Closing);
            }
        };
        self.idle_deadline = None;
        match message {
            Incoming::Text(text) => {
                if let SessionState::Ready(session) =
                    std::mem::replace(&mut self.session, SessionState::Moving)
                {
                    self.session =
                        SessionState::Busy(session.request(text, &self.client, &self.context));
                }
            }
            Incoming::Binary => refuse_binary(&self.client, &self.context),
            // Answered through the queue, in order with the rest.
            Incoming::Ping(payload) => {
                self.client.deliver(OutgoingFrame::pong(&payload));
            }
            Incoming::Pong(payload) => {
                if let Some(sequence) = pong_sequence(&payload) {
                    self.answered = self.answered.max(sequence);
                }
            }
            Incoming::Close(code) => {
                self.client_close = Some(code);
                self.client.close(CloseReason::ClientClosed);
                return Err(Closing);
            }
        }
        Ok(true)
    }

    /// The earliest deadline: the heartbeat's, the idle and join timeouts
    /// while they run, and the write timeout while a batch is written.
    fn next_due(&self) -> Instant {
        let settings = &self.context.settings;
        let mut due = self.heartbeat.next_due(Cadence::from(settings));
        if let Some(idle) = self.idle_deadline {
            due = due.min(idle);
        }
        if self.join_pending() {
            due = due.min(self.join_deadline);
        }
        if let Some(started) = self.writer.started() {
            due = due.min(started + settings.write_timeout);
        }
        due
    }

    /// Whether the join timeout runs: no room joined yet, and no request
    /// (which may be the join) being carried out.
    fn join_pending(&self) -> bool {
        matches!(&self.session, SessionState::Ready(session) if !session.ever_joined())
    }

    /// Keeps the timer at the earliest deadline and acts on the deadlines
    /// that passed; returns whether it sent a ping.
    ///
    /// The timer is moved earlier at once but left early when a deadline
    /// moves later (each message moves the idle deadline): firing early
    /// costs one wake-up, which sets it right.
    fn poll_timer(
        &mut self,
        cx: &mut Context<'_>,
        mut timer: Pin<&mut Sleep>,
    ) -> Result<bool, Closing> {
        let mut pinged = false;
        loop {
            let due = self.next_due();
            if due < timer.deadline() {
                timer.as_mut().reset(due);
            }
            if timer.as_mut().poll(cx).is_pending() {
                return Ok(pinged);
            }
            let now = Instant::now();
            pinged |= self.on_deadlines(now)?;
            // Every deadline that passed was acted on, and moved past now.
            let due = self.next_due();
            if due <= now {
                // Cannot happen (each deadline handled moves on); rather
                // than spin, look again at the next poll.
                timer.as_mut().reset(now + STALL_RECHECK);
                return Ok(pinged);
            }
            timer.as_mut().reset(due);
        }
    }

    /// Acts on the deadlines that passed by `now`; returns whether it sent
    /// a ping.
    fn on_deadlines(&mut self, now: Instant) -> Result<bool, Closing> {
        let settings = &self.context.settings;
        if self.idle_deadline.is_some_and(|idle| now >= idle) {
            event_in_span!(
                &self.client,
                Level::DEBUG,
                idle_timeout = ?settings.idle_timeout,
                "idle: closing"
            );
            self.client.close(CloseReason::IdleTimeout);
            return Err(Closing);
        }
        if self.join_pending() && now >= self.join_deadline {
            self.client.close(CloseReason::JoinTimeout);
            return Err(Closing);
        }
        if self
            .writer
            .started()
            .is_some_and(|started| now >= started + settings.write_timeout)
        {
            event_in_span!(&self.client, Level::INFO, "write timed out; disconnecting");
            self.client.close(CloseReason::WriteTimeout);
            return Err(Closing);
        }
        let cadence = Cadence::from(settings);
        if now < self.heartbeat.next_due(cadence) {
            return Ok(false);
        }
        match self.heartbeat.on_timer(cadence, now, self.answered) {
            Beat::Stalled if has_unread_input(&self.socket) => {
                // The answer may be in our own receive buffer, not read
                // yet because the connection is not listening: the client
                // is not the one behind. Look again soon.
                self.heartbeat.postpone(cadence, now + STALL_RECHECK);
                Ok(false)
            }
            Beat::Stalled => {
                event_in_span!(
                    &self.client,
                    Level::INFO,
                    "a ping went unanswered while frames waited; closing as stalled"
                );
                self.client.close(CloseReason::Stalled);
                Err(Closing)
            }
            Beat::Ping(frame) => {
                self.writer.push_control(frame, now);
                Ok(true)
            }
            Beat::Nothing => Ok(false),
        }
    }

    /// Ends the connection: leaves the rooms (once the request being
    /// carried out is done) while the writer finishes its batch and sends
    /// the close frame, then waits briefly for the client's answer.
    async fn close(self) {
        let Self {
            socket,
            client,
            context,
            mut reader,
            mut writer,
            session,
            client_close,
            ticket,
            ..
        } = self;
        // A reason set earlier (a shutdown, say) wins over the client's close.
        let reason = client.close_reason().unwrap_or(CloseReason::ClientClosed);
        // Rooms can queue nothing more: those still sending drop the client.
        client.end();
        let close = match reason {
            // The echo of the client's close frame; none if it just went.
            CloseReason::ClientClosed => client_close.map(|code| {
                code.map_or_else(OutgoingFrame::empty_close, |code| {
                    OutgoingFrame::close(code, "")
                })
            }),
            reason => Some(OutgoingFrame::close(reason.code().code(), reason.text())),
        };
        let leave = async {
            let mut session = match session {
                SessionState::Ready(session) => session,
                SessionState::Busy(request) => request.await,
                SessionState::Moving => return,
            };
            session.leave_all(client.id()).await;
        };
        tokio::join!(leave, writer.finish(&socket, &client, close));
        context.forget(&client);
        context.metrics.connection_closed(reason.label());
        event_in_span!(
            &client,
            Level::DEBUG,
            reason = reason.label(),
            "disconnected"
        );
        // The close frame and a FIN are sent: let the client answer.
        let max_message = context.settings.max_message_bytes;
        reader
            .drain(&socket, CLOSE_REPLY_TIMEOUT, max_message)
            .await;
        drop(ticket);
    }
}
