//! The hub's view of one connected client: where to put its outgoing frames
//! and how to tell its connection to go.
//!
//! A [`ClientHandle`] is one pointer to the client's outbox, which rooms and
//! the client's connection share: the frames waiting for the connection
//! (a queue that holds memory only while frames wait), their size in bytes
//! against the client's limit, the reason the server closes the connection
//! once one is given, and the connection's waker. Rooms never wait on it:
//! queuing a frame is a short lock, never a wait for the client.

use crate::accounts::Credential;
use crate::websocket::OutgoingFrame;
use common::{CloseCode, DisplayName, Person, UserId};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// Identifies a connection for as long as the process runs.
pub type ClientId = u64;

/// Hands out [`ClientId`]s.
pub fn next_client_id() -> ClientId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Why the server closes a connection. Each reason has its own WebSocket
/// close code and reason text, documented in `docs/PROTOCOL.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CloseReason {
    /// The client's outgoing queue was full: it did not read fast enough.
    SlowConsumer,
    /// The client left a ping unanswered for the stall timeout while
    /// frames were sent to it: it stopped reading.
    Stalled,
    /// The client broke the WebSocket protocol.
    ProtocolError,
    /// The client sent text that is not UTF-8.
    InvalidUtf8,
    /// The client sent a message larger than the configured limit.
    MessageTooBig,
    /// A write to the client did not finish within the write timeout.
    WriteTimeout,
    /// The server is shutting down.
    ServerShutdown,
    /// The client kept sending past its rate limit.
    RateLimited,
    /// The client sent nothing, not even a pong to a ping, for the idle
    /// timeout: it is presumed gone.
    IdleTimeout,
    /// The client joined no room within the join timeout.
    JoinTimeout,
    /// The client closed the connection, or it broke. The server sends no
    /// close frame of its own (the WebSocket layer answers the client's).
    ClientClosed,
    /// The session the client signed in with ended (signed out, ended from
    /// the list of sessions, a password change or reset).
    SessionEnded,
    /// The client's account was deactivated.
    AccountDeactivated,
    /// The API token the client signed in with was revoked.
    TokenRevoked,
}

impl CloseReason {
    /// Every reason, in declaration order (so `ALL[reason as usize] == reason`).
    const ALL: [Self; 14] = [
        Self::SlowConsumer,
        Self::Stalled,
        Self::ProtocolError,
        Self::InvalidUtf8,
        Self::MessageTooBig,
        Self::WriteTimeout,
        Self::ServerShutdown,
        Self::RateLimited,
        Self::IdleTimeout,
        Self::JoinTimeout,
        Self::ClientClosed,
        Self::SessionEnded,
        Self::AccountDeactivated,
        Self::TokenRevoked,
    ];

    /// The WebSocket close code sent with this reason.
    pub fn code(self) -> CloseCode {
        match self {
            // Nothing is wrong with the requests; reconnecting and
            // re-joining with `since` resumes.
            Self::SlowConsumer | Self::Stalled => CloseCode::TryAgainLater,
            Self::ProtocolError => CloseCode::ProtocolError,
            Self::InvalidUtf8 => CloseCode::InvalidPayload,
            Self::MessageTooBig => CloseCode::MessageTooBig,
            Self::WriteTimeout => CloseCode::InternalError,
            Self::ServerShutdown => CloseCode::GoingAway,
            // Reconnecting at once will not help.
            Self::RateLimited | Self::JoinTimeout => CloseCode::PolicyViolation,
            // The peer seems gone; if it is not, it reconnects as after a
            // restart.
            Self::IdleTimeout => CloseCode::GoingAway,
            Self::ClientClosed => CloseCode::Normal,
            // Signing in again is the only way back.
            Self::SessionEnded | Self::AccountDeactivated | Self::TokenRevoked => {
                CloseCode::SessionEnded
            }
        }
    }

