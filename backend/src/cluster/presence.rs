//! Cluster-wide presence: who is in each room on every instance, and the
//! members of a dead instance removed.
//!
//! Each room has a hash in the broker, `chat:{room}:members`, with one
//! entry per member (a connection): from `<instance>:<holder>`, where the
//! holder is the member's client id on that instance, to `<instance>
//! <holder> <tag>`, the tag ([`MemberTag`]) being `<holder> <user id>
//! <username> <display name>`: what the scripts publish, so a room on
//! another instance knows which connection of whom joined or left.
//! Registering a member and releasing it are atomic scripts
//! (`scripts::CLAIM`, `scripts::RELEASE`) that also publish the change on
//! the room's channel, in order with the room's messages; every instance's
//! room merges these into its member list (`hub::room`). Registering a
//! member again with a new display name publishes it as joined again,
//! which the others apply as a rename.
//!
//! Each instance takes a random number when it starts, and renews its
//! entry in `chat:instances` every [`HEARTBEAT_INTERVAL`] for
//! [`INSTANCE_TTL`], by the broker's clock. Every heartbeat also reaps
//! the instances whose time ran out: their members are removed and the
//! rooms told (`scripts::HEARTBEAT`). So the members of an instance that
//! dies disappear within [`DEAD_MEMBERS_GONE_WITHIN`]. An instance that
//! shuts down reaps itself at once ([`Presence::leave`]).

use super::broker_error;
use super::keys::{self, RoomKeys};
use super::{scripts, Bus};
use crate::hub::client::ClientId;
use crate::store::{StoreError, StoreFuture};
use common::{DisplayName, Person, RoomName, Username};
use redis::aio::ConnectionManager;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often an instance tells the broker it is alive, and reaps the
/// instances that stopped doing so.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// How long an instance counts as alive after its last heartbeat. Five
/// beats: an instance that misses a few (a pause, a slow broker) keeps its
/// members; one that stops is reaped soon enough for its members'
/// reconnections to find their names free.
pub const INSTANCE_TTL: Duration = Duration::from_secs(5);

/// The longest the members of a dead instance stay listed: its time to
/// live from its last heartbeat, and then up to one heartbeat of a survivor.
pub const DEAD_MEMBERS_GONE_WITHIN: Duration = INSTANCE_TTL.saturating_add(HEARTBEAT_INTERVAL);

/// Most dead instances one heartbeat reaps; the next beat takes the rest.
pub const INSTANCES_REAPED_PER_BEAT: usize = 16;

/// Most members one claim script carries; a room registering all its
/// members again (after the broker came back) sends several. Bounds how
/// long one script keeps the broker from everything else.
pub const MEMBERS_PER_CLAIM: usize = 500;

/// The number of an instance in the cluster: random, below 2^48 (the
/// broker's scripts hold numbers as doubles, exact up to 2^53).
pub type InstanceId = u64;

/// A new random [`InstanceId`]. Random rather than counted by the broker,
/// so that a broker that lost its data cannot give a new instance the
/// number of one still running; two of a thousand instances share a number
/// with a chance of about 2 in a billion.
fn new_instance_id() -> InstanceId {
    use std::hash::BuildHasher;
    // The standard library seeds every `RandomState` from the system's
    // random source.
    let random = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    random & ((1 << 48) - 1)
}

/// A member on another instance, as the room lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMember {
    /// The instance it is connected to.
    pub instance: InstanceId,
    /// Its client id there.
    pub holder: ClientId,
    /// Who it is.
    pub person: Person,
}

/// A member as the broker's scripts publish it: `<holder> <user id>
/// <username> <display name>` (a username has no spaces; a display name
/// may).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct MemberTag {
    /// Its client id on its instance.
    pub holder: ClientId,
    /// Who it is.
    pub person: Person,
}

impl MemberTag {
    /// The tag of `holder`, signed in as `person`.
    pub fn encode(holder: ClientId, person: &Person) -> String {
        format!(
            "{holder} {} {} {}",
            person.user_id, person.username, person.display_name
        )
    }

    /// A tag from its text.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(4, ' ');
        let holder = parts.next()?.parse().ok()?;
        let user_id = parts.next()?.parse().ok()?;
        let username = Username::parse(parts.next()?).ok()?;
        let display_name = DisplayName::parse(parts.next()?).ok()?;
        Some(Self {
            holder,
            person: Person {
                user_id,
                username,
                display_name,
            },
        })
    }
}

impl TryFrom<String> for MemberTag {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
            .ok_or_else(|| "a member tag is `<holder> <user> <username> <name>`".into())
    }
}

/// What registering a room's members again found.
#[derive(Debug)]
pub struct Resync {
    /// Local members the broker refused (none: each connection has an
    /// entry of its own; kept so that a refusal could never go unnoticed).
    pub refused: Vec<ClientId>,
    /// The members of other instances.
    pub remote: Vec<RemoteMember>,
}

