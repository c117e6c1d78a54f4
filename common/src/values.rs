//! Validated values: the only way to get one is to parse it, so holding one
//! proves it follows its rules.
//!
//! Lengths are counted in Unicode scalar values (Rust `char`s), not bytes,
//! so a limit means the same to a person typing in any script.

use crate::text::NameText;
use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

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
    /// A display name contains no invisible characters (zero-width spaces
    /// and joiners, direction overrides, fillers, tags): two names that
    /// look the same must be the same name.
    #[error("the name contains invisible characters")]
    NameInvisible,
    /// A message text must contain something other than whitespace.
    #[error("the message is empty")]
    TextEmpty,
    /// A message text has at most [`TEXT_MAX_CHARS`] characters.
    #[error("the message is longer than {TEXT_MAX_CHARS} characters")]
    TextTooLong,
    /// A message text contains no control characters other than tab, line
    /// feed and carriage return.
    #[error("the message contains control characters")]
    TextControl,
    /// A nonce has 1 to [`NONCE_MAX_CHARS`] characters.
    #[error("the nonce must have 1 to {NONCE_MAX_CHARS} characters")]
    NonceLength,
}

impl ValidationError {
    /// The `error.code` a server answers with when a request breaks this rule.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RoomEmpty | Self::RoomTooLong | Self::RoomCharacters => ErrorCode::InvalidRoom,
            Self::NameEmpty | Self::NameTooLong | Self::NameControl | Self::NameInvisible => {
                ErrorCode::InvalidName
            }
            Self::TextEmpty => ErrorCode::EmptyText,
            Self::TextTooLong => ErrorCode::TooLong,
            Self::TextControl => ErrorCode::InvalidText,
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
                value.0.into()
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
/// or invisible characters. Two names are the same member name when their
/// [`DisplayName::uniqueness_key`]s are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(NameText);
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
        if trimmed.chars().any(is_invisible) {
            return Err(ValidationError::NameInvisible);
        }
        if trimmed.chars().count() > NAME_MAX_CHARS {
            return Err(ValidationError::NameTooLong);
        }
        let name = if trimmed.len() == raw.len() {
            NameText::from(raw)
        } else {
            NameText::from(trimmed)
        };
        Ok(Self(name))
    }

    /// The form under which names must be unique within a room. Names that
    /// a reader could take for one another share a key: they are compared
    /// after compatibility normalization (NFKC: `Ａｎｎ` and `ﬁ` become
    /// `Ann` and `fi`) and full case folding (`ANN`, `ann`; `STRASSE`,
    /// `straße`), with runs of spaces collapsed and emoji variation
    /// selectors dropped.
    ///
    /// Look-alikes across scripts (Latin `a`, Cyrillic `а`) are not merged;
    /// that needs the Unicode confusables table.
    pub fn uniqueness_key(&self) -> String {
        let normalized: String = self.0.nfkc().collect();
        let folded: String = fold_case(&fold_case(&normalized))
            .nfkc()
            .filter(|c| !is_variation_selector(*c))
            .collect();
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// One round of case folding: upper case, then lower case, with the
/// standard library's tables (so it knows every character the rest of the
/// program does). Upper-casing first merges what lower-casing alone keeps
/// apart (`ß` becomes `SS`, then `ss`); a second round catches the few
/// whose upper case is itself a lower-case form in waiting (`ẞ` → `ß` →
/// `ss`).
fn fold_case(text: &str) -> String {
    text.to_uppercase().to_lowercase()
}

/// Characters that show nothing (or only change how neighbours show) and
/// so let two different names look identical: Unicode's format characters
/// and default-ignorable code points, and the Hangul and Braille blanks.
/// Emoji variation selectors are allowed (they appear in ordinary emoji)
/// and ignored by [`DisplayName::uniqueness_key`].
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                   // soft hyphen
        | '\u{034F}'                 // combining grapheme joiner
        | '\u{061C}'                 // Arabic letter mark
        | '\u{115F}' | '\u{1160}'    // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'    // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'    // Mongolian selectors and separator
        | '\u{200B}'..='\u{200F}'    // zero-width space, (non-)joiner, direction marks
        | '\u{202A}'..='\u{202E}'    // direction embeddings and overrides
        | '\u{2060}'..='\u{206F}'    // word joiner, invisible operators, isolates
        | '\u{2800}'                 // Braille blank
        | '\u{3164}' | '\u{FFA0}'    // Hangul fillers
        | '\u{FEFF}'                 // zero-width no-break space
        | '\u{FFF0}'..='\u{FFFB}'    // specials and interlinear annotations
        | '\u{1BCA0}'..='\u{1BCA3}'  // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}'  // musical format controls
        | '\u{E0000}'..='\u{E0FFF}'  // tags and variation selectors supplement
    )
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}')
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
        // Line breaks and tabs are text; other control characters (escape
        // sequences, NUL, backspace) only ever serve to confuse a display.
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ValidationError::TextControl);
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
    fn name_rule_no_invisible_characters() {
        for bad in [
            "An\u{200B}n",
            "\u{200D}Ann",
            "Ann\u{2060}",
            "\u{202E}nnA",
            "Ann\u{FEFF}",
            "\u{3164}",
            "A\u{00AD}nn",
            "Ann\u{E0041}",
        ] {
            assert_eq!(
                DisplayName::parse(bad),
                Err(ValidationError::NameInvisible),
                "{bad:?}"
            );
        }
        assert_eq!(
            code_of(DisplayName::parse("a\u{200b}")),
            ErrorCode::InvalidName
        );
        assert!(DisplayName::parse("Zoë 🐱 \u{2764}\u{FE0F}").is_ok());
    }

    #[test]
    fn name_uniqueness_merges_compatibility_forms_and_case_folds() {
        let key = |raw: &str| DisplayName::parse(raw).expect("valid").uniqueness_key();
        assert_eq!(key("Ann"), key("ＡＮＮ")); // fullwidth
        assert_eq!(key("office"), key("Oﬃce")); // ligature
        assert_eq!(key("strasse"), key("STRAẞE"));
        assert_eq!(key("straße"), key("Strasse"));
        assert_eq!(key("Ann Lee"), key("ann\u{00A0}\u{00A0}lee")); // no-break spaces
        assert_eq!(key("\u{2764}\u{FE0F}"), key("\u{2764}"));
        assert_eq!(key("Ａ\u{0301}"), key("\u{00E1}")); // composed or not
        assert_ne!(key("Ann"), key("Anne"));
        assert_ne!(key("Ann"), key("Аnn")); // Cyrillic А: confusable, not merged
                                            // Letters newer than older Unicode tables fold too (found by fuzzing).
        assert_eq!(key("\u{A7D2}"), key("\u{A7D3}"));
    }

    #[test]
    fn text_rule_no_control_characters_but_line_breaks_and_tabs() {
        assert!(MessageText::parse("line one\r\nline two\tand a tab").is_ok());
        for bad in [
            "\u{1b}[2J",
            "a\u{0}b",
            "bell\u{7}",
            "\u{85}next line",
            "del\u{7f}",
        ] {
            assert_eq!(
                MessageText::parse(bad),
                Err(ValidationError::TextControl),
                "{bad:?}"
            );
        }
        assert_eq!(code_of(MessageText::parse("\u{8}")), ErrorCode::InvalidText);
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
