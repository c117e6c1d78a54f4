//! The hub's view of one connected client: where to put its outgoing frames
//! and how to tell its connection to go.

use crate::websocket::OutgoingFrame;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

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
}

impl CloseReason {
    /// The WebSocket close code sent with this reason.
    pub fn code(self) -> u16 {
        match self {
            // 1013 "Try Again Later": nothing is wrong with the request;
            // reconnecting and re-joining with `since` resumes.
            Self::SlowConsumer | Self::Stalled => 1013,
            Self::ProtocolError => 1002,
            Self::InvalidUtf8 => 1007,
            Self::MessageTooBig => 1009,
            Self::WriteTimeout => 1011,
            Self::ServerShutdown => 1001,
            // 1008 "Policy Violation": reconnecting at once will not help.
            Self::RateLimited | Self::JoinTimeout => 1008,
            // 1001 "Going Away": the peer seems gone; if it is not, it
            // reconnects as after a restart.
            Self::IdleTimeout => 1001,
            Self::ClientClosed => 1000,
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
        }
    }
}

/// Closes one connection, once, for one reason; shared by the connection
/// and everyone holding its [`ClientHandle`].
#[derive(Debug, Clone)]
pub struct Disconnect {
    token: CancellationToken,
    reason: Arc<OnceLock<CloseReason>>,
}

impl Disconnect {
    /// A disconnect that also fires when `parent` (the server's shutdown) is
    /// cancelled.
    pub fn child_of(parent: &CancellationToken) -> Self {
        Self {
            token: parent.child_token(),
            reason: Arc::default(),
        }
    }

    /// Asks the connection to close with `reason`. The first reason wins.
    pub fn close(&self, reason: CloseReason) {
        if self.token.is_cancelled() {
            // The parent (the server's shutdown) fired first: that is the
            // reason, whatever the connection noticed afterwards.
            let _ = self.reason.set(CloseReason::ServerShutdown);
        }
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// Resolves once the connection should close.
    pub async fn requested(&self) {
        self.token.cancelled().await;
    }

    /// Why the server closes the connection, or `None` while nobody asked
    /// it to (the peer may still close it).
    pub fn reason(&self) -> Option<CloseReason> {
        match self.reason.get() {
            Some(reason) => Some(*reason),
            // Cancelled without a reason of its own: the parent (shutdown) fired.
            None if self.token.is_cancelled() => Some(CloseReason::ServerShutdown),
            None => None,
        }
    }
}

/// How many bytes of frames wait for one client: queued for its connection's
/// writer and not yet written to its socket. The queue is bounded in bytes
/// rather than frames, so a burst of short chat lines fits where a few long
/// ones would not, and the memory a client can hold is known.
#[derive(Debug)]
pub struct QueuedBytes {
    bytes: AtomicUsize,
    limit: usize,
    drained: Notify,
}

impl QueuedBytes {
    /// An empty queue that may hold `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            bytes: AtomicUsize::new(0),
            limit,
            drained: Notify::new(),
        })
    }

    /// Counts `len` more bytes in, unless that would pass the limit.
    fn try_reserve(&self, len: usize) -> bool {
        let before = self.bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit {
            self.bytes.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Counts `len` bytes out: they were written (or dropped).
    pub fn release(&self, len: usize) {
        self.bytes.fetch_sub(len, Ordering::AcqRel);
        self.drained.notify_waiters();
    }

    /// The bytes waiting now.
    pub fn current(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// The most bytes that may wait.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Resolves once at most `bytes` bytes wait.
    pub async fn wait_until_at_most(&self, bytes: usize) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a release in between is not missed.
            drained.as_mut().enable();
            if self.current() <= bytes {
                return;
            }
            drained.await;
        }
    }
}

/// A connected client, as rooms see it.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    id: ClientId,
    outbound: mpsc::UnboundedSender<OutgoingFrame>,
    queued: Arc<QueuedBytes>,
    disconnect: Disconnect,
}

impl ClientHandle {
    /// A handle whose frames go to `outbound`, counted in `queued`.
    pub fn new(
        id: ClientId,
        outbound: mpsc::UnboundedSender<OutgoingFrame>,
        queued: Arc<QueuedBytes>,
        disconnect: Disconnect,
    ) -> Self {
        Self {
            id,
            outbound,
            queued,
            disconnect,
        }
    }

    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.id
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
        if self.queued.try_reserve(frame.len()) {
            return true;
        }
        self.close_as_slow_consumer();
        false
    }

    /// Queues a frame already counted by [`ClientHandle::reserve`].
    pub fn deliver_reserved(&self, frame: OutgoingFrame) -> bool {
        let len = frame.len();
        if self.outbound.send(frame).is_err() {
            self.queued.release(len); // The connection is gone.
            return false;
        }
        true
    }

    /// Gives back `len` bytes reserved by [`ClientHandle::reserve`] for
    /// frames that will not be sent after all.
    pub fn unreserve(&self, len: usize) {
        if len > 0 {
            self.queued.release(len);
        }
    }

    /// Disconnects the client because it has too much unread.
    pub fn close_as_slow_consumer(&self) {
        tracing::info!(client = self.id, "disconnecting slow consumer");
        self.disconnect.close(CloseReason::SlowConsumer);
    }

    /// Disconnects the client for `reason`.
    pub fn close(&self, reason: CloseReason) {
        self.disconnect.close(reason);
    }
}
