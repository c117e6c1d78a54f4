//! JSON schemas of the validated values, for the server's OpenAPI document
//! (`GET /api/openapi.json`), with the feature `openapi` only: the backend
//! enables it, the WebAssembly client does not carry it.
//!
//! The other wire types derive [`utoipa::ToSchema`]; these are written out
//! by hand because each one's rule (its lengths and characters) is in its
//! `parse`, which a derive cannot see. Every number comes from the
//! constant the rule itself uses, so the document cannot drift from the
//! code.
//!
//! JSON Schema counts lengths in characters (code points), as the rules
//! do, except [`Password`]'s maximum, which is in bytes of UTF-8: its
//! `maxLength` is the same number, which a password of characters beyond
//! ASCII may still exceed in bytes, as its description says.
//!
//! Patterns are ECMA-262 regular expressions that Python's `re` reads the
//! same way (the fuzzer that checks the document, schemathesis, uses it),
//! so they stick to character classes and `\uXXXX` escapes.

use crate::account::{
    Password, Username, PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS,
    USERNAME_MIN_CHARS,
};
use crate::room::{RoomTitle, RoomTopic, TITLE_MAX_CHARS, TOPIC_MAX_CHARS};
use crate::values::{
    DisplayName, MessageText, Nonce, RoomName, NAME_MAX_CHARS, NONCE_MAX_CHARS, ROOM_MAX_CHARS,
    TEXT_MAX_CHARS,
};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// What [`RoomName::parse`] accepts: only `a-z 0-9 - _`.
pub const ROOM_PATTERN: &str = "^[a-z0-9_-]+$";
/// What [`Username::parse`] accepts: `a-z 0-9 . _ -`, and capitals, which
/// it lowers.
pub const USERNAME_PATTERN: &str = "^[A-Za-z0-9._-]+$";
/// What [`DisplayName::parse`] accepts, apart from invisible characters
/// (which the description names): no control character (Unicode `Cc`),
/// and something besides whitespace.
pub const NAME_PATTERN: &str = concat!(
    "^[^\\u0000-\\u001F\\u007F-\\u009F]*",
    "[^\\s\\u0000-\\u001F\\u007F-\\u009F]",
    "[^\\u0000-\\u001F\\u007F-\\u009F]*$"
);
/// What [`RoomTitle::parse`] accepts: what a display name does, no
/// control character and something besides whitespace (invisible
/// characters are allowed in a title).
pub const TITLE_PATTERN: &str = NAME_PATTERN;
/// What [`RoomTopic::parse`] accepts: no control character.
pub const TOPIC_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// What [`MessageText::parse`] accepts: no control character but tab,
/// line feed and carriage return, and something besides whitespace.
pub const TEXT_PATTERN: &str = concat!(
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*",
    "[^\\s\\u0000-\\u001F\\u007F-\\u009F]",
    "[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
);

/// A string schema with a description, lengths and maybe a pattern.
fn string(
    description: &str,
    min_length: usize,
    max_length: usize,
    pattern: Option<&str>,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(min_length))
        .max_length(Some(max_length))
        .pattern(pattern)
        .examples([example])
        .into()
}

impl PartialSchema for RoomName {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A room name: 1 to {ROOM_MAX_CHARS} characters of a-z, 0-9, '-' and '_' \
                 (capitals are refused, not lowered)."
            ),
            1,
            ROOM_MAX_CHARS,
            Some(ROOM_PATTERN),
            "lobby",
        )
    }
}
impl ToSchema for RoomName {}

impl PartialSchema for DisplayName {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A display name: trimmed of surrounding whitespace, then 1 to \
                 {NAME_MAX_CHARS} characters, with no control characters and no \
                 invisible ones (zero-width spaces and joiners, direction overrides, \
                 fillers, tags)."
            ),
            1,
            NAME_MAX_CHARS,
            Some(NAME_PATTERN),
            "Ann Lee",
        )
    }
}
impl ToSchema for DisplayName {}

impl PartialSchema for RoomTitle {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A room's title: trimmed of surrounding whitespace, then 1 to \
                 {TITLE_MAX_CHARS} characters on one line (no control characters)."
            ),
            1,
            TITLE_MAX_CHARS,
            Some(TITLE_PATTERN),
            "Team room",
        )
    }
}
impl ToSchema for RoomTitle {}

