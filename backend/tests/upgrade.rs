//! Upgrades lose nothing: databases written by earlier releases
//! (`tests/fixtures/`, described in its README) are opened by this build,
//! which migrates them, and every room, message, id and nonce is found; a
//! server started on one carries on each room's ids after the last.
//!
//! Every release that changes the schema adds its own fixture here. A
//! PostgreSQL database of an earlier schema is made by running that
//! release's migrations (kept as released in `store::postgres::MIGRATIONS`)
//! on a fresh database of the test server.
//!
//! Accounts came with SQLite's schema version 3 (PostgreSQL's 2): a
//! database from before them gets the empty tables and keeps every
//! message, whose authors are names without accounts. Rooms' kinds,
//! owners and members came with SQLite's version 5 (PostgreSQL's 4): a
//! room from before is public, has no owner, title or member, and keeps
//! its ids and messages.

mod support;

use chat_server::store::accounts::LinkKind;
use chat_server::store::rooms::{Access, Added, Created, NewRoom, RoomRecord};
use chat_server::store::{
    postgres, schema, sqlite, AccountStore, Draft, HistoryQuery, MessageStore, Posted,
    PostgresStore, RoomStore, SqliteStore,
};
use common::{MessageId, RoomKind, RoomName, RoomRole, RoomTopic, UserId};
use std::path::{Path, PathBuf};
use support::postgres::{fresh_database, PgDatabase};
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
        author: None,
        room: RoomName::parse("lobby").expect("valid"),
        name: common::DisplayName::parse("Ann").expect("valid"),
        text: common::MessageText::parse("after the upgrade").expect("valid"),
        nonce: Some(common::Nonce::parse("lobby-n1").expect("valid")),
        mentions: Vec::new(),
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
    let mut ann = server.connect_as("Ann").await;
    let joined = ann.join("lobby").await;
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
async fn a_release_1_database_reaches_the_newest_version_with_its_messages_and_no_accounts() {
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
        // Written before accounts: their authors are names only.
        assert!(
            all.iter()
                .all(|message| message.user_id.is_none() && message.username.is_none()),
            "{room_name}"
        );
        messages += all.len();
    }
    assert_eq!(messages, 20, "every message of the fixture");
    store.close().await.expect("closes");

    let conn = rusqlite::Connection::open(db.path()).expect("opens");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("reads");
    assert_eq!(
        version,
        chat_server::store::schema::latest(chat_server::store::sqlite::MIGRATIONS)
    );
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

/// The newest message's time of each room of `release-1.db` (see its
/// README: message `k` of the fixture, counted across rooms).
const RELEASE_1_LAST_TS: [u64; 3] = [1_795_000_012_000, 1_795_000_017_000, 1_795_000_020_000];

/// Rooms from before rooms had kinds and members (SQLite's migration 5,
/// PostgreSQL's 4), after the upgrade: public, without an owner, a title
/// or a topic, not archived, made when their newest message was, with
/// their ids and every message; nobody is a member, banned or audited.
/// Then a member added has read all there was, and making one of them
/// again finds it. `expected` is each room's name, last id and newest
/// message's time, the least recently active first.
async fn assert_rooms_as_before(
    rooms: &dyn RoomStore,
    messages: &dyn MessageStore,
    expected: &[(&str, MessageId, u64)],
) {
    const SOMEONE: UserId = 1;
    let mut records = Vec::new();
    for &(name, last_id, last_ts) in expected {
        let room = RoomName::parse(name).expect("valid");
        let record = rooms.room(&room).await.expect("reads").expect("kept");
        assert_eq!(
            record,
            RoomRecord {
                room: room.clone(),
                kind: RoomKind::Public,
                title: None,
                topic: RoomTopic::default(),
                owner: None,
                archived: false,
                last_id,
                created_ms: last_ts,
            }
        );
        let kept = messages.messages_after(&room, 0, 100).await.expect("reads");
        let ids: Vec<MessageId> = kept.iter().map(|message| message.id).collect();
        assert_eq!(ids, (1..=last_id).collect::<Vec<_>>(), "{name}");
        assert!(rooms.members(&room).await.expect("reads").is_empty());
        assert!(rooms.bans(&room).await.expect("reads").is_empty());
        assert_eq!(
            rooms.access(&room, SOMEONE).await.expect("reads"),
            Access::Outsider(record.clone())
        );
        records.push(record);
    }
    records.reverse();
    assert_eq!(rooms.public_rooms(10).await.expect("reads"), records);
    assert!(rooms.audit_log(None, 10).await.expect("reads").is_empty());
    assert!(rooms.rooms_of(SOMEONE).await.expect("reads").is_empty());

    let oldest = records.last().expect("a room").clone();
    let added = rooms.add_member(&oldest.room, SOMEONE, RoomRole::Member, now_ms());
    assert_eq!(added.await.expect("added"), Added::New);
    let listed = rooms.rooms_of(SOMEONE).await.expect("reads");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].member.last_read, listed[0].unread),
        (oldest.last_id, 0)
    );
    let again = NewRoom {
        room: oldest.room.clone(),
        kind: RoomKind::Private,
        title: None,
        topic: RoomTopic::default(),
        owner: Some(SOMEONE),
        members: Vec::new(),
        now: now_ms(),
    };
    let answer = rooms.create_room(again).await.expect("answered");
    assert_eq!(answer, Created::Existing(oldest));
}

