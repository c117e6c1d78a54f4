//! [`RoomsError`]: why a use case of [`super::Rooms`] refused or failed,
//! and, in one place ([`RoomsError::code`], [`RoomsError::status`]), the
//! [`ErrorCode`] and HTTP status each answer has.
//!
//! A private room's outsiders get [`RoomsError::NotFound`], the answer for
//! a room that does not exist, with the same words: nothing in an answer
//! tells the two apart.

use super::policy::Denial;
use crate::store::{ErrorKind, StoreError};
use axum::http::StatusCode;
use common::{ErrorCode, RoomError, ValidationError};

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    /// No such room (or one the caller may not know of), account, member
    /// or ban.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The caller sees the room but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The caller is banned from this public room, or the person named is
    /// (the words say which).
    #[error("{0}")]
    Banned(&'static str),
    /// The caller is muted in the room.
    #[error("you are muted in this room until {}", crate::audit::time_words(*until))]
    Muted {
        /// When the mute ends, in milliseconds since the Unix epoch.
        until: u64,
    },
    /// The room is archived: nobody posts, renames it or changes its topic
    /// or kind.
    #[error("this room is archived: it is read-only until its owner brings it back")]
    Archived,
    /// The caller, or the person named, is not a member (the words say).
    #[error("{0}")]
    NotMember(&'static str),
    /// A room of that name exists.
    #[error("a room of this name exists already")]
    RoomExists,
    /// A person is a member of [`crate::store::rooms::MAX_ROOMS_PER_PERSON`]
    /// rooms already.
    #[error("{0}")]
    TooManyRooms(&'static str),
    /// A title, topic, or direct conversation breaks its rule.
    #[error(transparent)]
    Invalid(#[from] RoomError),
    /// A room name breaks its rule.
    #[error(transparent)]
    InvalidValue(#[from] ValidationError),
    /// A request that makes no sense (a direct conversation made with
    /// `POST /api/rooms`, a mute of 0 minutes, …).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The store (or the room's hub) could not answer; the words say what
    /// to do.
    #[error("{0}")]
    Unavailable(&'static str),
}

impl RoomsError {
    /// The machine-readable code of the answer.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Banned(_) => ErrorCode::Banned,
            Self::Muted { .. } => ErrorCode::Muted,
            Self::Archived => ErrorCode::Archived,
            Self::NotMember(_) => ErrorCode::NotMember,
            Self::RoomExists => ErrorCode::RoomExists,
            Self::TooManyRooms(_) => ErrorCode::TooManyRooms,
            Self::Invalid(err) => err.code(),
            Self::InvalidValue(err) => err.code(),
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Unavailable(_) => ErrorCode::Unavailable,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self.code() {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Forbidden | ErrorCode::Banned | ErrorCode::Muted => StatusCode::FORBIDDEN,
            ErrorCode::Archived
            | ErrorCode::NotMember
            | ErrorCode::RoomExists
            | ErrorCode::TooManyRooms => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Seconds for a `Retry-After` header, for the answers that have one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        matches!(self, Self::Unavailable(_)).then_some(1)
    }
}

impl From<Denial> for RoomsError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::NotFound => Self::NotFound("room"),
            Denial::Forbidden(why) => Self::Forbidden(why),
            Denial::Banned => Self::Banned("you are banned from this room"),
            Denial::Muted { until } => Self::Muted { until },
            Denial::Archived => Self::Archived,
            Denial::NotMember => Self::NotMember("not a member of this room"),
        }
    }
}

impl From<StoreError> for RoomsError {
    fn from(err: StoreError) -> Self {
        match err.kind() {
            // The room, or the membership, went while the request was
            // answered (left, removed, banned at the same moment).
            ErrorKind::NotFound => Self::NotFound("room or member"),
            ErrorKind::Conflict => Self::RoomExists,
            _ => {
                tracing::error!(error = %err, "storage failed during a rooms request");
                Self::Unavailable("storage is unavailable; try again")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_has_its_code_and_status() {
        let cases = [
            (RoomsError::NotFound("room"), 404, "not_found"),
            (RoomsError::Forbidden("no"), 403, "forbidden"),
            (RoomsError::Banned("no"), 403, "banned"),
            (RoomsError::Muted { until: 0 }, 403, "muted"),
            (RoomsError::Archived, 409, "archived"),
            (RoomsError::NotMember("no"), 409, "not_member"),
            (RoomsError::RoomExists, 409, "room_exists"),
            (RoomsError::TooManyRooms("no"), 409, "too_many_rooms"),
            (
                RoomsError::Invalid(RoomError::TitleLength),
                400,
                "invalid_title",
            ),
            (
                RoomsError::Invalid(RoomError::DirectPrefix),
                400,
                "invalid_room",
            ),
            (RoomsError::BadRequest("no"), 400, "bad_request"),
            (RoomsError::Unavailable("busy"), 503, "unavailable"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.code().as_str(), code, "{err:?}");
        }
        assert_eq!(RoomsError::Unavailable("busy").retry_after_secs(), Some(1));
        assert_eq!(RoomsError::Archived.retry_after_secs(), None);
    }

    /// A private room's outsider and a missing room's caller read the same
    /// words.
    #[test]
    fn not_found_says_the_same_whatever_the_reason() {
        let denied = RoomsError::from(Denial::NotFound);
        assert_eq!(denied.to_string(), RoomsError::NotFound("room").to_string());
    }
}
