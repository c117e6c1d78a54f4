//! The client's state and the reducer that moves it: every event (a frame
//! from the server, the socket opening or closing, something the person
//! did) is a method of [`Chat`] that updates the state and returns the
//! frames to send. Nothing here touches the browser, so host tests drive
//! whole conversations through it, reconnects included.
//!
//! Guarantees kept here:
//! - a message is shown once: messages are kept by id, and a second message
//!   with the same author and nonce (a resend the server stored twice) is
//!   dropped;
//! - nothing is missed: after a reconnect every room is joined again with
//!   `since` = the newest id seen, and a history with `has_older` (a gap
//!   larger than the server sends at once) replaces what was shown, with
//!   older pages to load;
//! - nothing written is lost: see [`crate::outbox`]; what is queued and
//!   drafted survives the session ending (the page signs in again and
//!   sends it) and, through [`Chat::saved`], a reload.
//!
//! People are accounts (protocol version 2): members, typing and one's own
//! messages are told apart by user id, never by display name, which is
//! neither unique nor fixed.

use crate::outbox::Outbox;
use crate::saved::{Saved, SavedRoom};
use common::api::MessagePage;
use common::{
    ChatMessage, ClientFrame, CloseCode, DisplayName, ErrorCode, ErrorFrame, MessageId,
    MessageText, Nonce, Person, RoomName, ServerFrame, UserId,
};
use std::collections::{BTreeMap, HashSet};

/// How long "… is typing" stays after the last `typing` frame, in
/// milliseconds. Senders repeat the frame every
/// [`crate::compose::TYPING_REPEAT_MS`] while they type, so this bridges
/// the gaps.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;

/// How long to wait before joining a room again after the server refused a
/// re-join for a reason that passes (the room briefly unavailable), in
/// milliseconds.
pub const REJOIN_DELAY_MS: u32 = 3_000;

/// How many times in a row such a re-join is tried before the person is
/// asked what to do: with [`REJOIN_DELAY_MS`], a minute, longer than the
/// server takes to notice a dead connection.
pub const REJOIN_ATTEMPTS: u32 = 20;

/// How long to wait before sending again the messages the server refused
/// as over its rate limit (`rate_limited`), in milliseconds: the server
/// refills its bucket at two messages per second by default.
pub const RESEND_DELAY_MS: u32 = 1_000;

/// What [`CloseCode::MessageTooBig`] makes of the messages that
/// were on their way: they are not sent again by themselves.
const TOO_BIG_REASON: &str = "the server refused this message as too big";

/// The state of the connection, as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The first attempt is under way.
    Connecting,
    /// The socket is open.
    Online,
    /// The connection was lost; the next attempt starts in this long.
    Offline {
        /// Milliseconds until the next attempt.
        retry_in_ms: u32,
    },
    /// The page closed the connection (it is being left or hidden).
    Closed,
    /// No connection is needed: not signed in, or no room open. The
    /// server closes connections that join nothing, so none is kept open.
    Idle,
}

/// Where this client stands in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Not joined: waiting for a connection, or for signing in.
    Waiting,
    /// The `join` is sent; waiting for `joined`.
    Joining,
    /// A member.
    Joined,
    /// The server refused the join, for this reason (in its words).
    Refused(String),
}

/// What the page must do besides sending frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send this frame on the current connection.
    Send(ClientFrame),
    /// Call [`Chat::rejoin`] for this room after [`REJOIN_DELAY_MS`].
    RejoinLater(RoomName),
    /// Call [`Chat::resend`] for this room after [`RESEND_DELAY_MS`].
    ResendLater(RoomName),
}

/// A frame from the server, decoded as far as this client understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A frame of the protocol this client knows.
    Frame(ServerFrame),
    /// An `error` frame, possibly with a code newer than this client: it is
    /// shown in the server's words.
    Error {
        /// The code, when this client knows it.
        code: Option<ErrorCode>,
        /// The server's explanation, fit for people.
        message: String,
        /// The room it is about.
        room: Option<RoomName>,
        /// The nonce of the refused `send`.
        nonce: Option<Nonce>,
    },
    /// A frame type newer than this client; ignored.
    Unknown,
}

