//! Rooms' values: what kind of room it is, what a member may do in it, and
//! the words people see for it.
//!
//! - [`RoomKind`]: public (listed, anyone signed in joins), private
//!   (members only; members add people) or direct (a conversation of
//!   [`DIRECT_MIN_PEOPLE`] to [`DIRECT_MAX_PEOPLE`] people, named after
//!   them).
//! - [`RoomRole`]: a member's place in one room: owner, moderator or
//!   member. An account's [`crate::Role`] is apart from it: an
//!   administrator may do in every room what an owner may.
//! - [`RoomTitle`] and [`RoomTopic`]: what people read for a room; its
//!   slug, the [`crate::RoomName`], stays what links and the protocol use.
//! - [`direct_room_name`]: the one slug of a direct conversation between
//!   given people, so that starting it again finds the same room.
//!
//! A rule broken is a [`RoomError`], whose text says the rule.

use crate::{ErrorCode, RoomName, UserId};
use serde::{Deserialize, Serialize};

/// Longest room title, in characters.
pub const TITLE_MAX_CHARS: usize = 64;
/// Longest room topic, in characters.
pub const TOPIC_MAX_CHARS: usize = 250;
/// Fewest people in a direct conversation (one person alone has notes,
/// not a conversation).
pub const DIRECT_MIN_PEOPLE: usize = 2;
/// Most people in a direct conversation, its starter included; a larger
/// group is a private room.
pub const DIRECT_MAX_PEOPLE: usize = 9;
/// How direct conversations' slugs begin; no other room may take one.
pub const DIRECT_PREFIX: &str = "dm-";

/// A rule that a room's value broke; the `Display` text says which, in
/// words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// A title has 1 to [`TITLE_MAX_CHARS`] characters once trimmed.
    #[error("the title must have 1 to {TITLE_MAX_CHARS} characters")]
    TitleLength,
    /// A topic has at most [`TOPIC_MAX_CHARS`] characters.
    #[error("the topic may have at most {TOPIC_MAX_CHARS} characters")]
    TopicTooLong,
    /// Titles and topics are one line of visible text.
    #[error("the {0} may not contain control characters or line breaks")]
    Control(&'static str),
    /// A direct conversation has [`DIRECT_MIN_PEOPLE`] to
    /// [`DIRECT_MAX_PEOPLE`] different people.
    #[error("a direct conversation has {DIRECT_MIN_PEOPLE} to {DIRECT_MAX_PEOPLE} people")]
    DirectPeople,
    /// Slugs starting with [`DIRECT_PREFIX`] belong to direct
    /// conversations.
    #[error("room names starting with \"dm-\" are kept for direct messages")]
    DirectPrefix,
    /// A name that is none of a [`RoomKind`]'s or [`RoomRole`]'s (`what`
    /// says which was expected).
    #[error("{value:?} is not a known {what}")]
    Unknown {
        /// What was expected: `room kind` or `room role`.
        what: &'static str,
        /// What was given.
        value: String,
    },
}

impl RoomError {
    /// The `error.code` a server answers with when a request breaks this
    /// rule.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TitleLength | Self::Control("title") => ErrorCode::InvalidTitle,
            Self::TopicTooLong | Self::Control(_) => ErrorCode::InvalidTopic,
            Self::DirectPrefix => ErrorCode::InvalidRoom,
            Self::DirectPeople | Self::Unknown { .. } => ErrorCode::BadRequest,
        }
    }
}

/// Who sees a room and how one gets in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Listed to everyone signed in; anyone signed in joins it.
    Public,
    /// Never listed to non-members; its history, members, presence and
    /// typing reach members only. Members add people.
    Private,
    /// A conversation of a fixed set of people, named after them; nobody
    /// joins or is added.
    Direct,
}
named_enum!(RoomKind, RoomError, "room kind", {
    Public => "public",
    Private => "private",
    Direct => "direct",
});

/// What a member may do in one room, from most to least.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomRole {
    /// Whoever made the room: renames it, changes its kind, archives it,
    /// names moderators, and moderates.
    Owner,
    /// Removes members, bans and mutes people.
    Moderator,
    /// Reads and posts.
    Member,
}
named_enum!(RoomRole, RoomError, "room role", {
    Owner => "owner",
    Moderator => "moderator",
    Member => "member",
});

impl RoomRole {
    /// Whether this role moderates: removes, bans and mutes members.
    pub fn moderates(self) -> bool {
        matches!(self, Self::Owner | Self::Moderator)
    }
}

/// A room's title: trimmed, 1 to [`TITLE_MAX_CHARS`] characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomTitle(String);

