//! The protocol is a contract: these tests pin the exact JSON of every
//! frame, check that each one survives a round trip, check that decoding
//! maps every kind of bad input to its error code, and check the close codes
//! against the table of `docs/PROTOCOL.md`.

use common::api::{MessagePage, RoomSummary};
use common::{
    ChatMessage, ClientFrame, CloseCode, DisplayName, ErrorCode, ErrorFrame, MemberState,
    MessageText, Nonce, Person, RoomKind, RoomName, RoomRole, RoomTitle, RoomTopic, ServerFrame,
    Username,
};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

fn room(s: &str) -> RoomName {
    RoomName::parse(s).expect("valid room")
}
fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).expect("valid name")
}
fn text(s: &str) -> MessageText {
    MessageText::parse(s).expect("valid text")
}
fn nonce(s: &str) -> Nonce {
    Nonce::parse(s).expect("valid nonce")
}
fn person(user_id: u64, username: &str, display_name: &str) -> Person {
    Person {
        user_id,
        username: Username::parse(username).expect("valid username"),
        display_name: name(display_name),
    }
}
fn message(id: u64, nonce_value: Option<&str>) -> ChatMessage {
    ChatMessage {
        room: room("lobby"),
        id,
        name: name("Ann"),
        user_id: Some(1),
        username: Some(Username::parse("ann").expect("valid username")),
        text: text("hi <b>all</b>"),
        ts: 1_700_000_000_000,
        nonce: nonce_value.map(nonce),
    }
}

/// Asserts that `value` encodes to exactly `json` and decodes back to itself.
fn assert_contract<T>(value: T, json: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let encoded = serde_json::to_string(&value).expect("encodes");
    assert_eq!(encoded, json);
    let decoded: T = serde_json::from_str(&encoded).expect("decodes");
    assert_eq!(decoded, value);
}

#[test]
fn join_frame() {
    assert_contract(
        ClientFrame::Join {
            room: room("lobby"),
            since: None,
        },
        r#"{"type":"join","room":"lobby"}"#,
    );
    assert_contract(
        ClientFrame::Join {
            room: room("lobby"),
            since: Some(41),
        },
        r#"{"type":"join","room":"lobby","since":41}"#,
    );
}

#[test]
fn a_version_1_join_with_a_name_is_refused_in_words() {
    let err = decode_error(r#"{"type":"join","room":"lobby","name":"Ann"}"#);
    assert_eq!(err.code, ErrorCode::ProtocolVersion);
    assert_eq!(err.room, Some(room("lobby")));
    assert!(err.message.contains("no longer carries a name"), "{err}");
}

#[test]
fn a_message_from_before_accounts_has_only_a_name() {
    let legacy = ChatMessage {
        user_id: None,
        username: None,
        ..message(3, None)
    };
    assert_contract(
        ServerFrame::Message(legacy),
        r#"{"type":"message","room":"lobby","id":3,"name":"Ann","text":"hi <b>all</b>","ts":1700000000000}"#,
    );
}

#[test]
fn send_frame() {
    assert_contract(
        ClientFrame::Send {
            room: room("lobby"),
            text: text("hello"),
            nonce: Some(nonce("n-1")),
        },
        r#"{"type":"send","room":"lobby","text":"hello","nonce":"n-1"}"#,
    );
    assert_contract(
        ClientFrame::Send {
            room: room("lobby"),
            text: text("hello"),
            nonce: None,
        },
        r#"{"type":"send","room":"lobby","text":"hello"}"#,
    );
}

#[test]
fn leave_frame() {
    assert_contract(
        ClientFrame::Leave {
            room: room("lobby"),
        },
        r#"{"type":"leave","room":"lobby"}"#,
    );
}

#[test]
fn client_typing_frame() {
    assert_contract(
        ClientFrame::Typing {
            room: room("lobby"),
        },
        r#"{"type":"typing","room":"lobby"}"#,
    );
}

#[test]
fn joined_frame() {
    assert_contract(
        ServerFrame::Joined {
            room: room("lobby"),
            you: person(1, "ann", "Ann"),
            members: vec![person(2, "bob", "Bob"), person(1, "ann", "Ann")],
            history: vec![message(7, None)],
            has_older: true,
        },
        concat!(
            r#"{"type":"joined","room":"lobby","you":{"user_id":1,"username":"ann","display_name":"Ann"},"#,
            r#""members":[{"user_id":2,"username":"bob","display_name":"Bob"},"#,
            r#"{"user_id":1,"username":"ann","display_name":"Ann"}],"#,
            r#""history":[{"room":"lobby","id":7,"name":"Ann","user_id":1,"username":"ann","text":"hi <b>all</b>","ts":1700000000000}],"#,
            r#""has_older":true}"#
        ),
    );
}

#[test]
fn message_frame() {
    assert_contract(
        ServerFrame::Message(message(8, Some("n-1"))),
        concat!(
            r#"{"type":"message","room":"lobby","id":8,"name":"Ann","user_id":1,"username":"ann","text":"hi <b>all</b>","#,
            r#""ts":1700000000000,"nonce":"n-1"}"#
        ),
    );
}

#[test]
fn presence_frame() {
    assert_contract(
        ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![person(3, "cid", "Cid")],
            left: vec![1],
            updated: vec![person(2, "bob", "Bobby")],
        },
        concat!(
            r#"{"type":"presence","room":"lobby","joined":[{"user_id":3,"username":"cid","display_name":"Cid"}],"#,
            r#""left":[1],"updated":[{"user_id":2,"username":"bob","display_name":"Bobby"}]}"#
        ),
    );
    assert_contract(
        ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![],
            left: vec![2],
            updated: vec![],
        },
        r#"{"type":"presence","room":"lobby","left":[2]}"#,
    );
}

