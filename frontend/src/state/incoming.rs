//! A frame from the server, decoded as far as this client understands it:
//! read by its `type`, then as the frame of that type.

use common::{
    ChatMessage, DisplayName, ErrorCode, ErrorFrame, MemberState, MessageId, Nonce, Person,
    RoomKind, RoomName, RoomRole, RoomTitle, RoomTopic, ServerFrame, UserId,
};

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
        let Ok(Tag { kind }) = crate::json::from_str::<Tag>(text) else {
            return Self::Unknown;
        };
        let frame = match kind.as_str() {
            "joined" => crate::json::from_str::<JoinedBody>(text).map(|body| ServerFrame::Joined {
                room: body.room,
                you: body.you,
                members: body.members,
                history: body.history,
                has_older: body.has_older,
            }),
            "message" => crate::json::from_str::<ChatMessage>(text).map(ServerFrame::Message),
            "presence" => {
                crate::json::from_str::<PresenceBody>(text).map(|body| ServerFrame::Presence {
                    room: body.room,
                    joined: body.joined,
                    left: body.left,
                    updated: body.updated,
                })
            }
            "typing" => crate::json::from_str::<TypingBody>(text).map(|body| ServerFrame::Typing {
                room: body.room,
                user_id: body.user_id,
                name: body.name,
            }),
            "read" => crate::json::from_str::<ReadBody>(text).map(|body| ServerFrame::Read {
                room: body.room,
                last_read: body.last_read,
            }),
            "membership" => {
                crate::json::from_str::<MembershipBody>(text).map(|body| ServerFrame::Membership {
                    room: body.room,
                    state: body.state,
                    role: body.role,
                })
            }
            "muted" => crate::json::from_str::<MutedBody>(text).map(|body| ServerFrame::Muted {
                room: body.room,
                until: body.until,
            }),
            "room_changed" => crate::json::from_str::<RoomChangedBody>(text).map(|body| {
                ServerFrame::RoomChanged {
                    room: body.room,
                    kind: body.kind,
                    title: body.title,
                    topic: body.topic,
                    archived: body.archived,
                }
            }),
            "error" => {
                return match crate::json::from_str::<ErrorFrame>(text) {
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
        match crate::json::from_str::<LooseError>(text) {
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

/// The fields of a `read` frame ([`ServerFrame::Read`]).
#[derive(serde::Deserialize)]
struct ReadBody {
    room: RoomName,
    last_read: MessageId,
}

/// The fields of a `membership` frame ([`ServerFrame::Membership`]).
#[derive(serde::Deserialize)]
struct MembershipBody {
    room: RoomName,
    state: MemberState,
    #[serde(default)]
    role: Option<RoomRole>,
}

/// The fields of a `muted` frame ([`ServerFrame::Muted`]).
#[derive(serde::Deserialize)]
struct MutedBody {
    room: RoomName,
    #[serde(default)]
    until: Option<u64>,
}

/// The fields of a `room_changed` frame ([`ServerFrame::RoomChanged`]).
#[derive(serde::Deserialize)]
struct RoomChangedBody {
    room: RoomName,
    kind: RoomKind,
    #[serde(default)]
    title: Option<RoomTitle>,
    #[serde(default)]
    topic: RoomTopic,
    #[serde(default)]
    archived: bool,
}
