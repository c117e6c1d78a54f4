//! The names of everything the cluster keeps in the broker.
//!
//! A room's keys share the room name in braces (`chat:{lobby}:members`),
//! Redis' hash tag, so they would stay together on one shard. The broker
//! holds no history: that is the database's.

use common::RoomName;

/// What every room key starts with, before the room's name.
pub(super) const ROOM_KEY_PREFIX: &str = "chat:{";

/// The rooms that have had members on some instance since the room list
/// last found them empty, all with score 0 so that they sort by name: the
/// room list's quiet rooms, cluster-wide.
pub(super) const OCCUPIED: &str = "chat:occupied";

/// The sorted set of live instances, each by the broker time (ms) until
/// which it counts as alive (see `presence`).
pub(super) const INSTANCES: &str = "chat:instances";

/// What the key of an instance's rooms starts with, before its number.
pub(super) const INSTANCE_ROOMS_PREFIX: &str = "chat:instance:";

/// The set of rooms in which `instance` has (or had) members.
pub(super) fn instance_rooms(instance: u64) -> String {
    format!("{INSTANCE_ROOMS_PREFIX}{instance}:rooms")
}

/// The keys and channel of one room.
#[derive(Debug, Clone)]
pub(super) struct RoomKeys {
    /// Hash: a member's name key → `<instance> <holder> <name>` (see
    /// `presence`), for the members of every instance.
    pub(super) members: String,
    /// The pub/sub channel the room's messages are published on.
    pub(super) channel: String,
}

impl RoomKeys {
    pub(super) fn new(room: &RoomName) -> Self {
        let key = |suffix: &str| format!("{ROOM_KEY_PREFIX}{room}}}:{suffix}");
        Self {
            members: key("members"),
            channel: channel(room),
        }
    }
}

/// The pub/sub channel of `room`.
pub(super) fn channel(room: &RoomName) -> String {
    format!("{ROOM_KEY_PREFIX}{room}}}:events")
}

/// The room a channel belongs to, if it is a room channel.
pub(super) fn room_of_channel(channel: &str) -> Option<RoomName> {
    let inner = channel
        .strip_prefix(ROOM_KEY_PREFIX)?
        .strip_suffix("}:events")?;
    RoomName::parse(inner).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_channel_names_its_room_and_nothing_else_does() {
        let room = RoomName::parse("lobby").expect("valid");
        let keys = RoomKeys::new(&room);
        assert_eq!(keys.members, "chat:{lobby}:members");
        assert_eq!(instance_rooms(7), "chat:instance:7:rooms");
        assert_eq!(room_of_channel(&keys.channel), Some(room));
        assert_eq!(room_of_channel("chat:{lobby}:members"), None);
        assert_eq!(room_of_channel("other"), None);
    }
}
