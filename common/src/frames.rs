//! The frames of the WebSocket protocol. Each frame is one JSON object in a
//! text frame, told apart by its `type` field.

use crate::account::{UserId, Username};
use crate::{
    DisplayName, ErrorCode, MessageText, Nonce, RoomKind, RoomName, RoomRole, RoomTitle, RoomTopic,
    ValidationError,
};
use serde::{Deserialize, Serialize};

/// A message id: strictly increasing within a room, never reused, stable
/// across restarts. The first message of a room has id 1.
pub type MessageId = u64;

/// A frame a client sends to the server.
///
/// Deserializing one applies every validation rule; [`ClientFrame::decode`]
/// does the same and says which [`ErrorCode`] a failure maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawClientFrame")]
pub enum ClientFrame {
    /// Join `room` as the signed-in account; answered by
    /// [`ServerFrame::Joined`]. The name shown is the account's display
    /// name: version 2 has no `name` field (one gets
    /// [`ErrorCode::ProtocolVersion`]).
    Join {
        /// The room to join.
        room: RoomName,
        /// The last message id this client has seen in the room; the join's
        /// history then holds the messages after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<MessageId>,
    },
    /// Post `text` to a joined room.
    Send {
        /// The room to post to.
        room: RoomName,
        /// The message text.
        text: MessageText,
        /// Echoed back on the resulting [`ServerFrame::Message`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<Nonce>,
    },
    /// Leave a joined room.
    Leave {
        /// The room to leave.
        room: RoomName,
    },
    /// Tell the other members of a joined room that this client is typing.
    Typing {
        /// The room in which the client types.
        room: RoomName,
    },
}

impl ClientFrame {
    /// Decodes the text of one WebSocket frame.
    ///
    /// Text that is not a JSON object of a known `type` with all its fields
    /// fails with [`ErrorCode::BadRequest`]; a field that breaks a rule fails
    /// with that rule's code. The error carries the frame's room and nonce
    /// when they are valid, so a client can tell which request failed.
    pub fn decode(text: &str) -> Result<Self, RequestError> {
        let raw: RawClientFrame = serde_json::from_str(text).map_err(|err| RequestError {
            code: ErrorCode::BadRequest,
            message: format!("malformed frame: {err}"),
            room: None,
            nonce: None,
        })?;
        raw.parse()
    }

    /// The room this frame is about.
    pub fn room(&self) -> &RoomName {
        match self {
            Self::Join { room, .. }
            | Self::Send { room, .. }
            | Self::Leave { room }
            | Self::Typing { room } => room,
        }
    }

    /// Encodes the frame as the text of a WebSocket frame.
    pub fn encode(&self) -> String {
        encode_json(self)
    }
}

/// A client frame as it arrives, before its fields are validated.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RawClientFrame {
    Join {
        room: String,
        /// Version 1's field: present only to be refused in words.
        #[serde(default)]
        name: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        since: Option<MessageId>,
    },
    Send {
        room: String,
        text: String,
        #[serde(default)]
        nonce: Option<String>,
    },
    Leave {
        room: String,
    },
    Typing {
        room: String,
    },
}

impl RawClientFrame {
    fn parse(self) -> Result<ClientFrame, RequestError> {
        match self {
            Self::Join { room, name, since } => {
                let room = RoomName::parse(room).map_err(RequestError::invalid(None, None))?;
                if name.is_some() {
                    return Err(
                        RequestError::new(ErrorCode::ProtocolVersion, JOIN_NAME_REMOVED)
                            .about(&room, None),
                    );
                }
                Ok(ClientFrame::Join { room, since })
            }
            Self::Send { room, text, nonce } => {
                let room = RoomName::parse(room).map_err(RequestError::invalid(None, None))?;
                let nonce = nonce
                    .map(Nonce::parse)
                    .transpose()
                    .map_err(RequestError::invalid(Some(&room), None))?;
                let text = MessageText::parse(text)
                    .map_err(RequestError::invalid(Some(&room), nonce.as_ref()))?;
                Ok(ClientFrame::Send { room, text, nonce })
            }
            Self::Leave { room } => {
                let room = RoomName::parse(room).map_err(RequestError::invalid(None, None))?;
                Ok(ClientFrame::Leave { room })
            }
            Self::Typing { room } => {
                let room = RoomName::parse(room).map_err(RequestError::invalid(None, None))?;
                Ok(ClientFrame::Typing { room })
            }
        }
    }
}

impl TryFrom<RawClientFrame> for ClientFrame {
    type Error = RequestError;
    fn try_from(raw: RawClientFrame) -> Result<Self, Self::Error> {
        raw.parse()
    }
}

/// The message of the error a version-1 `join` (one with a `name`) gets.
pub const JOIN_NAME_REMOVED: &str = "protocol version 2: `join` no longer carries a name; \
     you appear under your account's display name (sign in first, and leave `name` out)";

/// Why a client frame could not be carried out; becomes an `error` frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RequestError {
    /// The machine-readable reason.
    pub code: ErrorCode,
    /// The human-readable reason.
    pub message: String,
    /// The room of the failed request, when it named a valid one.
    pub room: Option<RoomName>,
    /// The nonce of the failed `send`, when it had a valid one.
    pub nonce: Option<Nonce>,
}

