//! Read state and mentions with open connections: what one connection
//! (or the HTTP side) marks read reaches every connection of the person,
//! and the room list counts what came after, and who it called.

use super::start;
use super::support::accounts::{token_for, Api};
use super::support::rooms::{ann_and_bob_in, expect_read, mark_read, membership, say, socket};
use super::support::TempDb;
use serde_json::json;

/// One person, two connections (one in the room, one not): a read marked
/// over HTTP reaches both, and the room list counts from it.
async fn read_state_follows_every_connection(db: TempDb) {
    let (_db, server, p) = start(db).await;
    let (mut ann, mut bob_in) = ann_and_bob_in(&p, "news", &server, &server).await;
    let mut bob_out = socket(&p.bob, &server).await;
    for text in ["one", "two", "three"] {
        ann.say("news", text, Some(text)).await;
        assert_eq!(bob_in.next_message().await.text.as_str(), text);
    }
    assert_eq!(membership(&p.bob, "news").await["unread"], 3);

    assert_eq!(mark_read(&p.bob, "news", 3).await, 3);
    for bob in [&mut bob_in, &mut bob_out] {
        assert_eq!(expect_read(bob, "news").await, 3);
    }
    // It is Bob's own: Ann hears nothing of it.
    for _ in 0..3 {
        ann.next_message().await;
    }
    ann.expect_silence().await;
    let read = membership(&p.bob, "news").await;
    assert_eq!(
        (&read["last_read"], &read["unread"]),
        (&json!(3), &json!(0))
    );

    for text in ["four", "five"] {
        ann.say("news", text, Some(text)).await;
        assert_eq!(bob_in.next_message().await.text.as_str(), text);
    }
    assert_eq!(membership(&p.bob, "news").await["unread"], 2);
    // Reading every room is told room by room.
    let all = p.bob.post("/api/me/read-all", &json!({})).await;
    assert_eq!(all.u64("/rooms"), 1, "{all:?}");
    for bob in [&mut bob_in, &mut bob_out] {
        assert_eq!(expect_read(bob, "news").await, 5);
    }
    assert_eq!(membership(&p.bob, "news").await["unread"], 0);
    server.stop().await;
}

#[tokio::test]
async fn read_state_follows_every_connection_of_the_person() {
    read_state_follows_every_connection(TempDb::new()).await;
}

#[tokio::test]
async fn read_state_follows_every_connection_on_postgres() {
    read_state_follows_every_connection(TempDb::postgres()).await;
}

/// A post that names Bob counts in his room list, from a WebSocket and
/// from the HTTP API, until he reads it.
async fn mentions_count_until_read(db: TempDb) {
    let (_db, server, p) = start(db).await;
    let (mut ann, mut bob) = ann_and_bob_in(&p, "talk", &server, &server).await;

    ann.say("talk", "hi @bob", Some("h1")).await;
    assert_eq!(bob.next_message().await.text.as_str(), "hi @bob");
    let mine = membership(&p.bob, "talk").await;
    assert_eq!((&mine["mentions"], &mine["unread"]), (&json!(1), &json!(1)));
    assert_eq!(membership(&p.ann, "talk").await["mentions"], 0);

    assert_eq!(mark_read(&p.bob, "talk", 1).await, 1);
    assert_eq!(expect_read(&mut bob, "talk").await, 1);
    let mine = membership(&p.bob, "talk").await;
    assert_eq!((&mine["mentions"], &mine["unread"]), (&json!(0), &json!(0)));

    // Over HTTP: a bot with its token (posting without joining, in a
    // public room), and a member; a name in an address calls nobody.
    let hook = Api::new(server.addr).with_bearer(&token_for(server.addr, "Hook").await);
    assert_eq!(say(&hook, "talk", "@Bob, look").await.status, 201);
    assert_eq!(
        say(&p.ann, "talk", "mail bob@example.org").await.status,
        201
    );
    for text in ["@Bob, look", "mail bob@example.org"] {
        assert_eq!(bob.next_message().await.text.as_str(), text);
    }
    let mine = membership(&p.bob, "talk").await;
    assert_eq!((&mine["mentions"], &mine["unread"]), (&json!(1), &json!(2)));
    assert_eq!(mark_read(&p.bob, "talk", 3).await, 3);
    assert_eq!(membership(&p.bob, "talk").await["mentions"], 0);
    server.stop().await;
}

#[tokio::test]
async fn mentions_count_until_they_are_read() {
    mentions_count_until_read(TempDb::new()).await;
}

#[tokio::test]
async fn mentions_count_until_they_are_read_on_postgres() {
    mentions_count_until_read(TempDb::postgres()).await;
}