impl RoomTitle {
    /// Parses a title; surrounding whitespace is removed first.
    pub fn parse(raw: impl Into<String>) -> Result<Self, RoomError> {
        let raw = raw.into();
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > TITLE_MAX_CHARS {
            return Err(RoomError::TitleLength);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(RoomError::Control("title"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The title of a room that has none of its own: its slug.
    pub fn of_slug(room: &RoomName) -> Self {
        Self(room.as_str().to_owned())
    }

    /// The title as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A room's topic: trimmed, at most [`TOPIC_MAX_CHARS`] characters, one
/// line; empty when the room has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomTopic(String);

impl RoomTopic {
    /// Parses a topic; surrounding whitespace is removed first.
    pub fn parse(raw: impl Into<String>) -> Result<Self, RoomError> {
        let raw = raw.into();
        let trimmed = raw.trim();
        if trimmed.chars().count() > TOPIC_MAX_CHARS {
            return Err(RoomError::TopicTooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(RoomError::Control("topic"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The topic as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! room_string {
    ($type:ident) => {
        impl TryFrom<String> for $type {
            type Error = RoomError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.0
            }
        }
    };
}
room_string!(RoomTitle);
room_string!(RoomTopic);

/// Whether `room` is a direct conversation's slug; no other room may have
/// one.
pub fn is_direct_name(room: &RoomName) -> bool {
    room.as_str().starts_with(DIRECT_PREFIX)
}

/// The slug of the direct conversation between `people` (its starter
/// among them; the order and repeats do not matter): `dm-` and their
/// sorted ids joined by `-`, for example `dm-3-17`. One set of people has
/// one slug, so starting their conversation again finds the same room,
/// and the slug says who is in it.
///
/// An error when the set has fewer than [`DIRECT_MIN_PEOPLE`] or more than
/// [`DIRECT_MAX_PEOPLE`] different people, or when the ids make a slug
/// longer than a room name may be (ids of more than six digits in a group
/// of nine).
pub fn direct_room_name(people: &[UserId]) -> Result<(RoomName, Vec<UserId>), RoomError> {
    let mut sorted = people.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if !(DIRECT_MIN_PEOPLE..=DIRECT_MAX_PEOPLE).contains(&sorted.len()) {
        return Err(RoomError::DirectPeople);
    }
    let ids: Vec<String> = sorted.iter().map(UserId::to_string).collect();
    let slug = format!("{DIRECT_PREFIX}{}", ids.join("-"));
    let room = RoomName::parse(slug).map_err(|_| RoomError::DirectPeople)?;
    Ok((room, sorted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_conversation_has_one_slug_whatever_the_order() {
        let (room, people) = direct_room_name(&[17, 3, 17]).expect("two people");
        assert_eq!(room.as_str(), "dm-3-17");
        assert_eq!(people, vec![3, 17]);
        assert_eq!(direct_room_name(&[3, 17]).expect("same").0, room);
        assert!(is_direct_name(&room));
        assert!(!is_direct_name(&RoomName::parse("general").expect("valid")));
    }

    #[test]
    fn a_direct_conversation_has_two_to_nine_people() {
        assert_eq!(direct_room_name(&[5]), Err(RoomError::DirectPeople));
        assert_eq!(direct_room_name(&[5, 5]), Err(RoomError::DirectPeople));
        let nine: Vec<UserId> = (1..=9).collect();
        assert!(direct_room_name(&nine).is_ok());
        let ten: Vec<UserId> = (1..=10).collect();
        assert_eq!(direct_room_name(&ten), Err(RoomError::DirectPeople));
        // Nine ids of seven digits do not fit in a room name.
        let long: Vec<UserId> = (1_000_000..1_000_009).collect();
        assert_eq!(direct_room_name(&long), Err(RoomError::DirectPeople));
    }

    #[test]
    fn titles_and_topics_are_one_trimmed_line() {
        assert_eq!(
            RoomTitle::parse("  Team  ").expect("valid").as_str(),
            "Team"
        );
        assert_eq!(RoomTitle::parse("   "), Err(RoomError::TitleLength));
        assert_eq!(
            RoomTitle::parse("x".repeat(TITLE_MAX_CHARS + 1)),
            Err(RoomError::TitleLength)
        );
        assert_eq!(RoomTitle::parse("a\nb"), Err(RoomError::Control("title")));
        assert_eq!(RoomTopic::parse("").expect("empty is fine").as_str(), "");
        assert_eq!(
            RoomTopic::parse("é".repeat(TOPIC_MAX_CHARS + 1)),
            Err(RoomError::TopicTooLong)
        );
        assert_eq!(RoomTopic::parse("a\tb"), Err(RoomError::Control("topic")));
    }

    #[test]
    fn kinds_and_roles_read_back_their_names() {
        for kind in [RoomKind::Public, RoomKind::Private, RoomKind::Direct] {
            assert_eq!(kind.as_str().parse::<RoomKind>(), Ok(kind));
        }
        for role in [RoomRole::Owner, RoomRole::Moderator, RoomRole::Member] {
            assert_eq!(role.as_str().parse::<RoomRole>(), Ok(role));
        }
        assert!(matches!(
            "boss".parse::<RoomRole>(),
            Err(RoomError::Unknown {
                what: "room role",
                ..
            })
        ));
        assert!(RoomRole::Moderator.moderates() && !RoomRole::Member.moderates());
    }

    #[test]
    fn each_rule_has_its_error_code() {
        assert_eq!(RoomError::TitleLength.code(), ErrorCode::InvalidTitle);
        assert_eq!(RoomError::Control("title").code(), ErrorCode::InvalidTitle);
        assert_eq!(RoomError::Control("topic").code(), ErrorCode::InvalidTopic);
        assert_eq!(RoomError::TopicTooLong.code(), ErrorCode::InvalidTopic);
        assert_eq!(RoomError::DirectPrefix.code(), ErrorCode::InvalidRoom);
        assert_eq!(RoomError::DirectPeople.code(), ErrorCode::BadRequest);
    }
}
