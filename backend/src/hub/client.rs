//! The hub's view of one connected client: where to put its outgoing frames
//! and how to tell its connection to go.

use axum::extract::ws::Utf8Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

/// A frame serialized once and shared by every recipient (cloning is a
/// reference-count increment).
pub type EncodedFrame = Utf8Bytes;

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
    /// The client sent a message larger than the configured limit.
    MessageTooBig,
    /// A write to the client did not finish within the write timeout.
    WriteTimeout,
    /// The server is shutting down.
    ServerShutdown,
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
            Self::SlowConsumer => 1013,
            Self::MessageTooBig => 1009,
            Self::WriteTimeout => 1011,
            Self::ServerShutdown => 1001,
            Self::ClientClosed => 1000,
        }
    }

    /// The close frame's reason text (at most 123 bytes by RFC 6455).
    pub fn text(self) -> &'static str {
        match self {
            Self::SlowConsumer => {
                "slow consumer: too many unread frames; reconnect and join with since"
            }
            Self::MessageTooBig => "message too big",
            Self::WriteTimeout => "write timed out",
            Self::ServerShutdown => "server shutting down",
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

/// A connected client, as rooms see it.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    id: ClientId,
    outbound: mpsc::Sender<EncodedFrame>,
    disconnect: Disconnect,
}

impl ClientHandle {
    /// A handle whose frames go to `outbound`.
    pub fn new(id: ClientId, outbound: mpsc::Sender<EncodedFrame>, disconnect: Disconnect) -> Self {
        Self {
            id,
            outbound,
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
    pub fn deliver(&self, frame: EncodedFrame) -> bool {
        match self.outbound.try_send(frame) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.close_as_slow_consumer();
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Disconnects the client because it has too many unread frames.
    pub fn close_as_slow_consumer(&self) {
        tracing::info!(client = self.id, "disconnecting slow consumer");
        self.disconnect.close(CloseReason::SlowConsumer);
    }

    /// Disconnects the client for `reason`.
    pub fn close(&self, reason: CloseReason) {
        self.disconnect.close(reason);
    }
}
