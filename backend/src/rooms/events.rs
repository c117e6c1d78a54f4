//! What live connections must hear of when rooms change: a broadcast
//! channel of [`RoomEvent`]s. [`super::Rooms`] publishes each event after
//! the store committed the change it describes, whichever way the change
//! came (an HTTP route now, the WebSocket's join later); subscribers
//! ([`super::Rooms::subscribe`]) are the live side's: the hub tells a
//! room's connections, closes a removed member's subscription, and in
//! cluster mode the events travel to the other instances (they are
//! serializable for that).
//!
//! Nothing here carries a message's text. A receiver that falls more than
//! [`EVENT_CAPACITY`] events behind gets `RecvError::Lagged`: it should
//! then read the memberships it serves again from the store.

use common::{MessageId, RoomName, RoomRole, UserId};
use tokio::sync::broadcast;

/// Events a subscriber may be behind before it lags.
pub const EVENT_CAPACITY: usize = 1024;

/// Why a membership ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// They left.
    Left,
    /// A moderator removed them.
    Removed,
    /// A moderator banned them.
    Banned,
}

/// A change to rooms that open connections must act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum RoomEvent {
    /// `user` became a member of `room` (made it, joined, was added, or is
    /// one of a new direct conversation's people).
    MemberAdded {
        /// The room.
        room: RoomName,
        /// The new member.
        user: UserId,
        /// Whether it was the member's own doing (they joined, made the
        /// room or started the conversation): the connection that did it
        /// knows, and is not told again (a `membership` frame racing its
        /// `joined`).
        own: bool,
    },
    /// `user` is no longer a member of `room`: their connections leave it.
    MemberRemoved {
        /// The room.
        room: RoomName,
        /// The former member.
        user: UserId,
        /// Why.
        reason: RemovalReason,
    },
    /// A member's role changed.
    RoleChanged {
        /// The room.
        room: RoomName,
        /// The member.
        user: UserId,
        /// Their new role.
        role: RoomRole,
    },
    /// A member was muted until `until` (milliseconds since the epoch), or
    /// their mute was lifted (`None`).
    Muted {
        /// The room.
        room: RoomName,
        /// The member.
        user: UserId,
        /// When the mute ends.
        until: Option<u64>,
    },
    /// The room's title, topic, kind or archived state changed: read it
    /// again from the store. A room that became private is one whose
    /// non-members' connections must stop receiving it.
    RoomChanged {
        /// The room.
        room: RoomName,
    },
    /// `user` read `room` up to `last_read` (their other connections may
    /// clear its unread count).
    ReadMarked {
        /// The room.
        room: RoomName,
        /// The reader.
        user: UserId,
        /// The newest message id they have read.
        last_read: MessageId,
    },
}

/// The sending side, shared by every clone of [`super::Rooms`].
#[derive(Debug, Clone)]
pub(super) struct Events(broadcast::Sender<RoomEvent>);

impl Events {
    pub(super) fn new() -> Self {
        Self(broadcast::channel(EVENT_CAPACITY).0)
    }

    /// Publishes `event` to the current subscribers (none is fine).
    pub(super) fn publish(&self, event: RoomEvent) {
        let _ = self.0.send(event);
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<RoomEvent> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events cross instances as JSON: each reads back as itself.
    #[test]
    fn events_read_back_from_json() {
        let room = RoomName::parse("team").expect("valid");
        let events = [
            RoomEvent::MemberAdded {
                room: room.clone(),
                user: 3,
                own: false,
            },
            RoomEvent::MemberRemoved {
                room: room.clone(),
                user: 3,
                reason: RemovalReason::Banned,
            },
            RoomEvent::Muted {
                room: room.clone(),
                user: 3,
                until: Some(7),
            },
            RoomEvent::ReadMarked {
                room,
                user: 3,
                last_read: 9,
            },
        ];
        for event in events {
            let json = serde_json::to_string(&event).expect("serializes");
            assert_eq!(
                serde_json::from_str::<RoomEvent>(&json).expect("reads"),
                event
            );
        }
        let json = serde_json::to_value(RoomEvent::RoomChanged {
            room: RoomName::parse("a").expect("valid"),
        })
        .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"event": "room_changed", "room": "a"})
        );
    }
}
