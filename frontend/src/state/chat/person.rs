//! What the person does: opening and leaving rooms, writing, retrying,
//! loading older messages, dismissing notices.

use super::Chat;
use crate::state::{Membership, Room};
use common::api::MessagePage;
use common::{ClientFrame, MessageId, MessageText, Nonce, RoomName};

impl Chat {
    /// Shows a room, joining it first when this client is not in it.
    pub fn open_room(&mut self, room: RoomName) -> Vec<ClientFrame> {
        let mut frames = Vec::new();
        if self.room(&room).is_none() {
            self.rooms.push(Room::new(room.clone()));
            frames.extend(self.join_frame(&room));
        }
        if let Some(entry) = self.room_mut(&room) {
            entry.unread = 0;
        }
        self.active = Some(room);
        frames
    }

    /// Leaves a room (once the server agreed, or as it said); another one
    /// is shown if it was shown.
    pub fn leave_room(&mut self, room: &RoomName) -> Vec<ClientFrame> {
        let Some(entry) = self.take_room(room) else {
            return Vec::new();
        };
        self.leave_frame(&entry).into_iter().collect()
    }

    /// Forgets a room; another one is shown if it was shown.
    pub(super) fn take_room(&mut self, room: &RoomName) -> Option<Room> {
        let index = self.rooms.iter().position(|entry| &entry.name == room)?;
        let entry = self.rooms.remove(index);
        if self.active.as_ref() == Some(room) {
            let next = self
                .rooms
                .get(index)
                .or_else(|| self.rooms.last())
                .map(|next| next.name.clone());
            self.active = None;
            if let Some(next) = next {
                self.open_room(next);
            }
        }
        Some(entry)
    }

    /// The person wrote `text` in `room`; `nonce` must be new. It is queued
    /// and sent at once when the room is joined.
    pub fn post(&mut self, room: &RoomName, text: MessageText, nonce: Nonce) -> Vec<ClientFrame> {
        let Some(entry) = self.room_mut(room) else {
            return Vec::new();
        };
        entry.outbox.push(nonce, text);
        self.sends(room)
    }

    /// Keeps what is in the message box of `room` while another room is
    /// shown.
    pub fn keep_draft(&mut self, room: &RoomName, draft: String) {
        if let Some(entry) = self.room_mut(room) {
            entry.draft = draft;
        }
    }

    /// The delay of a [`Command::ResendLater`](crate::state::Command::ResendLater)
    /// has passed: sends what the server refused as over its rate limit.
    pub fn resend(&mut self, room: &RoomName) -> Vec<ClientFrame> {
        self.sends(room)
    }

    /// The person asked to send a refused message again.
    pub fn retry(&mut self, room: &RoomName, nonce: &Nonce) -> Vec<ClientFrame> {
        let retried = self
            .room_mut(room)
            .is_some_and(|entry| entry.outbox.retry(nonce));
        if retried {
            self.sends(room)
        } else {
            Vec::new()
        }
    }

    /// The person gave up on a refused message.
    pub fn discard(&mut self, room: &RoomName, nonce: &Nonce) {
        if let Some(entry) = self.room_mut(room) {
            entry.outbox.discard(nonce);
        }
    }

    /// The `typing` frame to send while the person types in `room`, if the
    /// room is joined.
    pub fn typing_frame(&self, room: &RoomName) -> Option<ClientFrame> {
        self.socket?;
        let entry = self.room(room)?;
        (entry.membership == Membership::Joined).then(|| ClientFrame::Typing { room: room.clone() })
    }

    /// The delay of a [`Command::RejoinLater`](crate::state::Command::RejoinLater)
    /// has passed.
    pub fn rejoin(&mut self, room: &RoomName) -> Vec<ClientFrame> {
        match self.room(room).map(Room::membership) {
            Some(Membership::Waiting) => self.join_frame(room).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The person asked to try joining a room again after a refusal.
    pub fn rejoin_now(&mut self, room: &RoomName) -> Vec<ClientFrame> {
        if let Some(entry) = self.room_mut(room) {
            if let Membership::Refused(_) = entry.membership {
                entry.membership = Membership::Waiting;
                entry.rejoin_attempts = 0;
                entry.notice = None;
            }
        }
        self.rejoin(room)
    }

    /// Forgets the notices about `room` (or, for `None`, the general one).
    pub fn dismiss_notice(&mut self, room: Option<&RoomName>) {
        match room {
            Some(room) => {
                if let Some(entry) = self.room_mut(room) {
                    entry.notice = None;
                }
            }
            None => self.notice = None,
        }
    }

    /// Older messages of `room` should be loaded: returns the `before` id
    /// to ask for, and marks the room as loading, unless there is nothing
    /// older or a load is under way.
    pub fn start_loading_older(&mut self, room: &RoomName) -> Option<MessageId> {
        let entry = self.room_mut(room)?;
        if !entry.has_older || entry.loading_older {
            return None;
        }
        let before = entry.messages.first_key_value().map(|(id, _)| *id)?;
        entry.loading_older = true;
        Some(before)
    }

    /// A page of older messages arrived.
    pub fn older_loaded(&mut self, page: MessagePage) {
        let Some(entry) = self.room_mut(&page.room) else {
            return;
        };
        entry.loading_older = false;
        entry.has_older = page.has_older;
        for message in page.messages {
            entry.insert(message);
        }
    }

    /// Loading older messages failed; `reason` says why.
    pub fn older_failed(&mut self, room: &RoomName, reason: String) {
        if let Some(entry) = self.room_mut(room) {
            entry.loading_older = false;
            entry.notice = Some(reason);
        }
    }

    /// Typing notices older than
    /// [`TYPING_SHOWN_MS`](crate::state::TYPING_SHOWN_MS) at `now` are
    /// dropped.
    pub fn expire_typing(&mut self, now: f64) {
        for room in &mut self.rooms {
            room.typing.retain(|(_, _, until)| *until > now);
        }
    }
}
