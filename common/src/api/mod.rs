//! Bodies of the HTTP API, and the limits of its history pages; the
//! accounts part is in [`accounts`].

pub mod accounts;

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

/// One entry of `GET /api/rooms`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room.
    pub room: RoomName,
    /// How many members are in the room now.
    pub members: u32,
    /// The id of the room's newest message; 0 when it has none.
    pub last_id: MessageId,
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
