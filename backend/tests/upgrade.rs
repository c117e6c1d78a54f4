//! Upgrades lose nothing: databases written by earlier releases
//! (`tests/fixtures/`, described in its README) are opened by this build,
//! which migrates them, and every room, message, id and nonce is found; a
//! server started on one carries on each room's ids after the last.
//!
//! Every release that changes the schema adds its own fixture here.
//!
//! Accounts came with SQLite's schema version 3 (PostgreSQL's 2): a
//! database from before them gets the empty tables and keeps every
//! message, whose authors are names without accounts.

mod support;

use chat_server::store::accounts::LinkKind;
use chat_server::store::{
    postgres, schema, sqlite, AccountStore, Draft, HistoryQuery, MessageStore, Posted,
    PostgresStore, SqliteStore,
};
use common::{MessageId, RoomName};
use std::path::{Path, PathBuf};
use support::postgres::fresh_database;
use support::{TempDb, TestServer};

/// The tables of accounts (SQLite's migration 3, PostgreSQL's 2).
const ACCOUNT_TABLES: [&str; 4] = ["accounts", "api_tokens", "links", "sessions"];

/// The rooms of `release-1.db`, oldest activity first, with their messages.
const RELEASE_1_ROOMS: [(&str, MessageId); 3] = [("lobby", 12), ("rust", 5), ("cafe-talk", 3)];

/// The authors of `release-1.db`: message `id` is by `AUTHORS[id % 3]`.
const AUTHORS: [&str; 3] = ["Ann", "Bob", "Zoë"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A copy of a fixture in a temporary directory (the original stays as
/// the release wrote it).
fn copy_of(name: &str) -> TempDb {
    let db = TempDb::new();
    std::fs::copy(fixture(name), db.path()).expect("copies the fixture");
    db
}

/// What message `id` of `room` in `release-1.db` says.
fn release_1_text(room: &str, id: MessageId) -> String {
    match id {
        1 => format!("first message in {room} 👋"),
        2 => "<b>html stays text</b> & \"quotes\"".to_owned(),
        3 => "line one\nline two\ttab".to_owned(),
        _ => format!("message {id} of {room}"),
    }
}

#[tokio::test]
async fn a_release_1_database_opens_with_every_message_id_and_nonce() {
    let db = copy_of("release-1.db");
    let store = SqliteStore::open(&db.path()).expect("opens and migrates");
    let mut ts = 1_795_000_000_000;
    for (room_name, count) in RELEASE_1_ROOMS {
        let room = RoomName::parse(room_name).expect("valid");
        assert_eq!(store.last_id(&room).await.expect("reads"), count);
        let all = HistoryQuery {
            after: None,
            before: None,
            limit: 100,
        };
        let page = store.history(&room, all).await.expect("reads");
        assert_eq!(page.messages.len() as u64, count, "{room_name}");
        assert!(!page.has_older);
        for (message, id) in page.messages.iter().zip(1..) {
            ts += 1_000;
            assert_eq!(message.id, id);
            assert_eq!(message.ts, ts, "{room_name} {id}");
            assert_eq!(message.name.as_str(), AUTHORS[id as usize % 3]);
            assert_eq!(message.text.as_str(), release_1_text(room_name, id));
            let nonce = (id % 3 != 0).then(|| format!("{room_name}-n{id}"));
            assert_eq!(message.nonce.as_ref().map(|n| n.as_str().to_owned()), nonce);
        }
        let nonces = store.recent_nonces(&room, 0, 100).await.expect("reads");
        let expected: Vec<MessageId> = (1..=count).rev().filter(|id| id % 3 != 0).collect();
        assert_eq!(
            nonces.iter().map(|record| record.id).collect::<Vec<_>>(),
            expected,
            "{room_name}"
        );
    }
    let rooms = store.recent_rooms(10).await.expect("reads");
    let names: Vec<_> = rooms.iter().map(|room| room.room.as_str()).collect();
    assert_eq!(names, ["cafe-talk", "rust", "lobby"]);
    store.close().await.expect("closes");

    // Every migration was applied: version 2 added the index by nonce,
    // version 3 the accounts.
    let conn = rusqlite::Connection::open(db.path()).expect("opens");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("reads");
    assert_eq!(version, schema::latest(sqlite::MIGRATIONS));
    let index: String = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'messages_by_nonce'",
            [],
            |row| row.get(0),
        )
        .expect("the index by nonce exists");
    assert_eq!(index, "messages_by_nonce");
}

#[tokio::test]
async fn a_nonce_used_after_the_upgrade_is_told_as_a_repeat() {
    // The fixture's messages are older than the nonce window: its own
    // `lobby-n1` makes a new message now, which the upgraded store then
    // finds by its nonce (migration 2's index).
    let db = copy_of("release-1.db");
    let store = SqliteStore::open(&db.path()).expect("opens and migrates");
    let draft = Draft {
        room: RoomName::parse("lobby").expect("valid"),
        name: common::DisplayName::parse("Ann").expect("valid"),
        text: common::MessageText::parse("after the upgrade").expect("valid"),
        nonce: Some(common::Nonce::parse("lobby-n1").expect("valid")),
    };
    let Posted::New(message) = store.post(draft.clone()).await.expect("stored") else {
        panic!("the fixture's own lobby-n1 is older than the window: a new message");
    };
    assert_eq!(message.id, 13);
    assert_eq!(
        store.post(draft).await.expect("answered"),
        Posted::Repeat(13)
    );
    store.close().await.expect("closes");
}

#[tokio::test]
async fn a_server_on_a_release_1_database_continues_each_room() {
    let db = copy_of("release-1.db");
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect().await;
    let joined = ann.join("lobby", "Ann").await;
    assert_eq!(
        joined.history.last().map(|message| message.id),
        Some(12),
        "the history is there"
    );
    ann.say("lobby", "after the upgrade", Some("upgrade-1"))
        .await;
    assert_eq!(ann.next_message().await.id, 13);
    server.stop().await;
}

#[tokio::test]
async fn a_release_1_database_reaches_version_3_with_its_messages_and_no_accounts() {
    let db = copy_of("release-1.db");
    let store = SqliteStore::open(&db.path()).expect("opens and migrates");
    assert_eq!(store.count_accounts().await.expect("reads"), 0);
    assert!(store.accounts().await.expect("reads").is_empty());
    for kind in [LinkKind::Setup, LinkKind::Invite, LinkKind::Reset] {
        assert!(store.links(kind).await.expect("reads").is_empty());
    }
    let mut messages = 0;
    for (room_name, count) in RELEASE_1_ROOMS {
        let room = RoomName::parse(room_name).expect("valid");
        let all = store.messages_after(&room, 0, 100).await.expect("reads");
        assert_eq!(all.len() as u64, count, "{room_name}");
        messages += all.len();
    }
    assert_eq!(messages, 20, "every message of the fixture");
    store.close().await.expect("closes");

    let conn = rusqlite::Connection::open(db.path()).expect("opens");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("reads");
    assert_eq!(version, 3);
    let mut statement = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name IN ('accounts', 'sessions', 'api_tokens', 'links') ORDER BY name",
        )
        .expect("prepares");
    let tables: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads");
    assert_eq!(tables, ACCOUNT_TABLES);
}

