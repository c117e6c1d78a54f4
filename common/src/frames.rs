//! The frames of the WebSocket protocol. Each frame is one JSON object in a
//! text frame, told apart by its `type` field.

use crate::{DisplayName, ErrorCode, MessageText, Nonce, RoomName, ValidationError};
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
    /// Join `room` as `name`; answered by [`ServerFrame::Joined`].
    Join {
        /// The room to join.
        room: RoomName,
        /// The name to appear under in this room.
        name: DisplayName,
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
        name: String,
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
                let name =
                    DisplayName::parse(name).map_err(RequestError::invalid(Some(&room), None))?;
                Ok(ClientFrame::Join { room, name, since })
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

/// One stored chat message, as broadcast and as listed in histories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The room it was posted to.
    pub room: RoomName,
    /// Its id within the room.
    pub id: MessageId,
    /// The author's display name in the room.
    pub name: DisplayName,
    /// The text, as written.
    pub text: MessageText,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The nonce of the `send` that created it, as the author sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Nonce>,
}

/// The body of an `error` frame.
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
        /// The name the client joined under, as the server stored it (trimmed).
        name: DisplayName,
        /// The names of all members, the joiner included, in order of joining.
        members: Vec<DisplayName>,
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
    /// together come in one frame. Apply `left` (remove those names), then
    /// `joined` (add those names, at the end); both are idempotent.
    Presence {
        /// The room.
        room: RoomName,
        /// Names that joined, in order of joining.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        joined: Vec<DisplayName>,
        /// Names that left.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        left: Vec<DisplayName>,
    },
    /// Another member of a joined room is typing.
    Typing {
        /// The room.
        room: RoomName,
        /// Who is typing.
        name: DisplayName,
    },
    /// A request failed; the connection stays usable.
    Error(ErrorFrame),
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
