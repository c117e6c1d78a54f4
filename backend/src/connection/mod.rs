//! One WebSocket connection: reads the client's requests and carries them
//! out through the hub, and writes the frames queued for it.
//!
//! The connection is two tasks over the two halves of its TCP stream. The
//! reader (this task, `session`) decodes requests and talks to rooms; the
//! [`writer`] drains the client's bounded outgoing queue into the socket and
//! keeps the heartbeat. Rooms never wait for either: they put frames in the
//! queue without blocking, and a client whose queue is full is closed as a
//! slow consumer (see [`ClientHandle::deliver`]); one that stops reading
//! while frames flow to it is closed as stalled within seconds, long before.
//!
//! Limits enforced here (see [`ConnectionSettings`] and [`crate::limits`]):
//! a size limit on messages, a rate limit on `send` and on `join`, a cap on
//! rooms, a throttle on typing notices, a join timeout for connections that
//! never join, and heartbeats: the writer pings, the reader closes a
//! connection that has sent nothing for the idle timeout.
//!
//! - `reader`: bytes from the socket to messages.
//! - `session`: what the client asked for, and its limits.
//! - [`writer`]: the outgoing queue to the socket; the close frame.
//! - [`heartbeat`]: pings, and telling a client that stopped reading.

pub mod heartbeat;
mod reader;
mod session;
pub mod writer;

pub use heartbeat::PROBE_INTERVAL;
pub use reader::READ_CHUNK_BYTES;
pub use session::{MAX_POSTS_IN_FLIGHT, PAUSE_READING_PERCENT};
pub use writer::{CLOSE_TIMEOUT, WRITE_BURST};

/// Longest the server waits, after its close frame, for the client's own
/// close frame (or its end of stream) before it closes the socket. Clients
/// answer at once (browsers do); one that does not costs its connection
/// this much longer, not the server anything more.
pub const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

use crate::config::Config;
use crate::hub::client::{next_client_id, ClientHandle, CloseReason, Disconnect, QueuedBytes};
use crate::hub::Hub;
use crate::limits::AdmissionTicket;
use crate::metrics::Metrics;
use bytes::Bytes;
use heartbeat::Heartbeat;
use reader::FrameReader;
use session::Session;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use writer::Writer;

/// Per-connection settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// Capacity of the client's outgoing queue, in bytes.
    pub client_queue_bytes: usize,
    /// Largest message the client may send, in bytes.
    pub max_message_bytes: usize,
    /// Messages the client may post in a burst.
    pub rate_limit_burst: u32,
    /// Messages per second the client may post after its burst.
    pub rate_limit_per_second: f64,
    /// Rooms the client may be in at once.
    pub max_rooms: usize,
    /// How often the server pings a silent client.
    pub ping_interval: Duration,
    /// How long the client may send nothing before it is closed.
    pub idle_timeout: Duration,
    /// How long a new client may stay without joining a room.
    pub join_timeout: Duration,
    /// Longest one write to the socket (of up to [`WRITE_BURST`] frames)
    /// may take before the client is considered stuck (close code 1011).
    pub write_timeout: Duration,
    /// How long a client that frames are being sent to may leave a ping
    /// unanswered before it is closed as stalled (close code 1013).
    pub stall_timeout: Duration,
}

impl From<&Config> for ConnectionSettings {
    fn from(config: &Config) -> Self {
        Self {
            client_queue_bytes: config.client_queue_bytes,
            max_message_bytes: config.max_message_bytes as usize,
            rate_limit_burst: config.rate_limit_burst,
            rate_limit_per_second: config.rate_limit_per_second,
            max_rooms: config.max_rooms_per_connection,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            join_timeout: config.join_timeout,
            write_timeout: config.write_timeout,
            stall_timeout: config.stall_timeout,
        }
    }
}

/// What every connection shares with the rest of the server.
#[derive(Clone)]
pub struct ConnectionContext {
    /// The room hub.
    pub hub: Hub,
    /// The server's metrics.
    pub metrics: Metrics,
    /// The limits and timeouts.
    pub settings: ConnectionSettings,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
}

/// What the reader hears from the client that the writer acts on.
#[derive(Debug, Default)]
pub(crate) struct Heard {
    /// The sequence number of the newest ping the client answered.
    answered: AtomicU64,
    /// The client's close frame, once it sent one: its code, if it had one.
    client_close: OnceLock<Option<u16>>,
}

impl Heard {
    fn pong(&self, payload: &[u8]) {
        if let Some(sequence) = heartbeat::pong_sequence(payload) {
            self.answered.fetch_max(sequence, Ordering::Release);
        }
    }

    fn answered(&self) -> u64 {
        self.answered.load(Ordering::Acquire)
    }

    fn closed_by_client(&self, code: Option<u16>) {
        let _ = self.client_close.set(code);
    }

    fn client_close(&self) -> Option<Option<u16>> {
        self.client_close.get().copied()
    }
}

/// Serves one upgraded WebSocket (its TCP stream, and the bytes the HTTP
/// server read past the upgrade request) until either side closes it or
/// the server shuts down. `ticket` counts the connection against the
/// server's caps until it ends.
///
/// A plain function returning the future, with the shared context behind
/// an `Arc`: an `async fn` would keep its arguments next to the future it
/// moves them into, and every idle connection carries this future.
pub fn serve(
    stream: TcpStream,
    read_ahead: Bytes,
    peer: SocketAddr,
    ticket: AdmissionTicket,
    context: Arc<ConnectionContext>,
) -> impl Future<Output = ()> + Send {
    let id = next_client_id();
    let span = tracing::info_span!("connection", client = id, %peer);
    async move {
        tracing::debug!("connected");
        let settings = context.settings;
        let metrics = &context.metrics;
        metrics.connection_opened();
        let (read_half, write_half) = stream.into_split();
        let (outbound, queue) = mpsc::unbounded_channel();
        let queued = QueuedBytes::new(settings.client_queue_bytes);
        let disconnect = Disconnect::child_of(&context.shutdown);
        let heard = Arc::new(Heard::default());
        let client = ClientHandle::new(id, outbound, Arc::clone(&queued), disconnect.clone());
        let writer = Writer {
            queue,
            queued: Arc::clone(&queued),
            disconnect: disconnect.clone(),
            heard: Arc::clone(&heard),
            heartbeat: Heartbeat::new(
                Instant::now(),
                settings.ping_interval,
                settings.stall_timeout,
            ),
            write_timeout: settings.write_timeout,
            span: tracing::Span::current(),
        };
        let writer = tokio::spawn(writer.run(write_half));

        let mut reader = FrameReader::new(read_half, read_ahead, settings.max_message_bytes);
        let mut session = Session::new(
            client,
            queued,
            context.hub.clone(),
            metrics.clone(),
            settings,
            heard,
        );
        session.read_requests(&mut reader, &disconnect).await;
        session.leave_all().await;

        // The reader is done, so is the connection: stop the writer too.
        // (A reason set earlier, such as a shutdown, wins.)
        disconnect.close(CloseReason::ClientClosed);
        let written = writer.await;
        let reason = disconnect.reason().unwrap_or(CloseReason::ClientClosed);
        metrics.connection_closed(reason.label());
        tracing::debug!(reason = reason.label(), "disconnected");
        if written.is_ok() {
            // The writer sent its close frame and a FIN: let the client answer.
            reader.drain(CLOSE_REPLY_TIMEOUT).await;
        }
        drop(ticket);
    }
    .instrument(span)
}