#[test]
fn server_typing_frame() {
    assert_contract(
        ServerFrame::Typing {
            room: room("lobby"),
            user_id: 1,
            name: name("Ann"),
        },
        r#"{"type":"typing","room":"lobby","user_id":1,"name":"Ann"}"#,
    );
}

#[test]
fn error_frame() {
    assert_contract(
        ServerFrame::Error(ErrorFrame {
            code: ErrorCode::NameTaken,
            message: "the name is taken".into(),
            room: None,
            nonce: None,
        }),
        r#"{"type":"error","code":"name_taken","message":"the name is taken"}"#,
    );
    assert_contract(
        ServerFrame::Error(ErrorFrame {
            code: ErrorCode::TooLong,
            message: "too long".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n-2")),
        }),
        r#"{"type":"error","code":"too_long","message":"too long","room":"lobby","nonce":"n-2"}"#,
    );
}

#[test]
fn every_error_code_has_its_wire_name() {
    let codes = [
        (ErrorCode::BadRequest, "bad_request"),
        (ErrorCode::Unsupported, "unsupported"),
        (ErrorCode::InvalidRoom, "invalid_room"),
        (ErrorCode::InvalidName, "invalid_name"),
        (ErrorCode::NameTaken, "name_taken"),
        (ErrorCode::EmptyText, "empty_text"),
        (ErrorCode::TooLong, "too_long"),
        (ErrorCode::InvalidText, "invalid_text"),
        (ErrorCode::InvalidNonce, "invalid_nonce"),
        (ErrorCode::NotJoined, "not_joined"),
        (ErrorCode::AlreadyJoined, "already_joined"),
        (ErrorCode::TooManyRooms, "too_many_rooms"),
        (ErrorCode::RateLimited, "rate_limited"),
        (ErrorCode::Unavailable, "unavailable"),
        (ErrorCode::NotMember, "not_member"),
        (ErrorCode::Banned, "banned"),
        (ErrorCode::Muted, "muted"),
        (ErrorCode::Archived, "archived"),
        (ErrorCode::RoomExists, "room_exists"),
        (ErrorCode::InvalidTitle, "invalid_title"),
        (ErrorCode::InvalidTopic, "invalid_topic"),
    ];
    for (code, wire) in codes {
        assert_contract(code, &format!("\"{wire}\""));
        assert_eq!(code.as_str(), wire);
    }
}

/// The "Closing" section of `docs/PROTOCOL.md`, up to the next section.
fn closing_section() -> &'static str {
    const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");
    let (_, rest) = PROTOCOL
        .split_once("\n## Closing\n")
        .expect("docs/PROTOCOL.md has a \"## Closing\" section");
    rest.split_once("\n## ")
        .map_or(rest, |(section, _)| section)
}

/// The rows of the close code table under "Closing": (code, reason), the
/// reason without its backticks. Other lines, the header included, are
/// skipped: their first cell is not a number.
fn documented_close_codes() -> Vec<(u16, &'static str)> {
    closing_section()
        .lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix('|')?.split('|').map(str::trim);
            let code = cells.next()?.parse().ok()?;
            let reason = cells.next()?.trim_matches('`');
            Some((code, reason))
        })
        .collect()
}

