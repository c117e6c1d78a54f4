//! Everything the page shows ([`Chat`]): the account, its rooms, the room
//! shown, the connection. Its reducer is one file per kind of event in
//! `chat/`: the socket and the session (`socket`), frames from the server
//! (`server`), and what the person does (`person`); what they share (a
//! room by name, the `join` and the `send`s of a room) is here.

mod person;
mod rooms;
mod server;
mod socket;

use super::{Connection, Membership, Room};
use crate::outbox::Outbox;
use crate::saved::Saved;
use common::{ClientFrame, Person, RoomName, UserId};

/// Everything the page shows, and what it takes to keep it right.
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    /// The signed-in account; `None` before signing in and once the
    /// session ended.
    me: Option<Person>,
    /// The account whose rooms, drafts and outbox these are: kept when the
    /// session ends, so that signing in again as the same person goes on
    /// where they were, and someone else starts from their own.
    owner: Option<UserId>,
    /// The session ended under the page (signed out elsewhere, the
    /// password changed, the account deactivated).
    session_ended: bool,
    rooms: Vec<Room>,
    active: Option<RoomName>,
    connection: Connection,
    /// The number of the open connection, while one is open.
    socket: Option<u64>,
    notice: Option<String>,
}

impl Chat {
    /// The state at page load: the signed-in account (if known yet), the
    /// remembered rooms, and the room to show (the one in the address),
    /// which is added to the rooms.
    pub fn new(me: Option<Person>, rooms: Vec<RoomName>, active: Option<RoomName>) -> Self {
        let mut chat = Self {
            owner: me.as_ref().map(|me| me.user_id),
            me,
            session_ended: false,
            rooms: Vec::new(),
            active: None,
            connection: Connection::Connecting,
            socket: None,
            notice: None,
        };
        for room in rooms {
            if chat.room(&room).is_none() {
                chat.rooms.push(Room::new(room));
            }
        }
        if let Some(room) = active {
            chat.open_room(room);
        }
        chat
    }

    /// The state of `me`'s from an earlier page ([`Chat::saved`]): their
    /// rooms with drafts and queued messages (sent once the rooms are
    /// joined), and the room to show (the address's, else the saved one).
    pub fn restored(me: Person, saved: Saved, active: Option<RoomName>) -> Self {
        let active = active.or(saved.active);
        let mut chat = Self::new(
            Some(me),
            saved.rooms.iter().map(|room| room.room.clone()).collect(),
            None,
        );
        for kept in saved.rooms {
            if let Some(room) = chat.room_mut(&kept.room) {
                room.draft = kept.draft;
                room.outbox = Outbox::restored(kept.outbox);
            }
        }
        if let Some(room) = active.or_else(|| chat.rooms.first().map(|room| room.name.clone())) {
            chat.open_room(room);
        }
        chat
    }

    /// What to keep for the next page of the same account: rooms, drafts
    /// and the outbox (never messages of others).
    pub fn saved(&self) -> Saved {
        Saved {
            rooms: self.rooms.iter().map(Room::saved).collect(),
            active: self.active.clone(),
        }
    }

    /// The signed-in account.
    pub fn me(&self) -> Option<&Person> {
        self.me.as_ref()
    }

    /// The account whose rooms, drafts and outbox these are (the last one
    /// signed in).
    pub fn owner(&self) -> Option<UserId> {
        self.owner
    }

    /// Whether the session ended under the page (the sign-in page says
    /// so).
    pub fn session_ended(&self) -> bool {
        self.session_ended
    }

    /// The rooms, in the order they were opened.
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// One room.
    pub fn room(&self, name: &RoomName) -> Option<&Room> {
        self.rooms.iter().find(|room| &room.name == name)
    }

    fn room_mut(&mut self, name: &RoomName) -> Option<&mut Room> {
        self.rooms.iter_mut().find(|room| &room.name == name)
    }

    /// The room shown.
    pub fn active(&self) -> Option<&RoomName> {
        self.active.as_ref()
    }

    /// The state of the connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The number of the open connection, while one is open: frames made
    /// for it must not go out on a later one.
    pub fn socket(&self) -> Option<u64> {
        self.socket
    }

    /// The last problem not about any room, in words.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether the page needs a connection: it is signed in and has a room
    /// to join. The server closes a connection that joins nothing in time,
    /// and refuses one without a session.
    pub fn wants_connection(&self) -> bool {
        self.me.is_some() && !self.rooms.is_empty()
    }

    /// No connection is needed for now (see [`Chat::wants_connection`]).
    pub fn idle(&mut self) {
        self.socket = None;
        self.connection = Connection::Idle;
    }

    /// Unread messages in all rooms.
    pub fn total_unread(&self) -> u32 {
        self.rooms.iter().map(|room| room.unread).sum()
    }

    fn join_frame(&mut self, room: &RoomName) -> Option<ClientFrame> {
        self.socket?;
        self.me.as_ref()?;
        let entry = self.room_mut(room)?;
        entry.membership = Membership::Joining;
        Some(ClientFrame::Join {
            room: room.clone(),
            since: entry.last_id(),
        })
    }

    fn sends(&mut self, room: &RoomName) -> Vec<ClientFrame> {
        let Some(socket) = self.socket else {
            return Vec::new();
        };
        let Some(entry) = self.room_mut(room) else {
            return Vec::new();
        };
        if entry.membership != Membership::Joined {
            return Vec::new();
        }
        entry
            .outbox
            .take_unsent(socket)
            .into_iter()
            .map(|(nonce, text)| ClientFrame::Send {
                room: room.clone(),
                text,
                nonce: Some(nonce),
            })
            .collect()
    }
}