/// A local member to register.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The member's client id on this instance.
    pub holder: ClientId,
    /// Who it is.
    pub person: Person,
}

/// This instance's part in the cluster's presence. Cheap to clone.
#[derive(Clone)]
pub struct Presence {
    connection: ConnectionManager,
    instance: InstanceId,
}

impl Presence {
    /// Joins the cluster under a new random number; its first heartbeat
    /// enters it among the live ones.
    pub(super) async fn join(connection: ConnectionManager) -> Result<Self, StoreError> {
        let presence = Self {
            connection,
            instance: new_instance_id(),
        };
        presence.beat().await?;
        Ok(presence)
    }

    /// This instance's number.
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// Registers local members in `room`; returns the holders refused
    /// (none, as each has an entry of its own).
    pub fn claim(&self, room: &RoomName, claims: Vec<Claim>) -> StoreFuture<Vec<ClientId>> {
        let mut connection = self.connection.clone();
        let instance = self.instance;
        let room = room.clone();
        Box::pin(async move {
            let keys = RoomKeys::new(&room);
            let instance_rooms = keys::instance_rooms(instance);
            let mut refused = Vec::new();
            for batch in claims.chunks(MEMBERS_PER_CLAIM) {
                let mut invocation = scripts::CLAIM.key(&keys.members);
                invocation
                    .key(&instance_rooms)
                    .key(keys::INSTANCES)
                    .key(keys::OCCUPIED)
                    .arg(instance)
                    .arg(room.as_str())
                    .arg(&keys.channel)
                    .arg(ttl_ms());
                for claim in batch {
                    invocation
                        .arg(field(instance, claim.holder))
                        .arg(claim.holder)
                        .arg(MemberTag::encode(claim.holder, &claim.person));
                }
                let batch_refused: Vec<ClientId> = invocation
                    .invoke_async(&mut connection)
                    .await
                    .map_err(broker_error)?;
                refused.extend(batch_refused);
            }
            Ok(refused)
        })
    }

    /// Releases the member `holder` (signed in as `person`) in `room`, if
    /// it is still held as such.
    pub fn release(&self, room: &RoomName, holder: ClientId, person: &Person) -> StoreFuture<()> {
        let mut connection = self.connection.clone();
        let keys = RoomKeys::new(room);
        let tag = MemberTag::encode(holder, person);
        let held = held_value(self.instance, holder, &tag);
        let key = field(self.instance, holder);
        let instance = self.instance;
        Box::pin(async move {
            let _released: u8 = scripts::RELEASE
                .key(&keys.members)
                .arg(key)
                .arg(held)
                .arg(&keys.channel)
                .arg(instance)
                .arg(tag)
                .invoke_async(&mut connection)
                .await
                .map_err(broker_error)?;
            Ok(())
        })
    }

    /// The members of `room` on other instances.
    pub fn remote_members(&self, room: &RoomName) -> StoreFuture<Vec<RemoteMember>> {
        let presence = self.clone();
        let room = room.clone();
        Box::pin(async move {
            let held = presence.held(&room).await?;
            Ok(presence.others(held))
        })
    }

    /// Registers the room's local members again (as they are now) after
    /// the broker came back, had taken this instance for dead, or a member
    /// was renamed; releases what this instance still holds for members who left
    /// meanwhile (a release that failed while the broker was away), and
    /// reads the members of other instances.
    pub fn resync(&self, room: &RoomName, local: Vec<Claim>) -> StoreFuture<Resync> {
        let presence = self.clone();
        let room = room.clone();
        Box::pin(async move {
            let refused = presence.claim(&room, local.clone()).await?;
            let held = presence.held(&room).await?;
            for member in &held {
                let still_here = local.iter().any(|claim| claim.holder == member.holder);
                if member.instance == presence.instance && !still_here {
                    presence
                        .release(&room, member.holder, &member.person)
                        .await?;
                }
            }
            Ok(Resync {
                refused,
                remote: presence.others(held),
            })
        })
    }

    /// Every member of `room` in the broker, with its holder.
    async fn held(&self, room: &RoomName) -> Result<Vec<RemoteMember>, StoreError> {
        let mut connection = self.connection.clone();
        let held: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(RoomKeys::new(room).members)
            .query_async(&mut connection)
            .await
            .map_err(broker_error)?;
        held.into_iter()
            .map(|(_, value)| {
                parse_held(&value).ok_or_else(|| {
                    StoreError::corrupt(format!(
                        "a member of room {room} is not `<instance> <holder> <tag>`"
                    ))
                })
            })
            .collect()
    }

    /// The members of other instances among `held`.
    fn others(&self, held: Vec<RemoteMember>) -> Vec<RemoteMember> {
        held.into_iter()
            .filter(|member| member.instance != self.instance)
            .collect()
    }

