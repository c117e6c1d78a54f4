//! Validated values: the only way to get one is to parse it, so holding one
//! proves it follows its rules.
//!
//! Lengths are counted in Unicode scalar values (Rust `char`s), not bytes,
//! so a limit means the same to a person typing in any script.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest room name, in characters.
pub const ROOM_MAX_CHARS: usize = 64;
/// Longest display name after trimming, in characters.
pub const NAME_MAX_CHARS: usize = 32;
/// Longest message text, in characters.
pub const TEXT_MAX_CHARS: usize = 4_000;
/// Longest client-chosen nonce, in characters.
pub const NONCE_MAX_CHARS: usize = 64;

/// A rule that a value broke. Each rule maps to one [`ErrorCode`] through
/// [`ValidationError::code`]; the `Display` text is the human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A room name must not be empty.
    #[error("the room name is empty")]
    RoomEmpty,
    /// A room name has at most [`ROOM_MAX_CHARS`] characters.
    #[error("the room name is longer than {ROOM_MAX_CHARS} characters")]
    RoomTooLong,
    /// A room name uses only `a-z`, `0-9`, `-` and `_`.
    #[error("the room name may only contain a-z, 0-9, '-' and '_'")]
    RoomCharacters,
    /// A display name must not be empty after trimming.
    #[error("the name is empty")]
    NameEmpty,
    /// A display name has at most [`NAME_MAX_CHARS`] characters after trimming.
    #[error("the name is longer than {NAME_MAX_CHARS} characters")]
    NameTooLong,
    /// A display name contains no control characters.
    #[error("the name contains control characters")]
    NameControl,
    /// A message text must contain something other than whitespace.
    #[error("the message is empty")]
    TextEmpty,
    /// A message text has at most [`TEXT_MAX_CHARS`] characters.
    #[error("the message is longer than {TEXT_MAX_CHARS} characters")]
    TextTooLong,
    /// A nonce has 1 to [`NONCE_MAX_CHARS`] characters.
    #[error("the nonce must have 1 to {NONCE_MAX_CHARS} characters")]
    NonceLength,
}

impl ValidationError {
    /// The `error.code` a server answers with when a request breaks this rule.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RoomEmpty | Self::RoomTooLong | Self::RoomCharacters => ErrorCode::InvalidRoom,
            Self::NameEmpty | Self::NameTooLong | Self::NameControl => ErrorCode::InvalidName,
            Self::TextEmpty => ErrorCode::EmptyText,
            Self::TextTooLong => ErrorCode::TooLong,
            Self::NonceLength => ErrorCode::InvalidNonce,
        }
    }
}

/// Implements the plumbing every validated string shares: reading it back,
/// printing it, and (de)serializing it as a plain JSON string that is parsed
/// on the way in.
macro_rules! validated_string {
    ($type:ident) => {
        impl $type {
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $type {
            type Error = ValidationError;
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

/// A room name: 1 to [`ROOM_MAX_CHARS`] characters of `a-z 0-9 - _`.
///
/// Room names are not case-folded: `Lobby` is rejected rather than quietly
/// turned into `lobby`, so a link always names exactly one room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);
validated_string!(RoomName);

impl RoomName {
    /// Parses a room name.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        if raw.is_empty() {
            return Err(ValidationError::RoomEmpty);
        }
        // Every allowed character is ASCII, so bytes are characters here.
        if !raw
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
        {
            return Err(ValidationError::RoomCharacters);
        }
        if raw.len() > ROOM_MAX_CHARS {
            return Err(ValidationError::RoomTooLong);
        }
        Ok(Self(raw))
    }
}

/// A display name: trimmed, 1 to [`NAME_MAX_CHARS`] characters, no control
/// characters. Two names are the same member name when their
/// [`DisplayName::uniqueness_key`]s are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);
validated_string!(DisplayName);

impl DisplayName {
    /// Parses a display name; surrounding whitespace is removed first.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::NameEmpty);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::NameControl);
        }
        if trimmed.chars().count() > NAME_MAX_CHARS {
            return Err(ValidationError::NameTooLong);
        }
        let name = if trimmed.len() == raw.len() {
            raw
        } else {
            trimmed.to_owned()
        };
        Ok(Self(name))
    }

    /// The form under which names must be unique within a room: names that
    /// differ only in case (`Ann`, `ANN`) share a key.
    pub fn uniqueness_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The text of a message: not empty or only whitespace, at most
/// [`TEXT_MAX_CHARS`] characters. Kept exactly as written, line breaks and
/// surrounding spaces included.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageText(String);
validated_string!(MessageText);

impl MessageText {
    /// Parses a message text.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        if raw.trim().is_empty() {
            return Err(ValidationError::TextEmpty);
        }
        // Cheap bound first: a string of at most TEXT_MAX_CHARS bytes cannot
        // have more characters than that, so only longer ones are counted.
        if raw.len() > TEXT_MAX_CHARS && raw.chars().count() > TEXT_MAX_CHARS {
            return Err(ValidationError::TextTooLong);
        }
        Ok(Self(raw))
    }
}

