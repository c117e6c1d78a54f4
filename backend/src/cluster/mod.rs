//! Cluster mode (`--cluster redis://host:port`): any number of instances
//! share every room through one Redis server. See `docs/SCALING.md` for
//! why Redis and how each property is kept.
//!
//! - [`store`]: every room's history, ids and nonces in the broker; a post
//!   is one atomic script that assigns the id and publishes the message.
//! - [`bus`]: the instance's pub/sub subscription, which brings each room
//!   the messages posted on any instance, in id order.
//! - [`presence`]: who is in each room on every instance, names unique
//!   across instances, and the heartbeat that reaps dead instances.
//! - `keys` and `scripts`: the broker's key names and its Lua scripts.
//!
//! The rooms themselves run as in single-node mode (`hub::room`), each on
//! every instance that has members of it: they post through the broker and
//! broadcast what the bus brings instead of what they committed themselves.

pub mod bus;
mod keys;
pub mod poster;
pub mod presence;
mod scripts;
pub mod store;

pub use bus::{Bus, PresenceChange, RoomEvent, RoomEvents, SubscriptionId};
pub use presence::{Claim, InstanceId, Presence, RemoteMember, Resync};
pub use store::{Draft, Posted, RedisStore};

use crate::store::StoreError;
use redis::aio::ConnectionManagerConfig;
use std::num::NonZeroU64;
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
    /// The shared history.
    pub store: RedisStore,
    /// The instance's subscriptions.
    pub bus: Bus,
    /// The instance's members as the cluster knows them.
    pub presence: Presence,
}

impl Cluster {
    /// Connects to the broker at `url` (`redis://host:port[/db]`) and joins
    /// the cluster; each room's log in the broker keeps at least `keep` of
    /// its newest messages (`None`: all). Connections lost later are made
    /// again by themselves; the bus and the heartbeat stop when `shutdown`
    /// is cancelled.
    pub async fn connect(
        url: &str,
        keep: Option<NonZeroU64>,
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
        let bus = Bus::start(client, shutdown.clone()).await?;
        let presence = Presence::join(connection.clone()).await?;
        tracing::info!(instance = presence.instance(), "joined the cluster");
        tokio::spawn(presence.clone().run(bus.clone(), shutdown));
        Ok(Self {
            store: RedisStore::new(connection, keep),
            bus,
            presence,
        })
    }
}
