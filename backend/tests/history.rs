//! History: on join, with `since`, across restarts, and over the HTTP API.

mod support;

use common::api::{
    MessagePage, RoomSummary, JOIN_HISTORY_LIMIT, MAX_PAGE_LIMIT, SINCE_HISTORY_LIMIT,
};
use common::{ErrorCode, ErrorFrame};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{ids, Client, TempDb, TestServer};

/// Posts `count` messages as the (joined) `client` and waits for them all.
/// Each has a nonce of its own: a repeated nonce would be a resend.
async fn post(client: &mut Client, room: &str, count: usize) -> Vec<u64> {
    static NEXT_NONCE: AtomicUsize = AtomicUsize::new(0);
    for i in 0..count {
        let nonce = NEXT_NONCE.fetch_add(1, Ordering::Relaxed);
        client
            .say(room, &format!("message {i}"), Some(&format!("n{nonce}")))
            .await;
    }
    let mut posted = Vec::with_capacity(count);
    for _ in 0..count {
        posted.push(client.next_message().await.id);
    }
    posted
}

#[tokio::test]
async fn a_join_gets_the_last_messages_oldest_first() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    post(&mut ann, "lobby", 3).await;

    let mut bob = server.connect_as("Bob").await;
    let joined = bob.join("lobby").await;
    assert_eq!(ids(&joined.history), [1, 2, 3]);
    assert_eq!(joined.history[0].text.as_str(), "message 0");
    assert!(!joined.has_older);

    post(&mut ann, "lobby", JOIN_HISTORY_LIMIT).await;
    let mut cid = server.connect_as("Cid").await;
    let joined = cid.join("lobby").await;
    let expected: Vec<u64> = (4..=3 + JOIN_HISTORY_LIMIT as u64).collect();
    assert_eq!(
        ids(&joined.history),
        expected,
        "the last {JOIN_HISTORY_LIMIT}"
    );
    assert!(joined.has_older, "older messages exist");
    server.stop().await;
}

#[tokio::test]
async fn since_returns_exactly_the_missed_messages() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    let mut bob = server.connect_as("Bob").await;
    bob.join("lobby").await;
    post(&mut ann, "lobby", 5).await;
    let mut last_seen = 0;
    for _ in 0..5 {
        last_seen = bob.next_message().await.id;
    }
    assert_eq!(last_seen, 5);

    // Bob drops; Ann goes on; Bob comes back with `since`.
    drop(bob);
    assert_eq!(
        ann.expect_presence().await,
        ["Ann"],
        "the server saw Bob go"
    );
    let missed = post(&mut ann, "lobby", 7).await;
    let mut bob = server.connect_as("Bob").await;
    let joined = bob.join_since("lobby", Some(last_seen)).await;
    assert_eq!(ids(&joined.history), missed);
    assert!(!joined.has_older);

    // Nothing is missed between the history and live messages either.
    ann.say("lobby", "after the rejoin", None).await;
    assert_eq!(bob.next_message().await.id, 13);

    // Up to date: an empty history.
    let mut cid = server.connect_as("Cid").await;
    let joined = cid.join_since("lobby", Some(13)).await;
    assert!(joined.history.is_empty());
    assert!(!joined.has_older);
    server.stop().await;
}

#[tokio::test]
async fn since_is_capped_and_says_so() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    let total = SINCE_HISTORY_LIMIT + 5;
    post(&mut ann, "lobby", total).await;

    let mut bob = server.connect_as("Bob").await;
    let joined = bob.join_since("lobby", Some(0)).await;
    assert_eq!(joined.history.len(), SINCE_HISTORY_LIMIT);
    assert_eq!(
        joined.history.first().map(|m| m.id),
        Some(6),
        "the newest ones"
    );
    assert_eq!(joined.history.last().map(|m| m.id), Some(total as u64));
    assert!(joined.has_older, "the cap cut the history short");

    // The rest is one API call away.
    let url = server.url("/api/rooms/lobby/messages?before=6");
    let page: MessagePage = support::get_json(url).await;
    assert_eq!(ids(&page.messages), [1, 2, 3, 4, 5]);
    assert!(!page.has_older);
    server.stop().await;
}