/// A client-chosen token, 1 to [`NONCE_MAX_CHARS`] characters, that the
/// server echoes back on the `message` it creates from a `send`, so a
/// client can match its pending messages with their confirmations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nonce(String);
validated_string!(Nonce);

impl Nonce {
    /// Parses a nonce.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        let chars = raw.chars().count();
        if chars == 0 || chars > NONCE_MAX_CHARS {
            return Err(ValidationError::NonceLength);
        }
        Ok(Self(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of<T: fmt::Debug>(result: Result<T, ValidationError>) -> ErrorCode {
        result.expect_err("the value should be rejected").code()
    }

    #[test]
    fn room_accepts_every_allowed_character_up_to_the_limit() {
        assert!(RoomName::parse("lobby").is_ok());
        assert!(RoomName::parse("a-z_0-9").is_ok());
        assert!(RoomName::parse("x".repeat(ROOM_MAX_CHARS)).is_ok());
    }

    #[test]
    fn room_rule_empty() {
        assert_eq!(RoomName::parse(""), Err(ValidationError::RoomEmpty));
        assert_eq!(code_of(RoomName::parse("")), ErrorCode::InvalidRoom);
    }

    #[test]
    fn room_rule_length() {
        let long = "x".repeat(ROOM_MAX_CHARS + 1);
        assert_eq!(RoomName::parse(long), Err(ValidationError::RoomTooLong));
    }

    #[test]
    fn room_rule_characters() {
        for bad in ["Lobby", "a b", "café", "a.b", "a/b", "lobby\n", "é"] {
            assert_eq!(
                RoomName::parse(bad),
                Err(ValidationError::RoomCharacters),
                "{bad:?}"
            );
        }
        assert_eq!(code_of(RoomName::parse("A")), ErrorCode::InvalidRoom);
    }

    #[test]
    fn name_is_trimmed() {
        assert_eq!(
            DisplayName::parse("  Ann \t").map(String::from),
            Ok("Ann".to_owned())
        );
    }

    #[test]
    fn name_rule_empty_after_trimming() {
        assert_eq!(DisplayName::parse("   "), Err(ValidationError::NameEmpty));
        assert_eq!(code_of(DisplayName::parse("")), ErrorCode::InvalidName);
    }

    #[test]
    fn name_rule_length_counts_characters_after_trimming() {
        let max = "é".repeat(NAME_MAX_CHARS);
        assert!(DisplayName::parse(format!("  {max}  ")).is_ok());
        let long = "é".repeat(NAME_MAX_CHARS + 1);
        assert_eq!(DisplayName::parse(long), Err(ValidationError::NameTooLong));
        assert_eq!(
            code_of(DisplayName::parse("n".repeat(33))),
            ErrorCode::InvalidName
        );
    }

    #[test]
    fn name_rule_no_control_characters() {
        for bad in ["a\u{0}b", "a\nb", "a\u{7f}", "a\u{1b}[31m"] {
            assert_eq!(
                DisplayName::parse(bad),
                Err(ValidationError::NameControl),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn name_uniqueness_ignores_case() {
        let a = DisplayName::parse("Ann").expect("valid");
        let b = DisplayName::parse("aNN").expect("valid");
        assert_eq!(a.uniqueness_key(), b.uniqueness_key());
        let c = DisplayName::parse("Anna").expect("valid");
        assert_ne!(a.uniqueness_key(), c.uniqueness_key());
    }

    #[test]
    fn text_is_kept_as_written() {
        let text = MessageText::parse(" two\nlines ").expect("valid");
        assert_eq!(text.as_str(), " two\nlines ");
    }

    #[test]
    fn text_rule_not_empty() {
        for bad in ["", " ", "\n\t "] {
            assert_eq!(
                MessageText::parse(bad),
                Err(ValidationError::TextEmpty),
                "{bad:?}"
            );
        }
        assert_eq!(code_of(MessageText::parse("")), ErrorCode::EmptyText);
    }

    #[test]
    fn text_rule_length_counts_characters() {
        assert!(MessageText::parse("ü".repeat(TEXT_MAX_CHARS)).is_ok());
        let long = "ü".repeat(TEXT_MAX_CHARS + 1);
        assert_eq!(MessageText::parse(long), Err(ValidationError::TextTooLong));
        assert_eq!(
            code_of(MessageText::parse("x".repeat(4_001))),
            ErrorCode::TooLong
        );
    }

    #[test]
    fn nonce_rule_length() {
        assert!(Nonce::parse("n".repeat(NONCE_MAX_CHARS)).is_ok());
        assert_eq!(Nonce::parse(""), Err(ValidationError::NonceLength));
        assert_eq!(
            Nonce::parse("n".repeat(NONCE_MAX_CHARS + 1)),
            Err(ValidationError::NonceLength)
        );
        assert_eq!(code_of(Nonce::parse("")), ErrorCode::InvalidNonce);
    }

    #[test]
    fn deserializing_applies_the_rules() {
        assert!(serde_json::from_str::<RoomName>("\"Lobby\"").is_err());
        let name: DisplayName = serde_json::from_str("\" Ann \"").expect("valid");
        assert_eq!(name.as_str(), "Ann");
    }
}
