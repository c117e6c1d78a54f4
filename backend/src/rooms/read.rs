//! Read state: how far a member has read a room, which the server keeps
//! so that every device of theirs shows the same unread counts. Reading
//! never goes backwards, and nobody reads past a room's newest message.
//! Each change is published as [`RoomEvent::ReadMarked`].

use super::{record_of, Action, RoomEvent, Rooms, RoomsError};
use crate::accounts::Identity;
use common::api::rooms::{ReadAll, ReadState};
use common::{MessageId, RoomName};

impl Rooms {
    /// `POST /api/rooms/{room}/read`: the caller has read `room` up to
    /// `up_to`.
    pub async fn mark_read(
        &self,
        caller: &Identity,
        room: &RoomName,
        up_to: MessageId,
    ) -> Result<ReadState, RoomsError> {
        let access = self.allowed(caller, room, Action::MarkRead).await?;
        let last_id = record_of(&access).map_or(0, |room| room.last_id);
        // The store lowers a larger id to the newest too; lowered here, a
        // number beyond what it keeps never reaches it.
        let last_read = self
            .store
            .mark_read(room, caller.user_id, up_to.min(last_id))
            .await?;
        self.events.publish(RoomEvent::ReadMarked {
            room: room.clone(),
            user: caller.user_id,
            last_read,
        });
        Ok(ReadState {
            room: room.clone(),
            last_read,
            unread: last_id.saturating_sub(last_read),
        })
    }

    /// `POST /api/me/read-all`: every room of the caller's with something
    /// unread is read up to its newest message.
    pub async fn mark_all_read(&self, caller: &Identity) -> Result<ReadAll, RoomsError> {
        let mut rooms = 0;
        for mine in self.store.rooms_of(caller.user_id).await? {
            if mine.unread == 0 {
                continue;
            }
            let room = &mine.room.room;
            let last_read = self
                .store
                .mark_read(room, caller.user_id, mine.room.last_id)
                .await?;
            self.events.publish(RoomEvent::ReadMarked {
                room: room.clone(),
                user: caller.user_id,
                last_read,
            });
            rooms += 1;
        }
        Ok(ReadAll { rooms })
    }
}