#[test]
fn every_close_code_has_the_number_the_protocol_documents() {
    // Which rows of the table each code stands for, by their reason.
    let codes: [(CloseCode, &[&str]); 8] = [
        (
            CloseCode::GoingAway,
            &["server shutting down", "idle timeout: nothing received"],
        ),
        (CloseCode::ProtocolError, &["WebSocket protocol error"]),
        (CloseCode::InvalidPayload, &["text frame that is not UTF-8"]),
        (
            CloseCode::PolicyViolation,
            &[
                "rate limit exceeded again and again",
                "no room joined in time",
            ],
        ),
        (CloseCode::MessageTooBig, &["message too big"]),
        (CloseCode::InternalError, &["write timed out"]),
        (
            CloseCode::TryAgainLater,
            &["slow consumer: ...", "stalled: ..."],
        ),
        (
            CloseCode::SessionEnded,
            &["session ended", "account deactivated", "token revoked"],
        ),
    ];
    let rows = documented_close_codes();
    let covered: usize = codes.iter().map(|(_, reasons)| reasons.len()).sum();
    assert_eq!(
        rows.len(),
        covered,
        "the table under Closing has a row this test does not know: {rows:?}"
    );
    for (code, reasons) in codes {
        for reason in reasons {
            let row = rows.iter().find(|(_, documented)| documented == reason);
            assert_eq!(
                row.map(|(number, _)| *number),
                Some(code.code()),
                "{code:?}: the row of `{reason}`"
            );
        }
    }
    // 1000 is the client's, not in the table of the server's closes.
    assert!(closing_section().contains("closes with 1000 (normal closure)"));
    assert_eq!(CloseCode::Normal.code(), 1000);
    // And no code goes undocumented.
    for code in CloseCode::ALL {
        assert!(
            code == CloseCode::Normal || rows.iter().any(|(number, _)| *number == code.code()),
            "{code:?} is not in the table under Closing"
        );
    }
}

#[test]
fn http_api_bodies() {
    assert_contract(
        RoomSummary::bare(room("lobby"), 2, 9),
        r#"{"room":"lobby","members":2,"last_id":9}"#,
    );
    assert_contract(
        MessagePage {
            room: room("lobby"),
            messages: vec![message(3, None)],
            has_older: false,
        },
        concat!(
            r#"{"room":"lobby","messages":[{"room":"lobby","id":3,"name":"Ann","user_id":1,"username":"ann","#,
            r#""text":"hi <b>all</b>","ts":1700000000000}],"has_older":false}"#
        ),
    );
}

/// The room list's entries and a room as docs/PROTOCOL.md shows them
/// (Rooms): the fields rooms people belong to added, and their absence
/// when they say nothing.
#[test]
fn rooms_api_bodies() {
    use common::api::rooms::{Membership, RoomInfo};
    use common::{RoomKind, RoomRole, RoomTitle, RoomTopic};
    let membership = Membership {
        role: RoomRole::Owner,
        last_read: 7,
        unread: 2,
        mentions: 0,
        muted_until: None,
    };
    assert_contract(
        RoomSummary {
            kind: Some(RoomKind::Private),
            title: Some(RoomTitle::parse("The team").expect("valid")),
            topic: Some(RoomTopic::parse("Plans").expect("valid")),
            membership: Some(membership.clone()),
            ..RoomSummary::bare(room("team"), 2, 9)
        },
        concat!(
            r#"{"room":"team","members":2,"last_id":9,"kind":"private","title":"The team","#,
            r#""topic":"Plans","membership":{"role":"owner","last_read":7,"unread":2,"mentions":0}}"#
        ),
    );
    assert_contract(
        RoomSummary {
            kind: Some(RoomKind::Public),
            ..RoomSummary::bare(room("lobby"), 0, 40)
        },
        r#"{"room":"lobby","members":0,"last_id":40,"kind":"public"}"#,
    );
    assert_contract(
        RoomInfo {
            room: room("team"),
            kind: RoomKind::Private,
            title: Some(RoomTitle::parse("The team").expect("valid")),
            topic: RoomTopic::parse("Plans").expect("valid"),
            archived: false,
            owner: Some(3),
            created_ms: 1_700_000_000_000,
            last_id: 9,
            membership: Some(Membership {
                last_read: 9,
                unread: 0,
                ..membership
            }),
        },
        concat!(
            r#"{"room":"team","kind":"private","title":"The team","topic":"Plans","archived":false,"#,
            r#""owner":3,"created_ms":1700000000000,"last_id":9,"#,
            r#""membership":{"role":"owner","last_read":9,"unread":0,"mentions":0}}"#
        ),
    );
}

fn decode_error(text: &str) -> common::RequestError {
    ClientFrame::decode(text).expect_err("the frame should be rejected")
}

