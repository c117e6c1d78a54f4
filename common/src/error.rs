//! The machine-readable codes of `error` frames and HTTP API errors.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a request failed. Sent as the `code` of an `error` frame, in
/// snake_case; the human-readable `message` beside it says more.
///
/// Clients should branch on the code, never on the message text.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON, has an unknown `type`, or misses a field.
    BadRequest,
    /// The frame is a kind the server does not accept (a binary frame).
    Unsupported,
    /// The room name breaks a rule of [`crate::RoomName`].
    InvalidRoom,
    /// The display name breaks a rule of [`crate::DisplayName`].
    InvalidName,
    /// Another member of the room already uses this name, or one that differs
    /// only in case or compatibility form (see [`crate::DisplayName::uniqueness_key`]).
    NameTaken,
    /// The message text is empty or only whitespace.
    EmptyText,
    /// The message text is longer than [`crate::values::TEXT_MAX_CHARS`].
    TooLong,
    /// The message text contains control characters other than tab and
    /// line breaks.
    InvalidText,
    /// The nonce breaks a rule of [`crate::Nonce`].
    InvalidNonce,
    /// The request names a room this connection has not joined.
    NotJoined,
    /// This connection is already a member of the room.
    AlreadyJoined,
    /// This connection is in as many rooms as the server allows, or the
    /// account is a member of as many rooms as it may be
    /// (`MAX_ROOMS_PER_PERSON`, HTTP 409); leave one first.
    TooManyRooms,
    /// This connection sent more than the server's rate limit allows; the
    /// request was dropped (a `send` was not stored). Wait and retry.
    RateLimited,
    /// The server could not do it right now (storage failure, shutting
    /// down); retrying later may work.
    Unavailable,
    /// Protocol version 2: the request needs a signed-in session or an API
    /// token, and it had none, or one that ended (HTTP 401).
    Unauthenticated,
    /// The caller is signed in but may not do this (HTTP 403): a member
    /// asking for administration, a bot for a password change, a request
    /// from a foreign `Origin`.
    Forbidden,
    /// A wrong username or password; which of the two is never said
    /// (HTTP 401).
    InvalidCredentials,
    /// The username breaks a rule of [`crate::account::Username`].
    InvalidUsername,
    /// The password breaks a rule of [`crate::account::Password`].
    InvalidPassword,
    /// Another account has this username, ignoring case (HTTP 409).
    UsernameTaken,
    /// No such account, session, token or invite (HTTP 404).
    NotFound,
    /// The setup, invite or reset link was used up, revoked or expired
    /// (HTTP 410).
    LinkInvalid,
    /// This server does not let people sign up this way (`--signup`;
    /// HTTP 403).
    SignupClosed,
    /// A request of protocol version 1 (a `join` with a `name`): version 2
    /// takes the name from the account.
    ProtocolVersion,
    /// The caller (or the person a request names) is not a member of the
    /// room, which the request needs: leaving or marking read a room one
    /// is not in, muting someone who is not in it (HTTP 409).
    NotMember,
    /// The caller is banned from this public room (HTTP 403). A banned
    /// person asking about a private room or a direct conversation gets
    /// [`ErrorCode::NotFound`], as anyone outside it does.
    Banned,
    /// The caller is muted in this room until the time the message says:
    /// they may read it but not post (HTTP 403).
    Muted,
    /// The room is archived: read-only, nobody posts, renames it or
    /// changes its topic or kind until it is un-archived (HTTP 409).
    Archived,
    /// A room of this name exists already (HTTP 409).
    RoomExists,
    /// The room title breaks a rule of [`crate::RoomTitle`].
    InvalidTitle,
    /// The room topic breaks a rule of [`crate::RoomTopic`].
    InvalidTopic,
}

impl ErrorCode {
    /// The code as it appears on the wire, for example `"name_taken"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unsupported => "unsupported",
            Self::InvalidRoom => "invalid_room",
            Self::InvalidName => "invalid_name",
            Self::NameTaken => "name_taken",
            Self::EmptyText => "empty_text",
            Self::TooLong => "too_long",
            Self::InvalidText => "invalid_text",
            Self::InvalidNonce => "invalid_nonce",
            Self::NotJoined => "not_joined",
            Self::AlreadyJoined => "already_joined",
            Self::TooManyRooms => "too_many_rooms",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidUsername => "invalid_username",
            Self::InvalidPassword => "invalid_password",
            Self::UsernameTaken => "username_taken",
            Self::NotFound => "not_found",
            Self::LinkInvalid => "link_invalid",
            Self::SignupClosed => "signup_closed",
            Self::ProtocolVersion => "protocol_version",
            Self::NotMember => "not_member",
            Self::Banned => "banned",
            Self::Muted => "muted",
            Self::Archived => "archived",
            Self::RoomExists => "room_exists",
            Self::InvalidTitle => "invalid_title",
            Self::InvalidTopic => "invalid_topic",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