impl PartialSchema for RoomTopic {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A room's topic: trimmed of surrounding whitespace, then at most \
                 {TOPIC_MAX_CHARS} characters on one line (no control characters); \
                 empty for none."
            ),
            0,
            TOPIC_MAX_CHARS,
            Some(TOPIC_PATTERN),
            "Plans for the week",
        )
    }
}
impl ToSchema for RoomTopic {}

impl PartialSchema for MessageText {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A message's text, kept as written: 1 to {TEXT_MAX_CHARS} characters, \
                 not only whitespace, with no control characters but tab, line feed \
                 and carriage return."
            ),
            1,
            TEXT_MAX_CHARS,
            Some(TEXT_PATTERN),
            "hello, room",
        )
    }
}
impl ToSchema for MessageText {}

impl PartialSchema for Nonce {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A token the client chooses, 1 to {NONCE_MAX_CHARS} characters: the \
                 same nonce makes the same message once."
            ),
            1,
            NONCE_MAX_CHARS,
            None,
            "a1b2c3",
        )
    }
}
impl ToSchema for Nonce {}

impl PartialSchema for Username {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A username: {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters of \
                 a-z, 0-9, '.', '_' and '-', unique ignoring case. Capitals are \
                 accepted and lowered; the server always answers with the lowered form."
            ),
            USERNAME_MIN_CHARS,
            USERNAME_MAX_CHARS,
            Some(USERNAME_PATTERN),
            "ann.lee",
        )
    }
}
impl ToSchema for Username {}

impl PartialSchema for Password {
    fn schema() -> RefOr<Schema> {
        string(
            &format!(
                "A new password, as typed (nothing is trimmed, any character is \
                 allowed): at least {PASSWORD_MIN_CHARS} characters and at most \
                 {PASSWORD_MAX_BYTES} bytes of UTF-8 (maxLength says the same number, \
                 which characters beyond ASCII reach in fewer characters)."
            ),
            PASSWORD_MIN_CHARS,
            PASSWORD_MAX_BYTES,
            None,
            "correct horse battery staple",
        )
    }
}
impl ToSchema for Password {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).expect("a schema serializes")
    }

    #[test]
    fn each_rule_is_in_its_schema() {
        let room = json_of::<RoomName>();
        assert_eq!(room["type"], "string");
        assert_eq!(room["minLength"], 1);
        assert_eq!(room["maxLength"], ROOM_MAX_CHARS);
        assert_eq!(room["pattern"], ROOM_PATTERN);
        let username = json_of::<Username>();
        assert_eq!(username["minLength"], USERNAME_MIN_CHARS);
        assert_eq!(username["maxLength"], USERNAME_MAX_CHARS);
        assert_eq!(json_of::<DisplayName>()["maxLength"], NAME_MAX_CHARS);
        assert_eq!(json_of::<MessageText>()["maxLength"], TEXT_MAX_CHARS);
        assert_eq!(json_of::<Nonce>()["maxLength"], NONCE_MAX_CHARS);
        assert_eq!(json_of::<Password>()["minLength"], PASSWORD_MIN_CHARS);
        assert_eq!(json_of::<RoomTitle>()["maxLength"], TITLE_MAX_CHARS);
        assert_eq!(json_of::<RoomTopic>()["maxLength"], TOPIC_MAX_CHARS);
        assert_eq!(json_of::<RoomTopic>()["minLength"], 0);
    }

    fn example_of<T: PartialSchema>() -> String {
        let schema = json_of::<T>();
        schema["examples"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{schema} has an example"))
            .to_owned()
    }

    /// Each schema's example is a value its type accepts.
    #[test]
    fn the_examples_are_valid_values() {
        assert!(RoomName::parse(example_of::<RoomName>()).is_ok());
        assert!(DisplayName::parse(example_of::<DisplayName>()).is_ok());
        assert!(MessageText::parse(example_of::<MessageText>()).is_ok());
        assert!(Nonce::parse(example_of::<Nonce>()).is_ok());
        assert!(Username::parse(example_of::<Username>()).is_ok());
        assert!(Password::parse(example_of::<Password>()).is_ok());
        assert!(RoomTitle::parse(example_of::<RoomTitle>()).is_ok());
        assert!(RoomTopic::parse(example_of::<RoomTopic>()).is_ok());
    }
}