    /// The reason as a metric label (`chat_disconnects_total{reason=…}`).
    pub fn label(self) -> &'static str {
        match self {
            Self::SlowConsumer => "slow_consumer",
            Self::Stalled => "stalled",
            Self::ProtocolError => "protocol_error",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::MessageTooBig => "size",
            Self::WriteTimeout => "write_timeout",
            Self::ServerShutdown => "shutdown",
            Self::RateLimited => "rate_limit",
            Self::IdleTimeout => "heartbeat",
            Self::JoinTimeout => "join_timeout",
            Self::ClientClosed => "client_closed",
            Self::SessionEnded => "session_ended",
            Self::AccountDeactivated => "account_deactivated",
            Self::TokenRevoked => "token_revoked",
        }
    }

    /// The close frame's reason text (at most 123 bytes by RFC 6455).
    pub fn text(self) -> &'static str {
        match self {
            Self::SlowConsumer => {
                "slow consumer: too many unread frames; reconnect and join with since"
            }
            Self::Stalled => "stalled: a ping went unanswered while messages waited; reconnect and join with since",
            Self::ProtocolError => "WebSocket protocol error",
            Self::InvalidUtf8 => "text frame that is not UTF-8",
            Self::MessageTooBig => "message too big",
            Self::WriteTimeout => "write timed out",
            Self::ServerShutdown => "server shutting down",
            Self::RateLimited => "rate limit exceeded again and again",
            Self::IdleTimeout => "idle timeout: nothing received",
            Self::JoinTimeout => "no room joined in time",
            Self::ClientClosed => "bye",
            Self::SessionEnded => "session ended",
            Self::AccountDeactivated => "account deactivated",
            Self::TokenRevoked => "token revoked",
        }
    }
}

/// What a [`ClientHandle`] points to; see the module documentation.
#[derive(Debug)]
struct Outbox {
    id: ClientId,
    /// The client's address, for log lines.
    peer: SocketAddr,
    /// The most bytes of frames that may wait.
    limit: usize,
    /// Who the client signed in as; replaced when they rename themselves.
    person: Mutex<Arc<Person>>,
    /// The session or API token it signed in with: the connection closes
    /// when it ends.
    credential: Credential,
    /// Bytes of frames waiting: queued, or taken by the connection and not
    /// written yet. Bounded in bytes rather than frames, so a burst of short
    /// chat lines fits where a few long ones would not, and the memory a
    /// client can hold is known.
    queued: AtomicUsize,
    /// Why the server closes the connection: a [`CloseReason`] plus one, or
    /// 0 while nobody has asked. The first reason wins.
    reason: AtomicU8,
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    frames: VecDeque<OutgoingFrame>,
    /// The connection's task, woken by the first frame queued after it
    /// took everything, and by a close.
    waker: Option<Waker>,
    /// The connection has ended: frames are refused.
    ended: bool,
}

/// A connected client, as rooms see it: its id and its outbox. One pointer
/// wide, as every room member holds one. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientHandle(Arc<Outbox>);

