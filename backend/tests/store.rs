//! The store conformance suite: every test of the `MessageStore` contract
//! runs against each backend, the memory store, SQLite on a real file, and
//! a real PostgreSQL server (see `support::postgres`), so the hub can rely
//! on one behaviour whichever `--db` is given.
//!
//! Each test is written once, as an `async fn` taking a [`Backend`]; the
//! `conformance!` macro makes one `#[tokio::test]` per backend of it
//! (`memory::…`, `sqlite::…`, `postgres::…`). What only PostgreSQL is
//! asked to do (two stores on one database, as the instances of a
//! cluster) is at the end.

mod support;

use chat_server::store::{
    Draft, Durability, ErrorKind, HistoryQuery, MemoryStore, MessageStore, Posted, PostgresStore,
    SqliteStore, MAX_WRITE_BATCH,
};
use common::api::HISTORY_MAX_BYTES;
use common::{ChatMessage, DisplayName, MessageId, Nonce, RoomName};
use std::sync::Arc;
use support::postgres::{fresh_database, PgDatabase};
use support::stores::draft;
use tempfile::TempDir;

/// Where a test's store lives, so that it can be opened again.
enum Backend {
    Memory,
    Sqlite(TempDir),
    Postgres(PgDatabase),
}

/// An opened store, with what only some backends tell.
enum Opened {
    Memory(Arc<MemoryStore>),
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

impl Backend {
    fn memory() -> Self {
        Self::Memory
    }

    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    async fn postgres() -> Self {
        Self::Postgres(fresh_database().await)
    }

    /// Opens the store (again, for the durable backends).
    async fn open(&self) -> Opened {
        match self {
            Self::Memory => Opened::Memory(Arc::new(MemoryStore::new())),
            Self::Sqlite(dir) => Opened::Sqlite(Arc::new(
                SqliteStore::open_with(&dir.path().join("chat.db"), Durability::Process)
                    .expect("opens"),
            )),
            Self::Postgres(db) => Opened::Postgres(Arc::new(
                PostgresStore::connect(db.url()).await.expect("connects"),
            )),
        }
    }

    /// Whether what was committed is there when the store is opened again.
    fn is_durable(&self) -> bool {
        !matches!(self, Self::Memory)
    }
}

impl Opened {
    fn store(&self) -> Arc<dyn MessageStore> {
        match self {
            Self::Memory(store) => store.clone(),
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// Write transactions committed so far, for the backends that batch.
    fn commits(&self) -> Option<u64> {
        match self {
            Self::Memory(_) => None,
            Self::Sqlite(store) => Some(store.commits()),
            Self::Postgres(store) => Some(store.commits()),
        }
    }
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::memory()).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::sqlite()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::postgres().await).await;
            })*
        }
    };
}

conformance!(
    posts_get_each_room_s_next_id_and_are_read_back_with_paging,
    history_is_capped_by_text_size_too,
    messages_after_reads_a_room_forwards,
    a_repeated_nonce_is_answered_with_the_original_and_stores_nothing,
    a_repeat_queued_beside_its_original_is_told_too,
    recent_nonces_are_the_newest_in_the_window,
    rooms_are_listed_most_recently_active_first,
    times_never_go_backwards_within_a_room,
    posts_that_queue_up_share_a_transaction,
    close_commits_what_was_queued_and_refuses_later_posts,
    text_and_names_come_back_exactly,
);

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

fn with_nonce(mut draft: Draft, nonce: &str) -> Draft {
    draft.nonce = Some(Nonce::parse(nonce).expect("valid nonce"));
    draft
}

fn query(after: Option<MessageId>, before: Option<MessageId>, limit: usize) -> HistoryQuery {
    HistoryQuery {
        after,
        before,
        limit,
    }
}

fn ids(messages: &[ChatMessage]) -> Vec<MessageId> {
    messages.iter().map(|message| message.id).collect()
}

/// The message a post stored (it must not be a repeat).
fn stored(posted: Posted) -> ChatMessage {
    match posted {
        Posted::New(message) => message,
        Posted::Repeat(id) => panic!("stored as a new message, not a repeat of {id}"),
    }
}

/// Posts every draft, all queued before the first is awaited; what each
/// became, in order.
async fn post_all(
    store: &dyn MessageStore,
    drafts: impl IntoIterator<Item = Draft>,
) -> Vec<Posted> {
    let posts: Vec<_> = drafts.into_iter().map(|draft| store.post(draft)).collect();
    let mut posted = Vec::with_capacity(posts.len());
    for post in posts {
        posted.push(post.await.expect("committed"));
    }
    posted
}

