//! Property tests (bounded fuzzing) of the decoder and the validators: the
//! code that reads whatever the internet sends.
//!
//! Each property runs `PROPTEST_CASES` cases (proptest's default, 256,
//! unless the environment says otherwise; CI runs more). A failure prints
//! the smallest input that breaks the property and proptest keeps it in
//! `proptest-regressions/` so it is replayed first from then on.

use common::values::{NAME_MAX_CHARS, NONCE_MAX_CHARS, ROOM_MAX_CHARS, TEXT_MAX_CHARS};
use common::{
    ClientFrame, DisplayName, ErrorCode, MessageText, Nonce, RoomName, ServerFrame, ValidationError,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, nested a few levels: what a hostile client can send.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,80}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A frame-shaped object: a real `type` and the real field names, with
/// values of any type, so the fuzzing reaches past the `type` dispatch.
fn frame_shaped_json() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("room"),
        Just("name"),
        Just("since"),
        Just("text"),
        Just("nonce"),
        Just("type"),
    ];
    let kind = prop_oneof![
        Just("join".to_owned()),
        Just("send".to_owned()),
        Just("leave".to_owned()),
        Just("typing".to_owned()),
        Just("joined".to_owned()),
        ".{0,8}",
    ];
    (
        kind,
        prop::collection::vec((field, any_json()), 0..6),
        any_json(),
    )
        .prop_map(|(kind, fields, room)| {
            let mut object = serde_json::Map::new();
            object.insert("type".into(), Value::from(kind));
            // A room name is often valid, so the later rules get exercised.
            object.insert("room".into(), room);
            for (name, value) in fields {
                object.insert(name.into(), value);
            }
            Value::Object(object)
        })
}

fn valid_room() -> impl Strategy<Value = RoomName> {
    "[a-z0-9_-]{1,64}".prop_map(|raw| RoomName::parse(raw).expect("generated room is valid"))
}

fn valid_text() -> impl Strategy<Value = MessageText> {
    "[^\\p{Cc}]{0,200}[a-zA-Z0-9<>&\"'\\\\]"
        .prop_map(|raw| MessageText::parse(raw).expect("generated text is valid"))
}

fn valid_nonce() -> impl Strategy<Value = Nonce> {
    ".{1,64}".prop_map(|raw| Nonce::parse(raw).expect("generated nonce is valid"))
}

fn valid_client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (valid_room(), prop::option::of(any::<u64>()))
            .prop_map(|(room, since)| ClientFrame::Join { room, since }),
        (valid_room(), valid_text(), prop::option::of(valid_nonce()))
            .prop_map(|(room, text, nonce)| ClientFrame::Send { room, text, nonce }),
        valid_room().prop_map(|room| ClientFrame::Leave { room }),
        valid_room().prop_map(|room| ClientFrame::Typing { room }),
    ]
}

