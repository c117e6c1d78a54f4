//! One WebSocket connection: reads the client's requests and carries them
//! out through the hub, and writes the frames queued for it.
//!
//! The connection is one task over its TCP stream (see `driver`): whatever
//! wakes it, it writes what is queued, reads what arrived, moves the request
//! being carried out along and keeps the heartbeat, none waiting for the
//! others. A request that waits (a join waits on its room) is a boxed future
//! of its own that the task polls beside the rest, so frames keep being
//! written meanwhile; only reading waits for it, requests being carried out
//! in order. Rooms never wait for the connection: they put frames in the
//! client's queue without blocking, and a client whose queue is full is
//! closed as a slow consumer (see [`ClientHandle::deliver`]); one that stops
//! reading while frames flow to it is closed as stalled within seconds, long
//! before.
//!
//! An idle connection is small (about 2 KiB with its share of its room,
//! see `docs/BENCHMARKS.md`): one task with one timer, its state in place,
//! no read buffer, and a queue that holds memory only while frames wait.
//!
//! Limits enforced here (see [`ConnectionSettings`] and [`crate::limits`]):
//! a size limit on messages, a rate limit on `send` and on `join`, a cap on
//! rooms, a throttle on typing notices, a join timeout for connections that
//! never join, and heartbeats: the connection pings, and closes one that
//! has sent nothing for the idle timeout.
//!
//! - `driver`: the task; what happens when, and how the connection ends.
//! - `reader`: bytes from the socket to messages.
//! - `session`: what the client asked for, and its limits.
//! - [`writer`]: the outgoing queue to the socket; the close frame.
//! - [`heartbeat`]: pings, and telling a client that stopped reading.

/// Logs an event (`tracing::event!` arguments after the level) in the span
/// of `client`'s connection ([`connection_span`]), made for the occasion.
macro_rules! event_in_span {
    ($client:expr, $level:expr, $($event:tt)+) => {
        if ::tracing::enabled!($level) {
            let span = $crate::connection::connection_span($client);
            ::tracing::event!(parent: &span, $level, $($event)+);
        }
    };
}

mod driver;
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
use crate::hub::client::{next_client_id, ClientHandle, ClientId, CloseReason};
use crate::hub::Hub;
use crate::limits::{AdmissionTicket, Rate, JOINS_PER_SECOND, JOIN_BURST_EXTRA};
use crate::metrics::Metrics;
use bytes::Bytes;
use driver::Connection;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tracing::{Level, Span};

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

impl ConnectionSettings {
    /// The rate limit on posting messages.
    fn send_rate(&self) -> Rate {
        Rate {
            burst: self.rate_limit_burst,
            per_second: self.rate_limit_per_second,
        }
    }

    /// The rate limit on joining rooms: every room allowed at once, and
    /// [`JOIN_BURST_EXTRA`] more, then [`JOINS_PER_SECOND`].
    fn join_rate(&self) -> Rate {
        Rate {
            burst: u32::try_from(self.max_rooms)
                .unwrap_or(u32::MAX)
                .saturating_add(JOIN_BURST_EXTRA),
            per_second: JOINS_PER_SECOND,
        }
    }
}

/// What every connection shares with the rest of the server.
pub struct ConnectionContext {
    /// The room hub.
    pub hub: Hub,
    /// The server's metrics.
    pub metrics: Metrics,
    /// The limits and timeouts.
    pub settings: ConnectionSettings,
    /// The open connections, for the shutdown to reach every one.
    live: Mutex<Live>,
}

/// The open connections.
#[derive(Default)]
struct Live {
    clients: HashMap<ClientId, ClientHandle>,
    /// The server shuts down: a connection that opens now closes at once.
    shut_down: bool,
}

impl ConnectionContext {
    /// The context of a server's connections.
    pub fn new(hub: Hub, metrics: Metrics, settings: ConnectionSettings) -> Self {
        Self {
            hub,
            metrics,
            settings,
            live: Mutex::default(),
        }
    }

    /// Closes every connection, and every one that opens from now on, with
    /// close code 1001 (the server shuts down).
    pub fn shut_down(&self) {
        let clients = {
            let mut live = self.live();
            live.shut_down = true;
            std::mem::take(&mut live.clients)
        };
        for client in clients.into_values() {
            client.close(CloseReason::ServerShutdown);
        }
    }

    /// Counts `client` among the open connections, until [`Self::forget`].
    fn register(&self, client: &ClientHandle) {
        let mut live = self.live();
        if live.shut_down {
            drop(live);
            client.close(CloseReason::ServerShutdown);
            return;
        }
        live.clients.insert(client.id(), client.clone());
    }

    fn forget(&self, client: ClientId) {
        self.live().clients.remove(&client);
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        // Plain map operations that cannot be left half-done: a panic
        // elsewhere does not poison the data.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
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
    let client = ClientHandle::new(next_client_id(), peer, context.settings.client_queue_bytes);
    event_in_span!(&client, Level::DEBUG, "connected");
    context.metrics.connection_opened();
    context.register(&client);
    Connection::new(stream, &read_ahead, client, context, ticket).run()
}

/// The span of `client`'s connection, which its log lines carry: its id and
/// address. Made for each line rather than kept for the connection's life:
/// a span costs the subscriber some 400 bytes for as long as it lives,
/// which every idle connection would carry, and a connection logs little.
pub fn connection_span(client: &ClientHandle) -> Span {
    tracing::info_span!("connection", client = client.id(), peer = %client.peer())
}