/// Posts `count` messages to `room_name`, numbered from 1 in their text.
async fn post_numbered(
    store: &dyn MessageStore,
    room_name: &str,
    count: usize,
) -> Vec<ChatMessage> {
    let drafts = (1..=count).map(|n| draft(room_name, &format!("m{n}")));
    post_all(store, drafts)
        .await
        .into_iter()
        .map(stored)
        .collect()
}

async fn posts_get_each_room_s_next_id_and_are_read_back_with_paging(backend: Backend) {
    let opened = backend.open().await;
    let store = opened.store();
    let posted = post_numbered(&*store, "a", 10).await;
    assert_eq!(ids(&posted), (1..=10).collect::<Vec<_>>());
    assert_eq!(posted[0].text.as_str(), "m1");
    let other = post_numbered(&*store, "b", 1).await;
    assert_eq!(other[0].id, 1, "each room counts from 1");

    let page = store
        .history(&room("a"), query(None, None, 3))
        .await
        .expect("reads");
    assert_eq!(ids(&page.messages), [8, 9, 10]);
    assert!(page.has_older);
    assert_eq!(page.messages[0], posted[7]);

    let page = store
        .history(&room("a"), query(Some(2), Some(6), 10))
        .await
        .expect("reads");
    assert_eq!(ids(&page.messages), [3, 4, 5]);
    assert!(!page.has_older);

    let page = store
        .history(&room("nobody"), query(None, None, 10))
        .await
        .expect("reads");
    assert!(page.messages.is_empty() && !page.has_older);

    assert_eq!(store.last_id(&room("a")).await.expect("reads"), 10);
    assert_eq!(store.last_id(&room("nobody")).await.expect("reads"), 0);
    if backend.is_durable() {
        store.close().await.expect("closes");
        drop((store, opened));
        let reopened = backend.open().await.store();
        assert_eq!(reopened.last_id(&room("a")).await.expect("reads"), 10);
        let page = reopened
            .history(&room("a"), query(None, None, 20))
            .await
            .expect("reads");
        assert_eq!(page.messages, posted);
        let next = stored(reopened.post(draft("a", "after")).await.expect("committed"));
        assert_eq!(next.id, 11, "ids go on after a restart");
    }
}

async fn history_is_capped_by_text_size_too(backend: Backend) {
    let store = backend.open().await.store();
    let long = "y".repeat(common::values::TEXT_MAX_CHARS);
    let count = HISTORY_MAX_BYTES / long.len() + 10;
    post_all(&*store, (0..count).map(|_| draft("a", &long))).await;
    let page = store
        .history(&room("a"), query(None, None, count))
        .await
        .expect("reads");
    assert_eq!(page.messages.len(), HISTORY_MAX_BYTES / long.len());
    assert_eq!(
        page.messages.last().map(|m| m.id),
        Some(count as u64),
        "the newest ones"
    );
    assert!(page.has_older);
}

async fn messages_after_reads_a_room_forwards(backend: Backend) {
    let store = backend.open().await.store();
    post_numbered(&*store, "a", 7).await;
    post_numbered(&*store, "b", 1).await;
    let first = store.messages_after(&room("a"), 0, 3).await.expect("reads");
    assert_eq!(ids(&first), [1, 2, 3]);
    let rest = store
        .messages_after(&room("a"), 3, 100)
        .await
        .expect("reads");
    assert_eq!(ids(&rest), [4, 5, 6, 7]);
    assert!(store
        .messages_after(&room("a"), 7, 100)
        .await
        .expect("reads")
        .is_empty());
    let unbounded = store
        .messages_after(&room("a"), 5, usize::MAX)
        .await
        .expect("reads");
    assert_eq!(ids(&unbounded), [6, 7]);
}