impl ClientHandle {
    /// The handle of a new client, connected from `peer` and signed in as
    /// `person` with `credential`, whose outbox may hold `limit` bytes.
    pub fn new(
        id: ClientId,
        peer: SocketAddr,
        limit: usize,
        person: Person,
        credential: Credential,
    ) -> Self {
        Self(Arc::new(Outbox {
            id,
            peer,
            limit,
            person: Mutex::new(Arc::new(person)),
            credential,
            queued: AtomicUsize::new(0),
            reason: AtomicU8::new(0),
            waiting: Mutex::default(),
        }))
    }

    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.0.id
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.0.peer
    }

    /// Who the client is signed in as, now.
    pub fn person(&self) -> Arc<Person> {
        Arc::clone(&lock(&self.0.person))
    }

    /// The account the client is signed in as.
    pub fn user_id(&self) -> UserId {
        lock(&self.0.person).user_id
    }

    /// The session or API token the client signed in with.
    pub fn credential(&self) -> Credential {
        self.0.credential
    }

    /// Shows the client under `display_name` in the rooms it joins from
    /// now on (the rooms it is in are told apart, see [`super::Hub::rename`]).
    pub fn rename(&self, display_name: &DisplayName) {
        let mut person = lock(&self.0.person);
        let mut renamed = Person::clone(&person);
        renamed.display_name = display_name.clone();
        *person = Arc::new(renamed);
    }

    /// Queues `frame` for the client without ever waiting. Returns false
    /// when the client is gone, or when its queue is full: a client that
    /// does not read must not delay anyone else, so it is disconnected as a
    /// slow consumer instead (it can reconnect and resume with `since`).
    pub fn deliver(&self, frame: OutgoingFrame) -> bool {
        self.reserve(&frame) && self.deliver_reserved(frame)
    }

    /// Counts `frame` against the client's queue before it is queued (a
    /// room holds a joining member's frames until its history is sent).
    /// Returns false, and disconnects the client, when the queue is full.
    pub fn reserve(&self, frame: &OutgoingFrame) -> bool {
        let len = frame.len();
        let before = self.0.queued.fetch_add(len, Ordering::AcqRel);
        if before + len <= self.0.limit {
            return true;
        }
        self.0.queued.fetch_sub(len, Ordering::AcqRel);
        self.close_as_slow_consumer();
        false
    }

    /// Queues a frame already counted by [`ClientHandle::reserve`].
    pub fn deliver_reserved(&self, frame: OutgoingFrame) -> bool {
        let len = frame.len();
        let mut waiting = self.lock();
        if waiting.ended {
            drop(waiting);
            self.release(len); // The connection is gone.
            return false;
        }
        // Only the first frame after the connection took everything needs
        // to wake it: until it has taken that one, it will take the rest.
        let waker = if waiting.frames.is_empty() {
            waiting.waker.take()
        } else {
            None
        };
        waiting.frames.push_back(frame);
        drop(waiting);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Gives back `len` bytes reserved by [`ClientHandle::reserve`] for
    /// frames that will not be sent after all. Wakes the connection, which
    /// may have stopped reading while those bytes counted (flow control).
    pub fn unreserve(&self, len: usize) {
        if len > 0 {
            self.release(len);
            let waker = self.lock().waker.take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Disconnects the client because it has too much unread.
    pub fn close_as_slow_consumer(&self) {
        tracing::info!(client = self.0.id, "disconnecting slow consumer");
        self.close(CloseReason::SlowConsumer);
    }

    /// Asks the connection to close with `reason`. The first reason wins.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.0.reason.compare_exchange(
            0,
            reason as u8 + 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        let waker = self.lock().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Why the server closes the connection, or `None` while nobody asked
    /// it to (the peer may still close it).
    pub fn close_reason(&self) -> Option<CloseReason> {
        let reason = self.0.reason.load(Ordering::Acquire);
        CloseReason::ALL
            .get(usize::from(reason.checked_sub(1)?))
            .copied()
    }

    /// The bytes waiting now.
    pub fn queued(&self) -> usize {
        self.0.queued.load(Ordering::Acquire)
    }

    /// The most bytes that may wait.
    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// For the connection: wakes `waker` at the next close, and at the
    /// next frame once [`ClientHandle::take`] found none. Call before
    /// looking at [`ClientHandle::close_reason`], so a close in between
    /// is not missed.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut waiting = self.lock();
        match &waiting.waker {
            Some(registered) if registered.will_wake(waker) => {}
            _ => waiting.waker = Some(waker.clone()),
        }
    }

    /// For the connection: moves up to `most` waiting frames into `into`
    /// (which must be empty). Their bytes stay counted until
    /// [`ClientHandle::release`]. With nothing waiting, both queues give
    /// their memory back: an idle client holds none.
    pub(crate) fn take(&self, into: &mut VecDeque<OutgoingFrame>, most: usize) {
        debug_assert!(into.is_empty());
        let mut waiting = self.lock();
        if waiting.frames.is_empty() {
            let spare = std::mem::take(&mut waiting.frames);
            drop(waiting);
            drop(spare);
            *into = VecDeque::new();
        } else if waiting.frames.len() <= most {
            // The queue's memory moves to the writer, and the writer's
            // (empty) goes back to the queue: no copy, no allocation.
            std::mem::swap(&mut waiting.frames, into);
        } else {
            into.extend(waiting.frames.drain(..most));
        }
    }

    /// For the connection: counts `len` bytes out, written (or dropped).
    pub(crate) fn release(&self, len: usize) {
        self.0.queued.fetch_sub(len, Ordering::AcqRel);
    }

    /// For the connection, as it ends: refuses frames from now on and drops
    /// those waiting.
    pub(crate) fn end(&self) {
        let mut waiting = self.lock();
        waiting.ended = true;
        let frames = std::mem::take(&mut waiting.frames);
        waiting.waker = None;
        drop(waiting);
        self.release(frames.iter().map(OutgoingFrame::len).sum());
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        lock(&self.0.waiting)
    }
}

/// Locks one of the outbox's mutexes. Every critical section is a plain
/// operation that cannot be left half-done, so a panic elsewhere does not
/// poison the data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    const PEER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));

    /// A client of `person` with a roomy outbox, for the hub's unit tests.
    pub(crate) fn client_of(id: ClientId, person: Person) -> ClientHandle {
        let credential = Credential::ApiToken(id);
        ClientHandle::new(id, PEER, 1 << 20, person, credential)
    }

    fn ann(id: ClientId, limit: usize) -> ClientHandle {
        let person = Person {
            user_id: 1,
            username: common::Username::parse("ann").expect("valid"),
            display_name: DisplayName::parse("Ann").expect("valid"),
        };
        let credential = Credential::ApiToken(id);
        ClientHandle::new(id, PEER, limit, person, credential)
    }

    #[test]
    fn every_close_reason_survives_the_outbox() {
        for reason in CloseReason::ALL {
            let client = ann(1, 100);
            assert_eq!(client.close_reason(), None);
            client.close(reason);
            client.close(CloseReason::ClientClosed);
            assert_eq!(client.close_reason(), Some(reason), "the first reason wins");
        }
    }

    /// Every reason the server closes with is a row of the table under
    /// "Closing" in `docs/PROTOCOL.md`, with its code and its text (a row's
    /// reason ending in `...` is the start of the text).
    #[test]
    fn every_close_reason_is_documented_with_its_code() {
        const PROTOCOL: &str = include_str!("../../../docs/PROTOCOL.md");
        let (_, closing) = PROTOCOL
            .split_once("\n## Closing\n")
            .expect("docs/PROTOCOL.md has a Closing section");
        let rows: Vec<(u16, &str)> = closing
            .lines()
            .take_while(|line| !line.starts_with("## "))
            .filter_map(|line| {
                let mut cells = line.strip_prefix('|')?.split('|').map(str::trim);
                let code = cells.next()?.parse().ok()?;
                Some((code, cells.next()?.trim_matches('`')))
            })
            .collect();
        // The client's own close is answered, not given a reason of ours.
        let server_reasons = CloseReason::ALL
            .into_iter()
            .filter(|reason| *reason != CloseReason::ClientClosed);
        for reason in server_reasons {
            let documented = rows.iter().any(|(code, text)| {
                let matches = match text.strip_suffix("...") {
                    Some(start) => reason.text().starts_with(start),
                    None => reason.text() == *text,
                };
                matches && *code == reason.code().code()
            });
            assert!(
                documented,
                "{reason:?} ({:?}) is not in the table",
                reason.code()
            );
        }
    }

    #[test]
    fn the_outbox_is_bounded_in_bytes_and_holds_no_memory_once_taken() {
        let client = ann(1, 10);
        let frame = OutgoingFrame::text("abc"); // 5 bytes on the wire
        assert!(client.deliver(frame.clone()));
        assert!(client.deliver(frame.clone()));
        assert!(!client.deliver(frame.clone()), "past the limit");
        assert_eq!(client.close_reason(), Some(CloseReason::SlowConsumer));
        let mut batch = VecDeque::new();
        client.take(&mut batch, 64);
        assert_eq!(batch.len(), 2);
        assert_eq!(client.queued(), 10, "counted until written");
        client.release(10);
        batch.clear();
        client.take(&mut batch, 64);
        assert_eq!(batch.capacity(), 0);
        assert_eq!(client.lock().frames.capacity(), 0);
        client.end();
        assert!(!client.deliver(frame), "the connection is gone");
        assert_eq!(client.queued(), 0);
    }
}