#[tokio::test]
async fn history_and_ids_survive_a_restart() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    post(&mut ann, "lobby", 3).await;
    drop(ann);
    server.stop().await;

    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    let joined = ann.join("lobby").await;
    assert_eq!(ids(&joined.history), [1, 2, 3]);
    assert_eq!(joined.history[2].text.as_str(), "message 2");
    assert_eq!(
        joined.history[2].nonce.as_ref().map(|n| n.as_str()),
        Some("n2")
    );
    assert_eq!(
        post(&mut ann, "lobby", 2).await,
        [4, 5],
        "ids go on where they stopped"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_room_list_shows_members_and_last_ids() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("busy").await;
    post(&mut ann, "busy", 2).await;
    let mut bob = server.connect_as("Bob").await;
    bob.join("quiet").await;
    let mut cid = server.connect_as("Cid").await;
    cid.join("busy").await;

    let rooms: Vec<RoomSummary> = support::get_json(server.url("/api/rooms")).await;
    let summary: Vec<(String, u32, u64)> = rooms
        .into_iter()
        .map(|r| (r.room.to_string(), r.members, r.last_id))
        .collect();
    // The most recently active first: "quiet" was made after busy's
    // messages.
    assert_eq!(
        summary,
        [("quiet".to_owned(), 1, 0), ("busy".to_owned(), 2, 2)]
    );

    // A room with history but nobody in it is still listed.
    drop(ann);
    drop(cid);
    bob.round_trip().await;
    let deadline = tokio::time::Instant::now() + support::FRAME_TIMEOUT;
    loop {
        let rooms: Vec<RoomSummary> = support::get_json(server.url("/api/rooms")).await;
        let busy = rooms
            .iter()
            .find(|r| r.room.as_str() == "busy")
            .expect("busy is listed");
        if busy.members == 0 {
            assert_eq!(busy.last_id, 2);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "members never dropped to 0"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn history_pages_go_back_in_time() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    post(&mut ann, "lobby", 10).await;
    let page = |query: &str| {
        support::get_json::<MessagePage>(server.url(&format!("/api/rooms/lobby/messages{query}")))
    };

    let newest = page("?limit=4").await;
    assert_eq!(ids(&newest.messages), [7, 8, 9, 10]);
    assert!(newest.has_older);
    let older = page("?before=7&limit=4").await;
    assert_eq!(ids(&older.messages), [3, 4, 5, 6]);
    let oldest = page("?before=3&limit=4").await;
    assert_eq!(ids(&oldest.messages), [1, 2]);
    assert!(!oldest.has_older);
    assert_eq!(
        page("").await.messages.len(),
        10,
        "default limit covers all 10"
    );
    assert!(page("?before=1").await.messages.is_empty());
    // A room that does not exist has no page: the answer a private room's
    // outsider gets too, so that the two cannot be told apart.
    let never_used =
        support::accounts::reader_get(&server.url("/api/rooms/never-used/messages")).await;
    assert_eq!(never_used.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn history_page_limit_is_capped() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    post(&mut ann, "lobby", MAX_PAGE_LIMIT + 1).await;
    let url = server.url(&format!(
        "/api/rooms/lobby/messages?limit={}",
        MAX_PAGE_LIMIT * 10
    ));
    let page: MessagePage = support::get_json(url).await;
    assert_eq!(page.messages.len(), MAX_PAGE_LIMIT);
    assert!(page.has_older);
    server.stop().await;
}

#[tokio::test]
async fn bad_history_requests_get_json_errors() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    for (path, code) in [
        ("/api/rooms/Not%20Valid/messages", ErrorCode::InvalidRoom),
        (
            "/api/rooms/lobby/messages?before=soon",
            ErrorCode::BadRequest,
        ),
        ("/api/rooms/lobby/messages?limit=-1", ErrorCode::BadRequest),
        ("/api/rooms/lobby/messages?limit=0", ErrorCode::BadRequest),
    ] {
        let response = support::accounts::reader_get(&server.url(path)).await;
        assert_eq!(response.status(), 400, "{path}");
        let error: ErrorFrame = response.json().await.expect("JSON error body");
        assert_eq!(error.code, code, "{path}");
    }
    let response = reqwest::get(server.url("/api/nothing-here"))
        .await
        .expect("GET");
    assert_eq!(response.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn a_room_full_of_heavily_escaped_messages_can_still_be_joined() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("noisy").await;
    // A quote or a backslash takes two bytes in JSON: each message is 8 KB
    // on the wire for 4 KB of text, so a history cut by raw text size would
    // hold twice the budget once encoded.
    const POSTS: usize = 100;
    let text = "\"\\".repeat(2_000);
    for _ in 0..POSTS {
        ann.say("noisy", &text, None).await;
    }
    for _ in 0..POSTS {
        ann.next_message().await;
    }

    let mut bob = server.connect_as("Bob").await;
    let joined = bob.join_since("noisy", Some(0)).await;
    assert!(joined.has_older, "the history was cut to fit");
    assert!(!joined.history.is_empty());
    let encoded: usize = joined
        .history
        .iter()
        .map(|m| serde_json::to_string(&m.text).expect("JSON").len())
        .sum();
    assert!(
        encoded <= common::api::HISTORY_MAX_BYTES,
        "{encoded} bytes of text"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_in_memory_server_keeps_history_while_it_runs_and_writes_no_file() {
    let db = TempDb::sqlite();
    let server = TestServer::start_with(&db.path(), &["--db", ":memory:"]).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    let posted = post(&mut ann, "lobby", 3).await;
    let mut bob = server.connect_as("Bob").await;
    let joined = bob.join("lobby").await;
    assert_eq!(ids(&joined.history), posted);
    let page: MessagePage = support::get_json(server.url("/api/rooms/lobby/messages")).await;
    assert_eq!(ids(&page.messages), posted);
    server.stop().await;
    assert!(!std::path::Path::new(":memory:").exists());
    assert!(!std::path::Path::new(":memory:.lock").exists());
}
