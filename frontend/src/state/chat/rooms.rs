//! What the server tells about the rooms a person belongs to (protocol
//! version 2): how far they read (`read`, from any of their tabs and
//! devices), what they are to a room (`membership`: added, left elsewhere,
//! removed, banned), a moderator's mute (`muted`), and a room's settings
//! (`room_changed`); and the marks of reading this client sends.

use super::Chat;
use crate::state::{Command, Room, RoomSettings};
use common::{ClientFrame, MemberState, MessageId, RoomName, ServerFrame};

impl Chat {
    /// One of the frames about rooms people belong to.
    pub(super) fn room_frame(&mut self, frame: ServerFrame) -> Vec<Command> {
        match frame {
            ServerFrame::Read { room, last_read } => {
                if let Some(entry) = self.room_mut(&room) {
                    if last_read > entry.last_read {
                        entry.last_read = last_read;
                        // Read elsewhere: what is left unread is what came
                        // after, of what this client has (never more than
                        // it counted).
                        entry.unread = entry.unread.min(entry.unread_after(last_read));
                    }
                }
                Vec::new()
            }
            ServerFrame::Membership { room, state, .. } => self.membership(room, state),
            ServerFrame::Muted { room, until } => {
                if let Some(entry) = self.room_mut(&room) {
                    entry.muted_until = until;
                }
                Vec::new()
            }
            ServerFrame::RoomChanged {
                room,
                kind,
                title,
                topic,
                archived,
            } => {
                if let Some(entry) = self.room_mut(&room) {
                    entry.settings = Some(RoomSettings {
                        kind,
                        title,
                        topic,
                        archived,
                    });
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn membership(&mut self, room: RoomName, state: MemberState) -> Vec<Command> {
        match state {
            // Someone added this person (or started a conversation with
            // them), or changed their role: the room is theirs on every
            // device, so it is joined here too.
            MemberState::Member => {
                if self.room(&room).is_some() {
                    return Vec::new();
                }
                self.rooms.push(Room::new(room.clone()));
                self.join_frame(&room)
                    .into_iter()
                    .map(Command::Send)
                    .collect()
            }
            // Left on another tab or device: this one follows.
            MemberState::Left => self
                .leave_room(&room)
                .into_iter()
                .map(Command::Send)
                .collect(),
            // The server took the connection out of the room already.
            MemberState::Removed | MemberState::Banned => {
                if self.take_room(&room).is_some() {
                    let what = if state == MemberState::Banned {
                        "banned"
                    } else {
                        "removed"
                    };
                    self.notice = Some(format!("you were {what} from #{room} by a moderator"));
                }
                Vec::new()
            }
        }
    }

    /// The room shown has messages newer than the last read: marks them
    /// read here, and returns the id to tell the server
    /// (`POST /api/rooms/{room}/read`), which tells the person's other tabs
    /// and devices. `None` when there is nothing new to mark.
    pub fn read_mark(&mut self, room: &RoomName) -> Option<MessageId> {
        if self.active.as_ref() != Some(room) {
            return None;
        }
        let entry = self.room_mut(room)?;
        let newest = entry.last_id()?;
        if newest <= entry.last_read {
            return None;
        }
        entry.last_read = newest;
        entry.unread = 0;
        Some(newest)
    }

    /// A problem not about any one room, in words.
    pub fn set_notice(&mut self, text: String) {
        self.notice = Some(text);
    }

    /// A problem about `room`, in words, shown in it.
    pub fn room_notice(&mut self, room: &RoomName, text: String) {
        if let Some(entry) = self.room_mut(room) {
            entry.notice = Some(text);
        }
    }

    /// The `leave` that stops this connection following a room it no
    /// longer has, if it follows it.
    pub(super) fn leave_frame(&self, room: &Room) -> Option<ClientFrame> {
        let was_in = matches!(
            room.membership,
            crate::state::Membership::Joined | crate::state::Membership::Joining
        );
        (was_in && self.socket.is_some()).then(|| ClientFrame::Leave {
            room: room.name.clone(),
        })
    }
}