impl Incoming {
    /// Decodes the text of a WebSocket frame from the server. Never fails:
    /// what cannot be understood becomes [`Incoming::Unknown`], or, for an
    /// `error` with an unknown code, an [`Incoming::Error`] without a code.
    ///
    /// It reads the `type` first and then the frame of that type, rather
    /// than through `ServerFrame`'s internally tagged `Deserialize`, which
    /// buffers every frame in serde's generic `Content` tree: the same
    /// frames (a test compares both on every kind), and about 25 KB less
    /// WebAssembly (9 KB gzip-compressed).
    pub fn decode(text: &str) -> Self {
        let Ok(Tag { kind }) = serde_json::from_str::<Tag>(text) else {
            return Self::Unknown;
        };
        let frame = match kind.as_str() {
            "joined" => serde_json::from_str::<JoinedBody>(text).map(|body| ServerFrame::Joined {
                room: body.room,
                you: body.you,
                members: body.members,
                history: body.history,
                has_older: body.has_older,
            }),
            "message" => serde_json::from_str::<ChatMessage>(text).map(ServerFrame::Message),
            "presence" => {
                serde_json::from_str::<PresenceBody>(text).map(|body| ServerFrame::Presence {
                    room: body.room,
                    joined: body.joined,
                    left: body.left,
                    updated: body.updated,
                })
            }
            "typing" => serde_json::from_str::<TypingBody>(text).map(|body| ServerFrame::Typing {
                room: body.room,
                user_id: body.user_id,
                name: body.name,
            }),
            "error" => {
                return match serde_json::from_str::<ErrorFrame>(text) {
                    Ok(error) => Self::Error {
                        code: Some(error.code),
                        message: error.message,
                        room: error.room,
                        nonce: error.nonce,
                    },
                    // A code newer than this client.
                    Err(_) => Self::decode_loosely(text),
                };
            }
            _ => return Self::Unknown,
        };
        frame.map_or(Self::Unknown, Self::Frame)
    }

    fn decode_loosely(text: &str) -> Self {
        /// The fields of an `error` frame, read without their rules.
        #[derive(serde::Deserialize)]
        struct LooseError {
            #[serde(rename = "type")]
            kind: String,
            message: Option<String>,
            room: Option<String>,
            nonce: Option<String>,
        }
        match serde_json::from_str::<LooseError>(text) {
            Ok(error) if error.kind == "error" => Self::Error {
                code: None,
                message: error
                    .message
                    .unwrap_or_else(|| "the server refused the request".into()),
                room: error.room.and_then(|room| RoomName::parse(room).ok()),
                nonce: error.nonce.and_then(|nonce| Nonce::parse(nonce).ok()),
            },
            _ => Self::Unknown,
        }
    }
}

/// The `type` of a server frame.
#[derive(serde::Deserialize)]
struct Tag {
    #[serde(rename = "type")]
    kind: String,
}

/// The fields of a `joined` frame ([`ServerFrame::Joined`]).
#[derive(serde::Deserialize)]
struct JoinedBody {
    room: RoomName,
    you: Person,
    members: Vec<Person>,
    history: Vec<ChatMessage>,
    has_older: bool,
}

/// The fields of a `presence` frame ([`ServerFrame::Presence`]).
#[derive(serde::Deserialize)]
struct PresenceBody {
    room: RoomName,
    #[serde(default)]
    joined: Vec<Person>,
    #[serde(default)]
    left: Vec<UserId>,
    #[serde(default)]
    updated: Vec<Person>,
}

/// The fields of a `typing` frame ([`ServerFrame::Typing`]).
#[derive(serde::Deserialize)]
struct TypingBody {
    room: RoomName,
    user_id: UserId,
    name: DisplayName,
}