impl RequestError {
    /// An error with a code and a message, about no particular room.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            room: None,
            nonce: None,
        }
    }

    /// Says which room (and `send` nonce) the failed request was about.
    pub fn about(mut self, room: &RoomName, nonce: Option<&Nonce>) -> Self {
        self.room = Some(room.clone());
        self.nonce = nonce.cloned();
        self
    }

    fn invalid(
        room: Option<&RoomName>,
        nonce: Option<&Nonce>,
    ) -> impl FnOnce(ValidationError) -> Self {
        let room = room.cloned();
        let nonce = nonce.cloned();
        move |err| Self {
            code: err.code(),
            message: err.to_string(),
            room,
            nonce,
        }
    }
}

/// An account as rooms show it: in member lists, presence and typing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// The account's number: what identifies the person.
    pub user_id: UserId,
    /// The account's username (unique, never changes).
    pub username: Username,
    /// The name shown: the account's display name, which may change (a
    /// `presence` frame's `updated` says so).
    pub display_name: DisplayName,
}

/// One stored chat message, as broadcast and as listed in histories.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The room it was posted to.
    pub room: RoomName,
    /// Its id within the room.
    pub id: MessageId,
    /// The author's display name when the message was posted.
    pub name: DisplayName,
    /// The author's account. Absent on messages written before accounts
    /// (protocol version 1): their author is only a name, and clients show
    /// them as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// The author's username; absent exactly when `user_id` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Username>,
    /// The text, as written.
    pub text: MessageText,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The nonce of the `send` that created it, as the author sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Nonce>,
}

/// The body of an `error` frame.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// The machine-readable reason.
    pub code: ErrorCode,
    /// The human-readable reason, fit to show to a person.
    pub message: String,
    /// The room of the failed request, when it named a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomName>,
    /// The nonce of the failed `send`, when it had a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Nonce>,
}

impl From<RequestError> for ErrorFrame {
    fn from(err: RequestError) -> Self {
        Self {
            code: err.code,
            message: err.message,
            room: err.room,
            nonce: err.nonce,
        }
    }
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to a successful `join`.
    Joined {
        /// The room joined.
        room: RoomName,
        /// The account the client joined as.
        you: Person,
        /// The people in the room, the joiner included, each once however
        /// many connections they have in it, in order of joining.
        members: Vec<Person>,
        /// Recent messages, oldest first: the last ones of the room, or with
        /// `since`, the ones after it.
        history: Vec<ChatMessage>,
        /// True when older messages in the requested range were left out of
        /// `history` by its cap; fetch them with
        /// `GET /api/rooms/{room}/messages?before={history[0].id}`.
        has_older: bool,
    },
    /// A new message in a joined room, sent to every member, its author included.
    Message(ChatMessage),
    /// The members of a joined room changed since the last `presence` (or
    /// the `joined`) this client got for it. Changes that happen close
    /// together come in one frame. Apply `left` (remove those people),
    /// then `joined` (add them, at the end), then `updated` (replace the
    /// person of that `user_id` in place); each is idempotent.
    Presence {
        /// The room.
        room: RoomName,
        /// People who joined, in order of joining.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        joined: Vec<Person>,
        /// The accounts of people who left (their last connection in the
        /// room did).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        left: Vec<UserId>,
        /// Members who changed their display name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        updated: Vec<Person>,
    },
    /// Another member of a joined room is typing.
    Typing {
        /// The room.
        room: RoomName,
        /// Who is typing.
        user_id: UserId,
        /// Their display name.
        name: DisplayName,
    },
    /// A request failed; the connection stays usable.
    Error(ErrorFrame),
    /// The person read `room` up to `last_read`, here or on another of
    /// their connections or devices: its unread count is what came after.
    /// Sent to every connection of the person, in the room or not.
    Read {
        /// The room.
        room: RoomName,
        /// The newest message id they have read.
        last_read: MessageId,
    },
    /// The person's membership of `room` changed. Sent to every connection
    /// of the person, in the room or not, so that every device's room list
    /// follows. A connection in the room that is no longer a member has
    /// left it when this arrives: nothing more of the room reaches it.
    Membership {
        /// The room.
        room: RoomName,
        /// What they are now.
        state: MemberState,
        /// Their role, when a member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<RoomRole>,
    },
    /// A moderator muted the person in `room` until `until`, or lifted
    /// the mute (`until` absent). Sent to every connection of the person.
    Muted {
        /// The room.
        room: RoomName,
        /// When the mute ends, in milliseconds since the Unix epoch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
    },
    /// A joined room's settings changed. Sent to the connections in the
    /// room.
    RoomChanged {
        /// The room.
        room: RoomName,
        /// Its kind now.
        kind: RoomKind,
        /// Its title, when it has one besides its slug.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<RoomTitle>,
        /// Its topic, empty when none.
        topic: RoomTopic,
        /// Whether it is archived: readable, nobody posts.
        archived: bool,
    },
}

/// What a person is to a room, in a [`ServerFrame::Membership`] frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// A member (newly, or with a new role).
    Member,
    /// They left.
    Left,
    /// A moderator removed them; they may join again (a public room) or
    /// be added again.
    Removed,
    /// A moderator banned them: they cannot come back until unbanned.
    Banned,
}

impl ServerFrame {
    /// Encodes the frame as the text of a WebSocket frame.
    pub fn encode(&self) -> String {
        encode_json(self)
    }

    /// Decodes the text of a WebSocket frame sent by a server.
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl From<RequestError> for ServerFrame {
    fn from(err: RequestError) -> Self {
        Self::Error(err.into())
    }
}

fn encode_json(value: &impl Serialize) -> String {
    // Serializing these types cannot fail: every field is a string, a number,
    // a bool, or a sequence or map of those with string keys.
    serde_json::to_string(value).unwrap_or_else(|err| unreachable!("frame encoding failed: {err}"))
}
