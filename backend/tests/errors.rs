//! Every error code over a real connection, and that the connection stays
//! usable after each one.

mod support;

use common::ErrorCode;
use futures_util::SinkExt;
use support::{Client, TempDb, TestServer};
use tokio_tungstenite::tungstenite::Message;

/// Sends `frame` and asserts the error code that comes back; then checks the
/// connection still works by sending a valid frame.
async fn assert_rejected(client: &mut Client, frame: &str, code: ErrorCode) -> common::ErrorFrame {
    client.send_text(frame).await;
    let error = client.expect_error().await;
    assert_eq!(error.code, code, "frame {frame} gave {error:?}");
    assert!(!error.message.is_empty(), "the error explains itself");
    error
}

async fn assert_still_usable(client: &mut Client) {
    client
        .send_text(r#"{"type":"join","room":"still-usable"}"#)
        .await;
    let joined = client.expect_joined().await;
    assert_eq!(joined.room, "still-usable");
    client
        .send_text(r#"{"type":"leave","room":"still-usable"}"#)
        .await;
}

#[tokio::test]
async fn malformed_frames_get_bad_request_and_the_connection_stays_usable() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut client = server.connect_as("Ann").await;
    for frame in [
        "not json",
        "{",
        "[]",
        r#"{"room":"lobby"}"#,
        r#"{"type":"shout","room":"lobby"}"#,
        r#"{"type":"join"}"#,
        r#"{"type":"send","room":"lobby"}"#,
        r#"{"type":"join","room":"lobby","name":"a","since":"yesterday"}"#,
    ] {
        assert_rejected(&mut client, frame, ErrorCode::BadRequest).await;
    }
    assert_still_usable(&mut client).await;
    server.stop().await;
}

#[tokio::test]
async fn binary_frames_are_unsupported() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut client = server.connect_as("Ann").await;
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("send");
    assert_eq!(client.expect_error().await.code, ErrorCode::Unsupported);
    assert_still_usable(&mut client).await;
    server.stop().await;
}

#[tokio::test]
async fn each_validation_rule_has_its_code_over_the_wire() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut client = server.connect_as("Ann").await;
    client.join("lobby").await;
    let long_text = "x".repeat(common::values::TEXT_MAX_CHARS + 1);
    let long_room = "r".repeat(common::values::ROOM_MAX_CHARS + 1);
    let long_nonce = "z".repeat(common::values::NONCE_MAX_CHARS + 1);
    let cases = [
        (
            r#"{"type":"join","room":""}"#.to_owned(),
            ErrorCode::InvalidRoom,
        ),
        (
            format!(r#"{{"type":"join","room":"{long_room}"}}"#),
            ErrorCode::InvalidRoom,
        ),
        (
            r#"{"type":"join","room":"Lobby"}"#.to_owned(),
            ErrorCode::InvalidRoom,
        ),
        (
            r#"{"type":"join","room":"other","name":"Anna"}"#.to_owned(),
            ErrorCode::ProtocolVersion,
        ),
        (
            r#"{"type":"send","room":"lobby","text":" \n "}"#.to_owned(),
            ErrorCode::EmptyText,
        ),
        (
            format!(r#"{{"type":"send","room":"lobby","text":"{long_text}"}}"#),
            ErrorCode::TooLong,
        ),
        (
            format!(r#"{{"type":"send","room":"lobby","text":"hi","nonce":"{long_nonce}"}}"#),
            ErrorCode::InvalidNonce,
        ),
    ];
    for (frame, code) in cases {
        assert_rejected(&mut client, &frame, code).await;
    }
    // None of them was stored or broadcast.
    client.expect_silence().await;
    assert_still_usable(&mut client).await;
    server.stop().await;
}

#[tokio::test]
async fn errors_name_the_room_and_nonce_of_the_failed_send() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut client = server.connect_as("Ann").await;
    client.join("lobby").await;
    let long_text = "x".repeat(common::values::TEXT_MAX_CHARS + 1);
    let frame = format!(r#"{{"type":"send","room":"lobby","text":"{long_text}","nonce":"n-7"}}"#);
    let error = assert_rejected(&mut client, &frame, ErrorCode::TooLong).await;
    assert_eq!(error.room.map(String::from).as_deref(), Some("lobby"));
    assert_eq!(error.nonce.map(String::from).as_deref(), Some("n-7"));
    server.stop().await;
}

#[tokio::test]
async fn one_account_on_two_connections_is_one_member_until_both_leave() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    let mut second_tab = server.connect_as("Ann").await;
    let joined = second_tab.join("lobby").await;
    assert_eq!(joined.members, ["Ann"]);
    let mut bob = server.connect_as("Bob").await;
    assert_eq!(bob.join("lobby").await.members, ["Ann", "Bob"]);

    ann.send_text(r#"{"type":"leave","room":"lobby"}"#).await;
    ann.round_trip().await;
    second_tab.say("lobby", "still here", None).await;
    assert_eq!(bob.next_message().await.text.as_str(), "still here");
    assert_eq!(bob.members_of("lobby"), ["Ann", "Bob"]);
    second_tab
        .send_text(r#"{"type":"leave","room":"lobby"}"#)
        .await;
    assert_eq!(bob.expect_presence().await, ["Bob"]);
    server.stop().await;
}

#[tokio::test]
async fn requests_for_rooms_not_joined_are_refused() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    let mut bob = server.connect_as("Bob").await;
    bob.join("lobby").await;
    for frame in [
        r#"{"type":"send","room":"lobby","text":"hi","nonce":"n1"}"#,
        r#"{"type":"typing","room":"lobby"}"#,
        r#"{"type":"leave","room":"lobby"}"#,
    ] {
        let error = assert_rejected(&mut ann, frame, ErrorCode::NotJoined).await;
        assert_eq!(error.room.map(String::from).as_deref(), Some("lobby"));
    }
    // Bob saw nothing of it.
    bob.expect_silence().await;
    server.stop().await;
}

#[tokio::test]
async fn joining_a_room_twice_is_refused() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    assert_rejected(
        &mut ann,
        r#"{"type":"join","room":"lobby"}"#,
        ErrorCode::AlreadyJoined,
    )
    .await;
    assert_still_usable(&mut ann).await;
    server.stop().await;
}

#[tokio::test]
async fn a_message_the_database_cannot_store_is_refused_and_can_be_sent_again() {
    let db = TempDb::sqlite();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;

    // Another process holds the database's write lock longer than the
    // server waits for it (store::sqlite::BUSY_TIMEOUT): the commit fails
    // for real.
    let blocker = rusqlite::Connection::open(db.path()).expect("open the database");
    blocker
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the write lock");
    ann.say("lobby", "lost?", Some("n-1")).await;
    let error = ann.expect_error().await;
    assert_eq!(error.code, ErrorCode::Unavailable);
    assert_eq!(error.nonce.map(String::from).as_deref(), Some("n-1"));
    bob.expect_silence().await;

    blocker.execute_batch("ROLLBACK").expect("release the lock");
    ann.say("lobby", "lost?", Some("n-1")).await;
    let message = bob.next_message().await;
    assert_eq!(
        (message.text.as_str(), message.nonce.map(String::from)),
        ("lost?", Some("n-1".to_owned()))
    );
    server.stop().await;
}