/// One room this client is in, or wants to be in.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    name: RoomName,
    /// The account this client joined the room as (the `joined`'s `you`).
    me: Option<Person>,
    membership: Membership,
    messages: BTreeMap<MessageId, ChatMessage>,
    /// (author, nonce) of every message shown; see [`author_key`].
    nonces: HashSet<(String, String)>,
    outbox: Outbox,
    unread: u32,
    members: Vec<Person>,
    /// Who is typing (account, name shown), and until when (milliseconds
    /// since the epoch).
    typing: Vec<(UserId, DisplayName, f64)>,
    has_older: bool,
    loading_older: bool,
    notice: Option<String>,
    /// Whether a `joined` ever came for this room: re-joins use `since`.
    was_joined: bool,
    rejoin_attempts: u32,
    /// What was written in the message box and not sent yet.
    draft: String,
}

impl Room {
    fn new(name: RoomName) -> Self {
        Self {
            name,
            me: None,
            membership: Membership::Waiting,
            messages: BTreeMap::new(),
            nonces: HashSet::new(),
            outbox: Outbox::new(),
            unread: 0,
            members: Vec::new(),
            typing: Vec::new(),
            has_older: false,
            loading_older: false,
            notice: None,
            was_joined: false,
            rejoin_attempts: 0,
            draft: String::new(),
        }
    }

    /// What was written in the room's message box and not sent yet.
    pub fn draft(&self) -> &str {
        &self.draft
    }

    /// The room's name.
    pub fn name(&self) -> &RoomName {
        &self.name
    }

    /// The account this client is in the room as, once joined.
    pub fn me(&self) -> Option<&Person> {
        self.me.as_ref()
    }

    /// Where this client stands in the room.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The messages shown, oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &ChatMessage> + '_ {
        self.messages.values()
    }

    /// How many messages are shown.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// The newest message id seen: the `since` of a re-join.
    pub fn last_id(&self) -> Option<MessageId> {
        self.messages.last_key_value().map(|(id, _)| *id)
    }

    /// The messages written here and not confirmed yet.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Messages that came while the room was not shown.
    pub fn unread(&self) -> u32 {
        self.unread
    }

    /// The members, in the order they joined.
    pub fn members(&self) -> &[Person] {
        &self.members
    }

    /// Whether older messages can be loaded from the server.
    pub fn has_older(&self) -> bool {
        self.has_older
    }

    /// Whether older messages are being loaded.
    pub fn loading_older(&self) -> bool {
        self.loading_older
    }

    /// The last problem about this room, in words.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether the account `user_id` (a message's author, a member) is
    /// this client's. `None`, the author of a message from before
    /// accounts, is never anyone: a display name is not an identity (two
    /// people may share one, and anyone could take a free one then).
    pub fn is_me(&self, user_id: Option<UserId>) -> bool {
        matches!((&self.me, user_id), (Some(me), Some(id)) if me.user_id == id)
    }

    /// Who is typing at `now` (milliseconds since the epoch), in the order
    /// they started.
    pub fn typing(&self, now: f64) -> Vec<&DisplayName> {
        self.typing
            .iter()
            .filter(|(_, _, until)| *until > now)
            .map(|(_, name, _)| name)
            .collect()
    }

    /// Adds a message unless it is already shown; returns whether it is new.
    fn insert(&mut self, message: ChatMessage) -> bool {
        if self.messages.contains_key(&message.id) {
            return false;
        }
        if let Some(nonce) = &message.nonce {
            let key = (author_key(&message), nonce.as_str().to_owned());
            if !self.nonces.insert(key) {
                return false;
            }
        }
        self.messages.insert(message.id, message);
        true
    }

    fn clear_messages(&mut self) {
        self.messages.clear();
        self.nonces.clear();
    }

    fn stop_typing(&mut self, user_id: UserId) {
        self.typing.retain(|(typist, _, _)| *typist != user_id);
    }

    /// A `presence`: those who left go, then those who came are added at
    /// the end, then the updated are replaced where they are. Each step is
    /// idempotent.
    fn presence(&mut self, joined: Vec<Person>, left: &[UserId], updated: Vec<Person>) {
        self.members
            .retain(|member| !left.contains(&member.user_id));
        for person in joined {
            match self
                .members
                .iter_mut()
                .find(|member| member.user_id == person.user_id)
            {
                Some(member) => *member = person,
                None => self.members.push(person),
            }
        }
        for person in updated {
            if let Some(member) = self
                .members
                .iter_mut()
                .find(|member| member.user_id == person.user_id)
            {
                *member = person.clone();
            }
            for (typist, name, _) in &mut self.typing {
                if *typist == person.user_id {
                    *name = person.display_name.clone();
                }
            }
            if let Some(me) = self.me.as_mut().filter(|me| me.user_id == person.user_id) {
                *me = person;
            }
        }
        let members = &self.members;
        self.typing
            .retain(|(typist, _, _)| members.iter().any(|member| member.user_id == *typist));
    }

    /// What of the room is kept across reloads.
    fn saved(&self) -> SavedRoom {
        SavedRoom {
            room: self.name.clone(),
            draft: self.draft.clone(),
            outbox: self.outbox.saved(),
        }
    }
}