#[test]
fn decode_accepts_valid_frames_and_ignores_unknown_fields() {
    let frame =
        ClientFrame::decode(r#"{"type":"join","room":"lobby","extra":1}"#).expect("valid frame");
    assert_eq!(
        frame,
        ClientFrame::Join {
            room: room("lobby"),
            since: None
        }
    );
}

#[test]
fn decode_rejects_malformed_json() {
    for bad in ["", "{", "not json", "[]", "42", "null"] {
        assert_eq!(decode_error(bad).code, ErrorCode::BadRequest, "{bad:?}");
    }
}

#[test]
fn decode_rejects_unknown_type() {
    let err = decode_error(r#"{"type":"shout","room":"lobby"}"#);
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(err.message.contains("shout"), "{}", err.message);
}

#[test]
fn decode_rejects_missing_type_and_missing_fields() {
    assert_eq!(
        decode_error(r#"{"room":"lobby"}"#).code,
        ErrorCode::BadRequest
    );
    let err = decode_error(r#"{"type":"send","room":"lobby"}"#);
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(err.message.contains("text"), "{}", err.message);
}

#[test]
fn decode_rejects_wrong_field_types() {
    assert_eq!(
        decode_error(r#"{"type":"join","room":1,"name":"a"}"#).code,
        ErrorCode::BadRequest
    );
    let negative_since = r#"{"type":"join","room":"a","name":"a","since":-1}"#;
    assert_eq!(decode_error(negative_since).code, ErrorCode::BadRequest);
}

#[test]
fn decode_maps_each_rule_to_its_code() {
    let cases = [
        (
            r#"{"type":"join","room":"No Caps","name":"a"}"#,
            ErrorCode::InvalidRoom,
        ),
        (
            r#"{"type":"join","room":"","name":"a"}"#,
            ErrorCode::InvalidRoom,
        ),
        (
            r#"{"type":"join","room":"lobby","name":"Ann"}"#,
            ErrorCode::ProtocolVersion,
        ),
        (
            r#"{"type":"send","room":"lobby","text":" "}"#,
            ErrorCode::EmptyText,
        ),
        (
            r#"{"type":"send","room":"lobby","text":"x","nonce":""}"#,
            ErrorCode::InvalidNonce,
        ),
        (r#"{"type":"leave","room":"LOBBY"}"#, ErrorCode::InvalidRoom),
        (r#"{"type":"typing","room":"a/b"}"#, ErrorCode::InvalidRoom),
    ];
    for (frame, code) in cases {
        assert_eq!(decode_error(frame).code, code, "{frame}");
    }
}

#[test]
fn decode_errors_say_which_request_failed() {
    let long = "x".repeat(common::values::TEXT_MAX_CHARS + 1);
    let frame = format!(r#"{{"type":"send","room":"lobby","text":"{long}","nonce":"n-9"}}"#);
    let err = decode_error(&frame);
    assert_eq!(err.code, ErrorCode::TooLong);
    assert_eq!(err.room, Some(room("lobby")));
    assert_eq!(err.nonce, Some(nonce("n-9")));
}

#[test]
fn deserializing_a_client_frame_applies_the_rules() {
    let result: Result<ClientFrame, _> =
        serde_json::from_str(r#"{"type":"send","room":"lobby","text":""}"#);
    assert!(result.is_err());
}

#[test]
fn room_state_frames() {
    assert_contract(
        ServerFrame::Read {
            room: room("lobby"),
            last_read: 42,
        },
        r#"{"type":"read","room":"lobby","last_read":42}"#,
    );
    assert_contract(
        ServerFrame::Membership {
            room: room("lobby"),
            state: MemberState::Member,
            role: Some(RoomRole::Moderator),
        },
        r#"{"type":"membership","room":"lobby","state":"member","role":"moderator"}"#,
    );
    assert_contract(
        ServerFrame::Membership {
            room: room("lobby"),
            state: MemberState::Banned,
            role: None,
        },
        r#"{"type":"membership","room":"lobby","state":"banned"}"#,
    );
    assert_contract(
        ServerFrame::Muted {
            room: room("lobby"),
            until: Some(1_700_000_000_000),
        },
        r#"{"type":"muted","room":"lobby","until":1700000000000}"#,
    );
    assert_contract(
        ServerFrame::Muted {
            room: room("lobby"),
            until: None,
        },
        r#"{"type":"muted","room":"lobby"}"#,
    );
    assert_contract(
        ServerFrame::RoomChanged {
            room: room("lobby"),
            kind: RoomKind::Private,
            title: Some(RoomTitle::parse("The lobby").expect("valid")),
            topic: RoomTopic::parse("say hi").expect("valid"),
            archived: false,
        },
        r#"{"type":"room_changed","room":"lobby","kind":"private","title":"The lobby","topic":"say hi","archived":false}"#,
    );
}