async fn a_repeated_nonce_is_answered_with_the_original_and_stores_nothing(backend: Backend) {
    let opened = backend.open().await;
    let store = opened.store();
    let original = stored(
        store
            .post(with_nonce(draft("a", "once"), "n-1"))
            .await
            .expect("committed"),
    );
    assert_eq!(original.nonce.as_ref().map(Nonce::as_str), Some("n-1"));
    let mut again = with_nonce(draft("a", "once, sent again"), "n-1");
    // The same author, whose name is compared as the room compares names.
    again.name = DisplayName::parse("ANN").expect("valid name");
    assert_eq!(
        store.post(again.clone()).await.expect("answered"),
        Posted::Repeat(original.id)
    );
    // Another author's nonce, or the same nonce in another room, is new.
    let mut bob = with_nonce(draft("a", "bob's"), "n-1");
    bob.name = DisplayName::parse("Bob").expect("valid name");
    assert_eq!(stored(store.post(bob).await.expect("committed")).id, 2);
    assert_eq!(
        stored(
            store
                .post(with_nonce(draft("b", "elsewhere"), "n-1"))
                .await
                .expect("committed")
        )
        .id,
        1
    );
    assert_eq!(store.last_id(&room("a")).await.expect("reads"), 2);
    if backend.is_durable() {
        store.close().await.expect("closes");
        drop((store, opened));
        let reopened = backend.open().await.store();
        assert_eq!(
            reopened.post(again).await.expect("answered"),
            Posted::Repeat(original.id),
            "nonces are known after a restart"
        );
    }
}

async fn a_repeat_queued_beside_its_original_is_told_too(backend: Backend) {
    let store = backend.open().await.store();
    let posted = post_all(
        &*store,
        [
            with_nonce(draft("a", "first"), "n-1"),
            with_nonce(draft("a", "first again"), "n-1"),
            with_nonce(draft("a", "second"), "n-2"),
        ],
    )
    .await;
    let first = stored(posted[0].clone());
    assert_eq!(posted[1], Posted::Repeat(first.id));
    assert_eq!(stored(posted[2].clone()).id, first.id + 1);
}

async fn recent_nonces_are_the_newest_in_the_window(backend: Backend) {
    let store = backend.open().await.store();
    let drafts = (1..=10).map(|n| {
        let text = format!("m{n}");
        if n == 9 {
            draft("a", &text)
        } else {
            with_nonce(draft("a", &text), &format!("n{n}"))
        }
    });
    let posted: Vec<ChatMessage> = post_all(&*store, drafts)
        .await
        .into_iter()
        .map(stored)
        .collect();
    let nonces = store
        .recent_nonces(&room("a"), 0, 100)
        .await
        .expect("reads");
    assert_eq!(
        nonces.iter().map(|record| record.id).collect::<Vec<_>>(),
        [10, 8, 7, 6, 5, 4, 3, 2, 1],
        "newest first, only messages with a nonce"
    );
    assert_eq!(nonces[0].nonce.as_str(), "n10");
    assert_eq!(nonces[0].name.as_str(), "Ann");
    assert_eq!(nonces[0].ts, posted[9].ts);
    // The window starts after the newest message: nothing is in it.
    let after_all = posted[9].ts + 1;
    assert!(store
        .recent_nonces(&room("a"), after_all, 100)
        .await
        .expect("reads")
        .is_empty());
    let limited = store.recent_nonces(&room("a"), 0, 2).await.expect("reads");
    assert_eq!(limited.len(), 2);
}