proptest! {
    /// Any text at all decodes to a frame or to an error with a code and a
    /// message; nothing panics.
    #[test]
    fn decode_never_panics_on_any_text(text in ".{0,300}") {
        if let Err(err) = ClientFrame::decode(&text) {
            prop_assert!(!err.message.is_empty());
        }
    }

    /// Any JSON decodes to a frame or to an error; nothing panics, and a
    /// non-object is always `bad_request`.
    #[test]
    fn decode_never_panics_on_any_json(value in any_json()) {
        let result = ClientFrame::decode(&value.to_string());
        if !value.is_object() {
            let err = result.expect_err("only objects are frames");
            prop_assert_eq!(err.code, ErrorCode::BadRequest);
        }
    }

    /// Frame-shaped JSON with values of any type: a decoded frame holds
    /// only valid values (it re-encodes and decodes to itself), and a
    /// refusal that names a room names a valid one.
    #[test]
    fn decode_of_frame_shaped_json_yields_valid_frames_or_errors(value in frame_shaped_json()) {
        match ClientFrame::decode(&value.to_string()) {
            Ok(frame) => {
                let again = ClientFrame::decode(&frame.encode()).expect("a decoded frame re-decodes");
                prop_assert_eq!(again, frame);
            }
            Err(err) => {
                if let Some(room) = &err.room {
                    prop_assert!(RoomName::parse(room.as_str()).is_ok());
                }
            }
        }
    }

    /// Every valid frame survives encoding and decoding unchanged.
    #[test]
    fn valid_frames_round_trip(frame in valid_client_frame()) {
        prop_assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame));
    }

    /// A client decoding whatever a server sends never panics.
    #[test]
    fn server_frame_decode_never_panics(value in any_json(), text in ".{0,200}") {
        let _ = ServerFrame::decode(&value.to_string());
        let _ = ServerFrame::decode(&text);
    }

    /// A parsed room name keeps every rule; a refused one breaks one.
    #[test]
    fn room_names_follow_their_rules(raw in "[a-zA-Z0-9_./é -]{0,70}") {
        let follows_rules = !raw.is_empty()
            && raw.len() <= ROOM_MAX_CHARS
            && raw.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'));
        prop_assert_eq!(RoomName::parse(raw.clone()).is_ok(), follows_rules, "{:?}", raw);
    }

    /// A parsed display name is trimmed, 1 to NAME_MAX_CHARS characters,
    /// without control characters; its uniqueness key is stable under
    /// case changes and compatibility normalization.
    #[test]
    fn display_names_follow_their_rules(raw in "\\PC{0,40}|.{0,40}") {
        match DisplayName::parse(raw.clone()) {
            Ok(name) => {
                let text = name.as_str();
                prop_assert_eq!(text, raw.trim());
                prop_assert!((1..=NAME_MAX_CHARS).contains(&text.chars().count()));
                prop_assert!(!text.chars().any(char::is_control));
                if let Ok(upper) = DisplayName::parse(text.to_uppercase()) {
                    let lower = DisplayName::parse(text.to_lowercase()).expect("lowercase stays valid");
                    prop_assert_eq!(upper.uniqueness_key(), lower.uniqueness_key());
                }
            }
            Err(err) => {
                prop_assert_eq!(err.code(), ErrorCode::InvalidName);
                let trimmed = raw.trim();
                let broken = trimmed.is_empty()
                    || trimmed.chars().count() > NAME_MAX_CHARS
                    || trimmed.chars().any(char::is_control)
                    || err == ValidationError::NameInvisible;
                prop_assert!(broken, "{:?} refused with {:?}", raw, err);
            }
        }
    }

    /// A parsed text is kept as written; refusals are for emptiness,
    /// length or control characters only.
    #[test]
    fn message_texts_follow_their_rules(raw in ".{0,50}|\\PC{3990,4010}") {
        match MessageText::parse(raw.clone()) {
            Ok(text) => {
                prop_assert_eq!(text.as_str(), raw.as_str());
                prop_assert!(text.as_str().chars().count() <= TEXT_MAX_CHARS);
            }
            Err(err) => {
                let expected = if raw.trim().is_empty() {
                    ValidationError::TextEmpty
                } else if raw.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
                    ValidationError::TextControl
                } else {
                    ValidationError::TextTooLong
                };
                prop_assert_eq!(err, expected);
            }
        }
    }

    /// Nonces of 1 to NONCE_MAX_CHARS characters are accepted, whatever they hold.
    #[test]
    fn nonces_follow_their_rules(raw in ".{0,70}") {
        let chars = raw.chars().count();
        prop_assert_eq!(Nonce::parse(raw).is_ok(), (1..=NONCE_MAX_CHARS).contains(&chars));
    }
}

#[test]
fn a_deeply_nested_frame_is_refused_without_overflowing_the_stack() {
    let deep = format!(
        "{{\"type\":\"send\",\"room\":\"lobby\",\"text\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = ClientFrame::decode(&deep).expect_err("not a frame");
    assert_eq!(err.code, ErrorCode::BadRequest);
    // A well-formed frame with an unexpected nested value is refused too.
    let nested = json!({"type": "leave", "room": {"a": [1, 2, {"b": null}]}});
    assert_eq!(
        ClientFrame::decode(&nested.to_string())
            .expect_err("room must be a string")
            .code,
        ErrorCode::BadRequest
    );
}
