//! Bodies of the HTTP API, and the limits of its history pages; the
//! accounts part is in [`accounts`], the rooms part (membership, roles,
//! moderation, read state, the audit log) in [`rooms`].

pub mod accounts;
pub mod rooms;

use crate::room::{RoomKind, RoomTitle, RoomTopic};
use crate::{ChatMessage, MessageId, RoomName};
use serde::{Deserialize, Serialize};

/// Messages in a `joined` frame's history when the join has no `since`.
pub const JOIN_HISTORY_LIMIT: usize = 50;
/// Most messages in a `joined` frame's history when the join has a `since`;
/// `has_older` says when more were missed than this.
pub const SINCE_HISTORY_LIMIT: usize = 1_000;
/// Most bytes of message text, as encoded in JSON, in one history (a
/// `joined` frame's or a page's): fewer messages are sent when they are
/// long, and `has_older` says more exist. Keeps every frame small enough for
/// any client to take at once.
pub const HISTORY_MAX_BYTES: usize = 256 * 1024;
/// Messages in a page of `GET /api/rooms/{room}/messages` without `limit`.
pub const DEFAULT_PAGE_LIMIT: usize = 50;
/// Most messages in a page of `GET /api/rooms/{room}/messages`; a larger
/// `limit` is lowered to this.
pub const MAX_PAGE_LIMIT: usize = 200;
/// Most rooms listed by `GET /api/rooms`, the most recently active first.
pub const ROOM_LIST_LIMIT: usize = 500;

/// One entry of `GET /api/rooms`: a room the caller is a member of (with
/// `membership`), or a public room they may join (without).
///
/// The fields after `last_id` came with rooms people belong to; each is
/// optional, so that a client of the first three reads the list as before.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room.
    pub room: RoomName,
    /// How many people are connected to the room now.
    pub members: u32,
    /// The id of the room's newest message; 0 when it has none.
    pub last_id: MessageId,
    /// Public, private or direct; absent only from servers before rooms
    /// had kinds (every room was public then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RoomKind>,
    /// Its title, when it has one besides its slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<RoomTitle>,
    /// Its topic, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<RoomTopic>,
    /// True when the room is archived (read-only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// The caller's membership, with what they have not read; absent for
    /// a public room they are not in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<rooms::Membership>,
}

impl RoomSummary {
    /// A room known by its name, members and last id only: a room of the
    /// first protocol's shape.
    pub fn bare(room: RoomName, members: u32, last_id: MessageId) -> Self {
        Self {
            room,
            members,
            last_id,
            kind: None,
            title: None,
            topic: None,
            archived: false,
            membership: None,
        }
    }
}

/// The body of `GET /api/rooms/{room}/messages`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    /// The room.
    pub room: RoomName,
    /// The newest messages before the requested id, oldest first.
    pub messages: Vec<ChatMessage>,
    /// True when even older messages exist; ask again with
    /// `before={messages[0].id}`.
    pub has_older: bool,
}
