//! Cluster mode (`--cluster redis://host:port` with `--db postgres://…`):
//! any number of instances share every room. PostgreSQL, shared by all,
//! keeps the history, assigns ids and tells repeated nonces, in the
//! transaction that stores each message; one Redis server carries what is
//! live. See `docs/SCALING.md` for why and how each property is kept.
//!
//! - [`store`]: the database's history, with the room list's member counts
//!   from the broker.
//! - [`publisher`]: what an instance stored, published after its commit
//!   on the room's channel, in order.
//! - [`bus`]: the instance's pub/sub subscription, which brings each room
//!   the messages posted on any instance (the room orders them by id and
//!   reads what it missed from the database).
//! - [`presence`]: who is in each room on every instance, and the
//!   heartbeat that reaps dead instances.
//! - [`events`]: changes (the accounts': sessions ended, renames) carried
//!   to every instance, a broker channel per kind.
//! - `keys` and `scripts`: the broker's key names and its Lua scripts.
//!
//! The rooms themselves run as in single-node mode (`hub::room`), each on
//! every instance that has members of it: they post to the shared
//! database, publish what they stored, and broadcast it in id order with
//! what the bus brings from the other instances.

pub mod bus;
pub mod events;
mod keys;
pub mod presence;
pub mod publisher;
mod scripts;
pub mod store;

pub use bus::{Bus, PresenceChange, RoomEvent, RoomEvents, SubscriptionId};
pub use events::{AccountChannel, EventChannel, Heard};
pub use presence::{Claim, InstanceId, MemberTag, Presence, RemoteMember, Resync};
pub use publisher::Publisher;
pub use store::ClusterStore;

use crate::store::{MessageStore, StoreError};
use redis::aio::ConnectionManagerConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Longest one command to the broker may take before it fails (and the
/// request that needed it is answered with an error).
pub const BROKER_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a connection attempt to the broker may take.
pub const BROKER_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What an instance needs to take part in a cluster.
#[derive(Clone)]
pub struct Cluster {
    /// The shared history (the database), with member counts.
    pub store: ClusterStore,
    /// Where the instance publishes what it stored.
    pub publisher: Publisher,
    /// The instance's subscriptions.
    pub bus: Bus,
    /// The instance's members as the cluster knows them.
    pub presence: Presence,
    /// Account changes to and from the other instances.
    pub accounts: AccountChannel,
    /// Room changes (memberships, mutes, settings, read state) to and
    /// from the other instances.
    pub rooms: EventChannel<crate::rooms::RoomEvent>,
}

impl Cluster {
    /// Connects to the broker at `url` (`redis://host:port[/db]`) and joins
    /// the cluster, with `db` (the database every instance shares) for
    /// history. Connections lost later are made again by themselves; the
    /// bus and the heartbeat stop when `shutdown` is cancelled.
    pub async fn connect(
        url: &str,
        db: Arc<dyn MessageStore>,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|err| StoreError::broker(format!("bad --cluster URL: {err}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(BROKER_CONNECT_TIMEOUT))
            .set_response_timeout(Some(BROKER_COMMAND_TIMEOUT));
        let connection = tokio::time::timeout(
            BROKER_CONNECT_TIMEOUT,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| StoreError::broker("no answer from the broker"))?
        .map_err(|err| StoreError::broker(format!("cannot reach the broker: {err}")))?;
        let presence = Presence::join(connection.clone()).await?;
        let accounts =
            AccountChannel::new(events::ACCOUNTS, connection.clone(), presence.instance());
        let rooms = EventChannel::new(events::ROOMS, connection.clone(), presence.instance());
        let listeners: Vec<Arc<dyn events::Listener>> =
            vec![Arc::new(accounts.clone()), Arc::new(rooms.clone())];
        let bus = Bus::start(client, listeners, shutdown.clone()).await?;
        tracing::info!(instance = presence.instance(), "joined the cluster");
        tokio::spawn(presence.clone().run(bus.clone(), shutdown));
        Ok(Self {
            store: ClusterStore::new(db, connection.clone()),
            publisher: Publisher::start(connection),
            bus,
            presence,
            accounts,
            rooms,
        })
    }
}

/// A broker's error as the store reports it.
pub(crate) fn broker_error(err: redis::RedisError) -> StoreError {
    StoreError::broker(err.to_string())
}