    /// Keeps the instance alive in the broker and reaps dead instances,
    /// every [`HEARTBEAT_INTERVAL`] until `shutdown`. If the broker had
    /// taken this instance for dead (or lost its data), every room is told
    /// to register its members again.
    pub(super) async fn run(self, bus: Bus, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(HEARTBEAT_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // The first tick is now: `join` just beat.
        let mut failing = false;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match self.beat().await {
                Ok(Beat {
                    was_missing,
                    reaped,
                }) => {
                    if failing {
                        failing = false;
                        tracing::info!(
                            instance = self.instance,
                            "the heartbeat reaches the cluster broker again"
                        );
                    }
                    if reaped > 0 {
                        tracing::info!(
                            instances = reaped,
                            "removed the members of instances that stopped"
                        );
                    }
                    if was_missing {
                        tracing::warn!(
                            instance = self.instance,
                            "the cluster had taken this instance for dead; registering its members again"
                        );
                        bus.resync_every_room();
                    }
                }
                Err(err) => {
                    if !failing {
                        failing = true;
                        tracing::warn!(instance = self.instance, error = %err, "the heartbeat cannot reach the cluster broker");
                    }
                }
            }
        }
    }

    /// Removes this instance and all its members from the cluster at once
    /// (it shuts down).
    pub async fn leave(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let _: u8 = scripts::LEAVE
            .key(keys::INSTANCES)
            .arg(self.instance)
            .arg(keys::ROOM_KEY_PREFIX)
            .arg(keys::INSTANCE_ROOMS_PREFIX)
            .invoke_async(&mut connection)
            .await
            .map_err(broker_error)?;
        Ok(())
    }

    async fn beat(&self) -> Result<Beat, StoreError> {
        let mut connection = self.connection.clone();
        let (missing, reaped): (u8, usize) = scripts::HEARTBEAT
            .key(keys::INSTANCES)
            .arg(self.instance)
            .arg(keys::ROOM_KEY_PREFIX)
            .arg(keys::INSTANCE_ROOMS_PREFIX)
            .arg(ttl_ms())
            .arg(INSTANCES_REAPED_PER_BEAT)
            .invoke_async(&mut connection)
            .await
            .map_err(broker_error)?;
        Ok(Beat {
            was_missing: missing == 1,
            reaped,
        })
    }
}

/// What one heartbeat found.
struct Beat {
    /// The instance was not among the live ones.
    was_missing: bool,
    /// Dead instances reaped.
    reaped: usize,
}

fn ttl_ms() -> u64 {
    u64::try_from(INSTANCE_TTL.as_millis()).unwrap_or(u64::MAX)
}

/// A member's field in a room's members hash: its instance and connection.
fn field(instance: InstanceId, holder: ClientId) -> String {
    format!("{instance}:{holder}")
}

/// How a member is held in a room's members hash.
fn held_value(instance: InstanceId, holder: ClientId, tag: &str) -> String {
    format!("{instance} {holder} {tag}")
}

/// A member from its held value, `<instance> <holder> <tag>`.
fn parse_held(value: &str) -> Option<RemoteMember> {
    let (instance, rest) = value.split_once(' ')?;
    let (_, tag) = rest.split_once(' ')?;
    let tag = MemberTag::parse(tag)?;
    Some(RemoteMember {
        instance: instance.parse().ok()?,
        holder: tag.holder,
        person: tag.person,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_value_gives_back_its_instance_and_a_name_with_spaces() {
        let person = Person {
            user_id: 9,
            username: Username::parse("ann").expect("valid"),
            display_name: DisplayName::parse("Ann Lee").expect("valid"),
        };
        let held = held_value(3, 42, &MemberTag::encode(42, &person));
        assert_eq!(held, "3 42 42 9 ann Ann Lee");
        let expected = RemoteMember {
            instance: 3,
            holder: 42,
            person,
        };
        assert_eq!(parse_held(&held), Some(expected));
        assert_eq!(parse_held("3 42 Ann"), None);
        assert_eq!(parse_held("x 42 42 9 ann Ann"), None);
        assert_eq!(MemberTag::parse("42 x ann Ann"), None);
    }

    #[test]
    fn instance_numbers_differ_and_stay_exact_in_the_brokers_scripts() {
        let (first, second) = (new_instance_id(), new_instance_id());
        assert_ne!(first, second);
        assert!(first < 1 << 53 && second < 1 << 53);
    }

    #[test]
    fn a_few_missed_heartbeats_are_forgiven() {
        assert!(INSTANCE_TTL >= HEARTBEAT_INTERVAL * 3);
        assert!(DEAD_MEMBERS_GONE_WITHIN > INSTANCE_TTL);
    }
}
