//! `GET /api/rooms`: the caller's room list. Their rooms first (with
//! their role, and what they have not read), the most recently active
//! first; then the public rooms they are not in, the most recently active
//! first; then rooms that people are connected to but that the store has
//! no row for yet (a room joined over the WebSocket before anyone posted:
//! public, as every such room is), by name. At most
//! [`ROOM_LIST_LIMIT`] in all.
//!
//! Private rooms and direct conversations are listed to their members
//! only: administrators, who may read them, find them through the audit
//! log or by name, so that their list stays theirs.

use super::{membership_of, Rooms, RoomsError};
use crate::accounts::Identity;
use common::api::{RoomSummary, ROOM_LIST_LIMIT};
use common::{RoomKind, RoomName};
use std::collections::{BTreeMap, HashSet};

impl Rooms {
    /// The caller's room list; `connected` says how many people are
    /// connected to each room now (rooms it does not name have none).
    pub async fn list(
        &self,
        caller: &Identity,
        connected: &BTreeMap<RoomName, u32>,
    ) -> Result<Vec<RoomSummary>, RoomsError> {
        let members = |room: &RoomName| connected.get(room).copied().unwrap_or(0);
        let mut listed: HashSet<RoomName> = HashSet::new();
        let mut rooms = Vec::new();
        for mine in self.store.rooms_of(caller.user_id).await? {
            let membership = membership_of(&mine.room, &mine.member, mine.mentions);
            let mut summary = summary_of(&mine.room, members(&mine.room.room));
            summary.membership = Some(membership);
            listed.insert(mine.room.room.clone());
            rooms.push(summary);
        }
        for public in self.store.public_rooms(ROOM_LIST_LIMIT).await? {
            if listed.insert(public.room.clone()) {
                rooms.push(summary_of(&public, members(&public.room)));
            }
        }
        for (room, count) in connected {
            if rooms.len() >= ROOM_LIST_LIMIT {
                break;
            }
            if *count == 0 || listed.contains(room) {
                continue;
            }
            // A room with a row that is not listed by now is private (or
            // public beyond the limit); only one without a row is new.
            if self.store.room(room).await?.is_none() {
                rooms.push(RoomSummary {
                    kind: Some(RoomKind::Public),
                    ..RoomSummary::bare(room.clone(), *count, 0)
                });
            }
        }
        rooms.truncate(ROOM_LIST_LIMIT);
        Ok(rooms)
    }
}

/// A stored room as listed, without the caller's membership.
fn summary_of(room: &crate::store::rooms::RoomRecord, members: u32) -> RoomSummary {
    RoomSummary {
        kind: Some(room.kind),
        title: room.title.clone(),
        topic: Some(room.topic.clone()).filter(|topic| !topic.as_str().is_empty()),
        archived: room.archived,
        ..RoomSummary::bare(room.room.clone(), members, room.last_id)
    }
}