/// A PostgreSQL database as the first release with PostgreSQL left it
/// (schema version 1, its migration as released), with messages: the new
/// code migrates it to version 2, keeps them, and has no accounts.
#[tokio::test]
async fn a_postgres_database_of_version_1_gets_the_account_tables_and_keeps_its_messages() {
    let database = fresh_database().await;
    let client = database.client().await;
    client
        .batch_execute(postgres::MIGRATIONS[0].sql)
        .await
        .expect("schema version 1");
    client
        .batch_execute(
            "CREATE TABLE chat_schema (
                 only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                 version  BIGINT  NOT NULL
             );
             INSERT INTO chat_schema (version) VALUES (1);
             INSERT INTO messages (room, id, name, text, ts, nonce) VALUES
                 ('lobby', 1, 'Ann', 'first 👋', 1795000001000, 'n-1'),
                 ('lobby', 2, 'Bob', 'second', 1795000002000, NULL);
             INSERT INTO rooms (room, last_id, last_ts) VALUES ('lobby', 2, 1795000002000);",
        )
        .await
        .expect("a version 1 database with messages");

    let store = PostgresStore::connect(database.url())
        .await
        .expect("connects and migrates");
    let lobby = RoomName::parse("lobby").expect("valid");
    let messages = store.messages_after(&lobby, 0, 10).await.expect("reads");
    let texts: Vec<(&str, &str)> = messages
        .iter()
        .map(|message| (message.name.as_str(), message.text.as_str()))
        .collect();
    assert_eq!(texts, [("Ann", "first 👋"), ("Bob", "second")]);
    assert_eq!(store.count_accounts().await.expect("reads"), 0);
    store.close().await.expect("closes");

    let version: i64 = client
        .query_one("SELECT version FROM chat_schema", &[])
        .await
        .expect("reads")
        .get(0);
    assert_eq!(version, schema::latest(postgres::MIGRATIONS));
    assert_eq!(version, 2);
    let rows = client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables \
             WHERE table_name = ANY($1) ORDER BY table_name",
            &[&&ACCOUNT_TABLES[..]],
        )
        .await
        .expect("reads");
    let tables: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(tables, ACCOUNT_TABLES);
}
