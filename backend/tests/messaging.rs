//! Messages, presence and typing between real clients over real sockets.

mod support;

use common::{CloseCode, ServerFrame};
use futures_util::StreamExt;
use std::time::{SystemTime, UNIX_EPOCH};
use support::{ids, post_at_once, TempDb, TestServer};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn two_clients_see_each_others_messages_in_the_same_order() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;

    // Both post at once, without waiting for each other.
    const EACH: usize = 50;
    let (seen_by_ann, seen_by_bob) = post_at_once(&mut ann, &mut bob, "lobby", EACH).await;

    assert_eq!(
        seen_by_ann, seen_by_bob,
        "both see the same messages in the same order"
    );
    let got = ids(&seen_by_ann);
    let expected: Vec<u64> = (1..=2 * EACH as u64).collect();
    assert_eq!(got, expected, "ids are 1, 2, 3, ... with no gap");
    // Each author's own messages keep the order they were sent in.
    let ann_texts: Vec<_> = seen_by_ann
        .iter()
        .filter(|m| m.name.as_str() == "Ann")
        .map(|m| m.text.to_string())
        .collect();
    let sent: Vec<_> = (0..EACH).map(|i| format!("ann {i}")).collect();
    assert_eq!(ann_texts, sent);
    server.stop().await;
}

#[tokio::test]
async fn a_message_reaches_its_author_with_its_nonce_text_and_server_time() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    let before = unix_millis();
    let text = "  <img src=x onerror=alert(1)> 🦀\nsecond line ";
    ann.say("lobby", text, Some("nonce-1")).await;
    let message = ann.next_message().await;
    let after = unix_millis();

    assert_eq!(message.text.as_str(), text, "text is kept exactly");
    assert_eq!(message.nonce.as_ref().map(|n| n.as_str()), Some("nonce-1"));
    assert_eq!(message.name.as_str(), "Ann");
    assert_eq!(message.room.as_str(), "lobby");
    assert!(
        (before..=after).contains(&message.ts),
        "ts {} not in {before}..={after}",
        message.ts
    );
    server.stop().await;
}

#[tokio::test]
async fn presence_follows_joins_leaves_and_disconnects() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    let joined = ann.join("lobby").await;
    assert_eq!(joined.members, ["Ann"]);

    let mut bob = server.connect_as(" Bob ").await;
    let joined = bob.join("lobby").await;
    assert_eq!(joined.name, "Bob", "the name is trimmed");
    assert_eq!(joined.members, ["Ann", "Bob"]);
    assert_eq!(ann.expect_presence().await, ["Ann", "Bob"]);

    let mut cid = server.connect_as("Cid").await;
    cid.join("lobby").await;
    assert_eq!(ann.expect_presence().await, ["Ann", "Bob", "Cid"]);
    assert_eq!(bob.expect_presence().await, ["Ann", "Bob", "Cid"]);

    bob.send_text(r#"{"type":"leave","room":"lobby"}"#).await;
    assert_eq!(ann.expect_presence().await, ["Ann", "Cid"]);
    assert_eq!(cid.expect_presence().await, ["Ann", "Cid"]);
    bob.expect_silence().await;

    drop(cid);
    assert_eq!(
        ann.expect_presence().await,
        ["Ann"],
        "a dropped connection leaves its rooms"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_member_of_one_room_gets_nothing_from_another() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    let mut bob = server.connect_as(" Bob ").await;
    ann.join("room-a").await;
    bob.join("room-b").await;

    ann.say("room-a", "only for a", None).await;
    ann.send_text(r#"{"type":"typing","room":"room-a"}"#).await;
    assert_eq!(ann.next_message().await.text.as_str(), "only for a");
    bob.expect_silence().await;

    bob.say("room-b", "only for b", None).await;
    let message = bob.next_message().await;
    assert_eq!(
        (message.room.as_str(), message.id),
        ("room-b", 1),
        "ids are per room"
    );
    ann.expect_silence().await;
    server.stop().await;
}

#[tokio::test]
async fn one_connection_can_be_in_several_rooms_under_its_accounts_name() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann Smith").await;
    let mut bob = server.connect_as("Bob").await;
    ann.join("work").await;
    ann.join("fun").await;
    bob.join("fun").await;
    assert_eq!(ann.expect_presence().await, ["Ann Smith", "Bob"]);

    bob.say("fun", "hi annie", None).await;
    let message = ann.next_message().await;
    assert_eq!(message.room.as_str(), "fun");
    ann.say("work", "busy", None).await;
    let message = ann.next_message().await;
    assert_eq!(
        (message.room.as_str(), message.name.as_str()),
        ("work", "Ann Smith")
    );
    // Bob got his own message and nothing from "work".
    assert_eq!(bob.next_message().await.text.as_str(), "hi annie");
    bob.expect_silence().await;
    server.stop().await;
}

#[tokio::test]
async fn typing_reaches_the_other_members_only() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;

    ann.send_text(r#"{"type":"typing","room":"lobby"}"#).await;
    match bob.recv().await {
        ServerFrame::Typing { room, name, .. } => {
            assert_eq!((room.as_str(), name.as_str()), ("lobby", "Ann"));
        }
        other => panic!("expected typing, got {other:?}"),
    }
    ann.expect_silence().await;
    server.stop().await;
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

#[tokio::test]
async fn shutting_down_closes_every_socket_with_1001_and_keeps_what_was_sent() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    ann.say("lobby", "before the shutdown", None).await;
    ann.next_message().await;
    server.stop().await;

    let close = loop {
        match ann.ws.next().await {
            Some(Ok(Message::Close(close))) => break close.expect("a close frame with a code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), CloseCode::GoingAway.code());
    assert_eq!(close.reason.as_str(), "server shutting down");

    let server = TestServer::start(&db.path()).await;
    let mut bob = server.connect_as(" Bob ").await;
    let joined = bob.join("lobby").await;
    assert_eq!(joined.history.len(), 1);
    server.stop().await;
}
