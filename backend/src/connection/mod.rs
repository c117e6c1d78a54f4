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
//! Every connection is signed in (the upgrade checked the session or API
//! token, see `http::ws`): it joins rooms as its account, and closes with
//! code 4001 when its credential ends ([`ConnectionContext::apply`], fed by
//! [`account_events`]).
//!
//! Limits enforced here (see [`ConnectionSettings`] and [`crate::limits`]):
//! a size limit on messages, a rate limit on `send` (per connection, and
//! one budget shared by all of an account's connections) and on `join`, a cap on
//! rooms, a throttle on typing notices, a join timeout for connections that
//! never join, and heartbeats: the connection pings, and closes one that
//! has sent nothing for the idle timeout.
//!
//! - [`account_events`]: what account changes do to open connections.
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

pub mod account_events;
mod driver;
pub mod heartbeat;
mod reader;
pub mod room_events;
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

use crate::accounts::{AccountEvent, Credential, Identity};
use crate::config::Config;
use crate::hub::client::{next_client_id, ClientHandle, ClientId, CloseReason};
use crate::hub::encode;
use crate::hub::Hub;
use crate::limits::{
    AdmissionTicket, Rate, RateLimit, Verdict, JOINS_PER_SECOND, JOIN_BURST_EXTRA,
};
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use bytes::Bytes;
use common::{DisplayName, ServerFrame, UserId};
use driver::Connection;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
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
    /// Rooms' use cases: who may join which room.
    pub rooms: Rooms,
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
    /// The budget for posting that all the connections of an account
    /// share (three tabs post as fast as one). Made on an account's first
    /// post, and forgotten once full again (a full budget is a new one):
    /// idle connections, most of them, cost nothing here.
    budgets: HashMap<UserId, RateLimit>,
    /// The number of budgets past which full ones are forgotten.
    budgets_swept_at: usize,
    /// The server shuts down: a connection that opens now closes at once.
    shut_down: bool,
}

/// Budgets the open connections keep before they first forget the full ones; then
/// twice as many as were kept after the last sweep, so a sweep costs O(1)
/// per post over time.
pub const BUDGETS_BEFORE_SWEEP: usize = 1024;

/// What an account change asks of the hub once the connections took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    /// Whose display name changed.
    pub user: UserId,
    /// The new one.
    pub display_name: DisplayName,
}

impl ConnectionContext {
    /// The context of a server's connections.
    pub fn new(hub: Hub, rooms: Rooms, metrics: Metrics, settings: ConnectionSettings) -> Self {
        Self {
            hub,
            rooms,
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

    fn forget(&self, client: &ClientHandle) {
        self.live().clients.remove(&client.id());
    }

    /// Whether `user`'s shared budget allows one more post now.
    fn account_allows_send(&self, user: UserId) -> bool {
        let rate = self.settings.send_rate();
        let now = Instant::now();
        let mut live = self.live();
        if live.budgets.len() >= live.budgets_swept_at.max(BUDGETS_BEFORE_SWEEP) {
            live.budgets.retain(|_, budget| !budget.is_fresh(rate, now));
            live.budgets_swept_at = live.budgets.len() * 2;
        }
        let budget = live
            .budgets
            .entry(user)
            .or_insert_with(|| RateLimit::new(rate, now));
        budget.check(rate, now) == Verdict::Allow
    }

    /// Carries out what `event` asks of the open connections: those of an
    /// ended session, a revoked token or a deactivated account close (code
    /// 4001); those of a renamed account show the new name in the rooms
    /// they join from now on. Returns the rename the hub must show in the
    /// rooms these connections are in.
    pub fn apply(&self, event: &AccountEvent) -> Option<Rename> {
        let clients: Vec<ClientHandle> = self.live().clients.values().cloned().collect();
        let close = |matches: &dyn Fn(&ClientHandle) -> bool, reason| {
            for client in clients.iter().filter(|client| matches(client)) {
                client.close(reason);
            }
        };
        match event {
            AccountEvent::SessionsEnded(sessions) => close(
                &|client| matches!(client.credential(), Credential::Session(id) if sessions.contains(&id)),
                CloseReason::SessionEnded,
            ),
            AccountEvent::AccountDeactivated(user) => close(
                &|client| client.user_id() == *user,
                CloseReason::AccountDeactivated,
            ),
            AccountEvent::ApiTokenRevoked(token) => close(
                &|client| client.credential() == Credential::ApiToken(*token),
                CloseReason::TokenRevoked,
            ),
            AccountEvent::ProfileChanged { user, display_name } => {
                for client in clients.iter().filter(|client| client.user_id() == *user) {
                    client.rename(display_name);
                }
                return Some(Rename {
                    user: *user,
                    display_name: display_name.clone(),
                });
            }
        }
        None
    }

    /// Delivers `frame` to every open connection of `user`: what each of a
    /// person's tabs and devices follows (read state, memberships, mutes).
    /// A look through every connection: these frames follow what a person
    /// did, far less often than messages.
    pub fn tell(&self, user: UserId, frame: &ServerFrame) {
        let clients: Vec<ClientHandle> = self
            .live()
            .clients
            .values()
            .filter(|client| client.user_id() == user)
            .cloned()
            .collect();
        if clients.is_empty() {
            return;
        }
        let frame = encode(frame);
        for client in clients {
            client.deliver(frame.clone());
        }
    }

    /// The open connections, grouped by account: what a check of every
    /// credential against the store goes through.
    pub fn by_account(&self) -> HashMap<UserId, Vec<ClientHandle>> {
        let mut accounts: HashMap<UserId, Vec<ClientHandle>> = HashMap::new();
        for client in self.live().clients.values() {
            accounts
                .entry(client.user_id())
                .or_default()
                .push(client.clone());
        }
        accounts
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
/// server's caps until it ends. The connection acts as `identity`, whom
/// the upgrade request proved itself to be.
///
/// A plain function returning the future, with the shared context behind
/// an `Arc`: an `async fn` would keep its arguments next to the future it
/// moves them into, and every idle connection carries this future.
pub fn serve(
    stream: TcpStream,
    read_ahead: Bytes,
    peer: SocketAddr,
    ticket: AdmissionTicket,
    identity: Identity,
    context: Arc<ConnectionContext>,
) -> impl Future<Output = ()> + Send {
    let person = identity.person();
    let client = ClientHandle::new(
        next_client_id(),
        peer,
        context.settings.client_queue_bytes,
        person,
        identity.credential,
    );
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
    tracing::info_span!("connection", client = client.id(), user = client.user_id(), peer = %client.peer())
}