async fn rooms_are_listed_most_recently_active_first(backend: Backend) {
    let store = backend.open().await.store();
    for name in ["old", "middle", "new"] {
        post_numbered(&*store, name, 2).await;
        // Times are milliseconds: a room posted later is later.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let rooms = store.recent_rooms(10).await.expect("reads");
    let names: Vec<_> = rooms.iter().map(|room| room.room.as_str()).collect();
    assert_eq!(names, ["new", "middle", "old"]);
    assert!(rooms.iter().all(|room| room.last_id == 2));
    assert_eq!(store.recent_rooms(2).await.expect("reads").len(), 2);
}

async fn times_never_go_backwards_within_a_room(backend: Backend) {
    let store = backend.open().await.store();
    let posted = post_numbered(&*store, "a", 50).await;
    for pair in posted.windows(2) {
        assert!(
            pair[0].ts <= pair[1].ts,
            "{} then {}",
            pair[0].ts,
            pair[1].ts
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    assert!(
        posted[49].ts <= now && posted[0].ts + 60_000 > now,
        "times are the clock's"
    );
}

async fn posts_that_queue_up_share_a_transaction(backend: Backend) {
    const MESSAGES: usize = 2_000;
    let opened = backend.open().await;
    let store = opened.store();
    let posted = post_numbered(&*store, "a", MESSAGES).await;
    assert_eq!(ids(&posted), (1..=MESSAGES as u64).collect::<Vec<_>>());
    let Some(commits) = opened.commits() else {
        return; // Nothing to batch in memory.
    };
    let messages = MESSAGES as u64;
    // At most MAX_WRITE_BATCH per commit; all 2,000 queue at once, so
    // only the first commit can have run before most of them arrived.
    assert!(
        commits >= messages / MAX_WRITE_BATCH as u64,
        "{commits} commits"
    );
    assert!(
        commits <= messages / 10,
        "{commits} commits for {messages} messages"
    );
}

async fn close_commits_what_was_queued_and_refuses_later_posts(backend: Backend) {
    let opened = backend.open().await;
    let store = opened.store();
    let queued = store.post(draft("a", "queued"));
    store.check().await.expect("healthy");
    store.close().await.expect("closes");
    assert!(
        store.check().await.is_err(),
        "a closed store is not healthy"
    );
    assert!(queued.await.is_ok());
    let late = store.post(draft("a", "late")).await;
    assert!(
        matches!(late, Err(ref err) if err.kind() == ErrorKind::Closed),
        "{late:?}"
    );
    drop((store, opened));
    if backend.is_durable() {
        let reopened = backend.open().await.store();
        assert_eq!(reopened.last_id(&room("a")).await.expect("reads"), 1);
    }
}

async fn text_and_names_come_back_exactly(backend: Backend) {
    let store = backend.open().await.store();
    let texts = [
        "<b>html</b> & \"quotes\" 'single'",
        "line\nbreak\ttab \\ backslash",
        "émoji 👋🏽 and ünïcödé, 漢字",
        "'); DROP TABLE messages; --",
    ];
    let drafts = texts.iter().enumerate().map(|(index, text)| {
        let mut draft = draft("a", text);
        draft.name = DisplayName::parse("Zoë O'Brien").expect("valid name");
        if index % 2 == 0 {
            draft = with_nonce(draft, &format!("n'{index}"));
        }
        draft
    });
    let posted: Vec<ChatMessage> = post_all(&*store, drafts)
        .await
        .into_iter()
        .map(stored)
        .collect();
    let page = store
        .history(&room("a"), query(None, None, 10))
        .await
        .expect("reads");
    assert_eq!(page.messages, posted);
    assert_eq!(page.messages[3].text.as_str(), texts[3]);
}

/// Two stores on one PostgreSQL database, as two instances of a cluster:
/// their posts to one room, made at once, get one sequence of ids with no
/// gap and no id twice, and a nonce stored through one is a repeat
/// through the other.
#[tokio::test]
async fn postgres_two_stores_on_one_database_share_each_room_s_ids_and_nonces() {
    const EACH: usize = 300;
    let database = fresh_database().await;
    let a = PostgresStore::connect(database.url())
        .await
        .expect("connects");
    let b = PostgresStore::connect(database.url())
        .await
        .expect("connects");
    let (from_a, from_b) = tokio::join!(
        post_all(
            &a,
            (0..EACH).map(|n| with_nonce(draft("lobby", "from a"), &format!("a{n}")))
        ),
        post_all(
            &b,
            (0..EACH).map(|n| with_nonce(draft("lobby", "from b"), &format!("b{n}")))
        ),
    );
    let mut all: Vec<MessageId> = from_a
        .into_iter()
        .chain(from_b)
        .map(|posted| stored(posted).id)
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=2 * EACH as u64).collect::<Vec<_>>());
    // Each store's own posts got increasing ids, in the order it made them.
    let page = a
        .messages_after(&room("lobby"), 0, usize::MAX)
        .await
        .expect("reads");
    let a_ids: Vec<MessageId> = page
        .iter()
        .filter(|message| message.text.as_str() == "from a")
        .map(|message| message.id)
        .collect();
    assert!(a_ids.windows(2).all(|pair| pair[0] < pair[1]));
    let a_nonces: Vec<&str> = page
        .iter()
        .filter(|message| message.text.as_str() == "from a")
        .filter_map(|message| message.nonce.as_ref().map(Nonce::as_str))
        .collect();
    let expected: Vec<String> = (0..EACH).map(|n| format!("a{n}")).collect();
    assert_eq!(
        a_nonces,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // A client that resends through the other instance.
    let original = page
        .iter()
        .find(|message| message.nonce.as_ref().map(Nonce::as_str) == Some("a7"))
        .expect("stored")
        .id;
    assert_eq!(
        b.post(with_nonce(draft("lobby", "from a"), "a7"))
            .await
            .expect("answered"),
        Posted::Repeat(original)
    );
    a.close().await.expect("closes");
    b.close().await.expect("closes");
}