#[tokio::test]
async fn a_release_1_database_s_rooms_become_public_and_ownerless_with_their_ids() {
    let db = copy_of("release-1.db");
    let store = SqliteStore::open(&db.path()).expect("opens and migrates");
    let expected: Vec<(&str, MessageId, u64)> = RELEASE_1_ROOMS
        .iter()
        .zip(RELEASE_1_LAST_TS)
        .map(|(&(name, count), last_ts)| (name, count, last_ts))
        .collect();
    assert_rooms_as_before(&store, &store, &expected).await;
    store.close().await.expect("closes");
}

/// The rooms of the PostgreSQL database of schema 1 that
/// [`postgres_schema_1`] writes, with their messages.
const POSTGRES_1_ROOMS: [(&str, i64); 2] = [("lobby", 4), ("rust", 2)];

/// A PostgreSQL database as the first release left it (schema version 1:
/// the messages and rooms tables, written by its statements), with the
/// rooms of [`POSTGRES_1_ROOMS`], whose message `id` was written at
/// `recent + id` (a minute ago: within the nonce window).
async fn postgres_schema_1() -> (PgDatabase, i64) {
    let database = fresh_database().await;
    let client = database.client().await;
    client
        .batch_execute(postgres::MIGRATIONS[0].sql)
        .await
        .expect("schema 1");
    // As release 1 recorded its version, and wrote its messages.
    client
        .batch_execute(
            "CREATE TABLE chat_schema (
                 only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                 version  BIGINT  NOT NULL);
             INSERT INTO chat_schema (version) VALUES (1);",
        )
        .await
        .expect("version 1");
    let recent = i64::try_from(now_ms()).expect("fits") - 60_000;
    for (room, count) in POSTGRES_1_ROOMS {
        for id in 1..=count {
            let name = AUTHORS[id as usize % 3];
            let nonce = format!("{room}-n{id}");
            client
                .execute(
                    "INSERT INTO messages (room, id, name, text, ts, nonce) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&room, &id, &name, &format!("message {id} of {room}"), &(recent + id), &nonce],
                )
                .await
                .expect("a release-1 message");
        }
        client
            .execute(
                "INSERT INTO rooms (room, last_id, last_ts) VALUES ($1, $2, $3)",
                &[&room, &count, &(recent + count)],
            )
            .await
            .expect("a release-1 room");
    }
    (database, recent)
}

/// A PostgreSQL database of schema 1, opened by this build: it migrates,
/// keeps every message, id and nonce, and carries on each room's ids.
#[tokio::test]
async fn a_postgresql_database_of_schema_1_opens_with_every_message_and_continues() {
    let (database, _) = postgres_schema_1().await;
    let client = database.client().await;
    let store = PostgresStore::connect(database.url())
        .await
        .expect("opens and migrates");
    let lobby = RoomName::parse("lobby").expect("valid");
    assert_eq!(store.last_id(&lobby).await.expect("reads"), 4);
    let all = HistoryQuery {
        after: None,
        before: None,
        limit: 100,
    };
    let page = store.history(&lobby, all).await.expect("reads");
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "message 1 of lobby",
            "message 2 of lobby",
            "message 3 of lobby",
            "message 4 of lobby"
        ]
    );
    // A nonce release 1 stored, within the window, is a repeat; a new
    // post gets the room's next id.
    let draft = |text: &str, nonce: &str| Draft {
        author: None,
        room: lobby.clone(),
        name: common::DisplayName::parse(AUTHORS[2]).expect("valid"),
        text: common::MessageText::parse(text).expect("valid"),
        nonce: Some(common::Nonce::parse(nonce).expect("valid")),
        mentions: Vec::new(),
    };
    assert_eq!(
        store
            .post(draft("again", "lobby-n2"))
            .await
            .expect("answered"),
        Posted::Repeat(2)
    );
    let Posted::New(message) = store.post(draft("new", "lobby-new")).await.expect("stored") else {
        panic!("a new nonce makes a new message");
    };
    assert_eq!(message.id, 5);
    store.close().await.expect("closes");

    let version: i64 = client
        .query_one("SELECT version FROM chat_schema", &[])
        .await
        .expect("reads")
        .get(0);
    assert_eq!(version, schema::latest(postgres::MIGRATIONS));
}

/// Now, in milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// The rooms of a PostgreSQL database of schema 1, after the upgrade, are
/// as they were (see [`assert_rooms_as_before`]).
#[tokio::test]
async fn a_postgresql_database_of_schema_1_s_rooms_become_public_and_ownerless_with_their_ids() {
    let (database, recent) = postgres_schema_1().await;
    let store = PostgresStore::connect(database.url())
        .await
        .expect("opens and migrates");
    let expected: Vec<(&str, MessageId, u64)> = POSTGRES_1_ROOMS
        .iter()
        .map(|&(name, count)| {
            let last_ts = u64::try_from(recent + count).expect("after 1970");
            (name, count as MessageId, last_ts)
        })
        .collect();
    // The least recently active first.
    let expected: Vec<_> = expected.into_iter().rev().collect();
    assert_rooms_as_before(&store, &store, &expected).await;
    store.close().await.expect("closes");
}