/// Who wrote a message, as a key: the account, or for a message from
/// before accounts, its name (which nobody can post under any more, so it
/// never collides with an account's key).
pub fn author_key(message: &ChatMessage) -> String {
    match message.user_id {
        Some(id) => format!("u{id}"),
        None => format!("n{}", message.name),
    }
}

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

    /// Connection number `socket` is open: join every room (with `since`
    /// where messages were seen).
    pub fn connected(&mut self, socket: u64) -> Vec<ClientFrame> {
        self.socket = Some(socket);
        self.connection = Connection::Online;
        self.notice = None;
        let names: Vec<RoomName> = self.rooms.iter().map(|room| room.name.clone()).collect();
        names
            .iter()
            .filter_map(|room| self.join_frame(room))
            .collect()
    }

    /// The connection was lost (or could not be opened). `retry_in_ms` is
    /// the wait before the next attempt, `None` when the page closed it on
    /// purpose; `close_code` is the server's close code, if it sent one.
    pub fn disconnected(&mut self, retry_in_ms: Option<u32>, close_code: Option<u16>) {
        let lost = self.socket.take();
        // Codes the protocol does not use (1006 for a broken connection,
        // say) are a connection lost like any other.
        let close_code = close_code.and_then(CloseCode::from_code);
        self.connection = match retry_in_ms {
            Some(retry_in_ms) => Connection::Offline { retry_in_ms },
            None => Connection::Closed,
        };
        if close_code == Some(CloseCode::SessionEnded) {
            // Reconnecting with the same cookie is refused: sign in again.
            // What was queued stays, to go out after that.
            self.session_ends();
        }
        for room in &mut self.rooms {
            if matches!(room.membership, Membership::Joined | Membership::Joining) {
                room.membership = Membership::Waiting;
            }
            room.typing.clear();
            room.loading_older = false;
            if let (Some(socket), Some(CloseCode::MessageTooBig)) = (lost, close_code) {
                room.outbox.fail_sent_on(socket, TOO_BIG_REASON);
            }
        }
    }

    /// The session ended: an API call answered 401, or the socket closed
    /// with [`CloseCode::SessionEnded`]. The page shows the sign-in page;
    /// rooms, drafts and the outbox stay for [`Chat::signed_in`].
    pub fn session_ends(&mut self) {
        if self.me.take().is_some() {
            self.session_ended = true;
        }
        for room in &mut self.rooms {
            room.membership = Membership::Waiting;
            room.typing.clear();
            room.loading_older = false;
        }
    }

    /// The person signed out: as [`Chat::session_ends`], without saying
    /// that the session ended by itself.
    pub fn signed_out(&mut self) {
        self.session_ends();
        self.session_ended = false;
    }

    /// `me` signed in (the owner of this state: see [`Chat::owner`]; a
    /// page for someone else starts from [`Chat::restored`]): every room
    /// not joined is joined, and what waited in the outbox goes out after
    /// each room's history.
    pub fn signed_in(&mut self, me: Person) -> Vec<ClientFrame> {
        self.owner = Some(me.user_id);
        self.me = Some(me);
        self.session_ended = false;
        let mut frames = Vec::new();
        let names: Vec<RoomName> = self.rooms.iter().map(|room| room.name.clone()).collect();
        for room in names {
            let join = self.room(&room).is_some_and(|entry| {
                matches!(
                    entry.membership,
                    Membership::Waiting | Membership::Refused(_)
                )
            });
            if join {
                if let Some(entry) = self.room_mut(&room) {
                    entry.membership = Membership::Waiting;
                    entry.notice = None;
                    entry.rejoin_attempts = 0;
                }
                frames.extend(self.join_frame(&room));
            }
        }
        frames
    }

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

    /// Leaves a room; another one is shown if it was shown.
    pub fn leave_room(&mut self, room: &RoomName) -> Vec<ClientFrame> {
        let Some(index) = self.rooms.iter().position(|entry| &entry.name == room) else {
            return Vec::new();
        };
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
        let was_in = matches!(entry.membership, Membership::Joined | Membership::Joining);
        if was_in && self.socket.is_some() {
            vec![ClientFrame::Leave { room: room.clone() }]
        } else {
            Vec::new()
        }
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

    /// The delay of a [`Command::ResendLater`] has passed: sends what the
    /// server refused as over its rate limit.
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

    /// The delay of a [`Command::RejoinLater`] has passed.
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

    /// Typing notices older than [`TYPING_SHOWN_MS`] at `now` are dropped.
    pub fn expire_typing(&mut self, now: f64) {
        for room in &mut self.rooms {
            room.typing.retain(|(_, _, until)| *until > now);
        }
    }

    /// A frame arrived; `now` is the time in milliseconds since the epoch.
    pub fn receive(&mut self, incoming: Incoming, now: f64) -> Vec<Command> {
        match incoming {
            Incoming::Frame(ServerFrame::Joined {
                room,
                you,
                members,
                history,
                has_older,
            }) => self
                .joined(room, you, members, history, has_older)
                .into_iter()
                .map(Command::Send)
                .collect(),
            Incoming::Frame(ServerFrame::Message(message)) => {
                self.message(message);
                Vec::new()
            }
            Incoming::Frame(ServerFrame::Presence {
                room,
                joined,
                left,
                updated,
            }) => {
                if let Some(entry) = self.room_mut(&room) {
                    entry.presence(joined, &left, updated);
                }
                Vec::new()
            }
            Incoming::Frame(ServerFrame::Typing {
                room,
                user_id,
                name,
            }) => {
                if let Some(entry) = self.room_mut(&room) {
                    // One's own other tabs type too; they are not news.
                    if !entry.is_me(Some(user_id)) {
                        entry.stop_typing(user_id);
                        entry.typing.push((user_id, name, now + TYPING_SHOWN_MS));
                    }
                }
                Vec::new()
            }
            Incoming::Frame(ServerFrame::Error(error)) => self.receive(
                Incoming::Error {
                    code: Some(error.code),
                    message: error.message,
                    room: error.room,
                    nonce: error.nonce,
                },
                now,
            ),
            Incoming::Error {
                code,
                message,
                room,
                nonce,
            } => self.error(code, message, room, nonce),
            // Rooms kept by the server: `decode` does not read these yet, so
            // they arrive as `Unknown`; the room list will follow them.
            Incoming::Frame(
                ServerFrame::Read { .. }
                | ServerFrame::Membership { .. }
                | ServerFrame::Muted { .. }
                | ServerFrame::RoomChanged { .. },
            )
            | Incoming::Unknown => Vec::new(),
        }
    }

    fn joined(
        &mut self,
        room: RoomName,
        you: Person,
        members: Vec<Person>,
        history: Vec<ChatMessage>,
        has_older: bool,
    ) -> Vec<ClientFrame> {
        let active = self.active.as_ref() == Some(&room);
        // A `joined` for a room left meanwhile: the `leave` follows it.
        let Some(entry) = self.room_mut(&room) else {
            return Vec::new();
        };
        let rejoin = entry.was_joined || !entry.messages.is_empty();
        if rejoin && has_older {
            // More was missed than one history holds: start from this
            // history and let older pages fill the gap, rather than show a
            // hole.
            entry.clear_messages();
        }
        if !rejoin || has_older {
            entry.has_older = has_older;
        }
        entry.me = Some(you);
        entry.members = members;
        entry.membership = Membership::Joined;
        entry.was_joined = true;
        entry.rejoin_attempts = 0;
        entry.notice = None;
        for message in history {
            if let Some(nonce) = &message.nonce {
                entry.outbox.confirm(nonce);
            }
            let mine = entry.is_me(message.user_id);
            if entry.insert(message) && rejoin && !active && !mine {
                entry.unread += 1;
            }
        }
        self.sends(&room)
    }

    fn message(&mut self, message: ChatMessage) {
        let active = self.active.as_ref() == Some(&message.room);
        let Some(entry) = self.room_mut(&message.room) else {
            return;
        };
        if let Some(nonce) = &message.nonce {
            entry.outbox.confirm(nonce);
        }
        if let Some(author) = message.user_id {
            entry.stop_typing(author);
        }
        let mine = entry.is_me(message.user_id);
        if entry.insert(message) && !active && !mine {
            entry.unread += 1;
        }
    }

    fn error(
        &mut self,
        code: Option<ErrorCode>,
        message: String,
        room: Option<RoomName>,
        nonce: Option<Nonce>,
    ) -> Vec<Command> {
        let Some(room) = room else {
            self.notice = Some(message);
            return Vec::new();
        };
        let Some(entry) = self.room_mut(&room) else {
            return Vec::new();
        };
        if let Some(nonce) = nonce {
            if code == Some(ErrorCode::RateLimited) && entry.outbox.requeue(&nonce) {
                // Not stored; the same nonce goes out again a little later.
                return vec![Command::ResendLater(room)];
            }
            if code == Some(ErrorCode::NotJoined) && entry.outbox.requeue(&nonce) {
                // Not stored: the server removed this client from the room
                // (while it was cut off from its cluster, say). The message
                // waits for the next join, with its
                // nonce; a rejoin is on its way unless one already is.
                if entry.membership == Membership::Joined && entry.rejoin_attempts < REJOIN_ATTEMPTS
                {
                    entry.rejoin_attempts += 1;
                    entry.membership = Membership::Waiting;
                    return vec![Command::RejoinLater(room)];
                }
                return Vec::new();
            }
            if !entry.outbox.fail(&nonce, message.clone()) {
                entry.notice = Some(message);
            }
            return Vec::new();
        }
        match code {
            Some(ErrorCode::AlreadyJoined) => Vec::new(),
            // Not for this client to fix by waiting: a newer (or older)
            // protocol, or no right to the room.
            Some(ErrorCode::ProtocolVersion | ErrorCode::Forbidden) => {
                entry.membership = Membership::Refused(message.clone());
                entry.notice = Some(message);
                Vec::new()
            }
            _ if entry.rejoin_attempts < REJOIN_ATTEMPTS
                && (matches!(code, Some(ErrorCode::Unavailable | ErrorCode::NotJoined))
                    || entry.membership == Membership::Joining) =>
            {
                // The join (or the room) failed on the server's side, or for
                // a reason this client does not know (a newer server, a rate
                // limit): joining again later may work.
                entry.rejoin_attempts += 1;
                entry.membership = Membership::Waiting;
                entry.notice = Some(message);
                vec![Command::RejoinLater(room)]
            }
            _ => {
                if entry.membership == Membership::Joining {
                    entry.membership = Membership::Refused(message.clone());
                }
                entry.notice = Some(message);
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests;
