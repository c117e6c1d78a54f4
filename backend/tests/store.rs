//! The store conformance suite: every test of the `MessageStore` contract
//! runs against each backend, the memory store, SQLite on a real file, and
//! a real PostgreSQL server (see `support::postgres`), so the hub can rely
//! on one behaviour whichever `--db` is given.
//!
//! Each test is written once, as an `async fn` taking a [`Backend`]; the
//! `conformance!` macro makes one `#[tokio::test]` per backend of it
//! (`memory::…`, `sqlite::…`, `postgres::…`).

mod support;

use chat_server::store::{
    Durability, ErrorKind, HistoryQuery, MemoryStore, MessageStore, PostgresStore, SqliteStore,
    MAX_WRITE_BATCH,
};
use common::api::HISTORY_MAX_BYTES;
use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName};
use std::sync::Arc;
use support::postgres::{fresh_database, PgDatabase};
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
    appends_are_read_back_in_order_with_paging,
    history_is_capped_by_text_size_too,
    messages_after_reads_a_room_forwards,
    recent_nonces_are_the_newest_in_the_window,
    rooms_are_listed_most_recently_active_first,
    a_duplicate_id_fails_only_its_own_append,
    appends_that_queue_up_share_a_transaction,
    close_commits_what_was_queued_and_refuses_later_appends,
    text_and_names_come_back_exactly,
);

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

fn message(room_name: &str, id: MessageId, text: &str) -> ChatMessage {
    ChatMessage {
        room: room(room_name),
        id,
        name: DisplayName::parse("Ann").expect("valid name"),
        text: MessageText::parse(text).expect("valid text"),
        ts: 1_000 + id,
        nonce: Some(Nonce::parse(format!("n{id}")).expect("valid nonce")),
    }
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

/// Appends every message, all queued before the first is awaited.
async fn append_all(store: &dyn MessageStore, messages: impl IntoIterator<Item = ChatMessage>) {
    let appends: Vec<_> = messages
        .into_iter()
        .map(|message| store.append(message))
        .collect();
    for append in appends {
        append.await.expect("committed");
    }
}

async fn appends_are_read_back_in_order_with_paging(backend: Backend) {
    let opened = backend.open().await;
    let store = opened.store();
    append_all(&*store, (1..=10).map(|id| message("a", id, "hi"))).await;
    let mut newer = message("b", 1, "other room");
    newer.ts = 5_000;
    store.append(newer).await.expect("committed");

    let page = store
        .history(&room("a"), query(None, None, 3))
        .await
        .expect("reads");
    assert_eq!(ids(&page.messages), [8, 9, 10]);
    assert!(page.has_older);
    assert_eq!(page.messages[0], message("a", 8, "hi"));

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
        assert_eq!(ids(&page.messages), (1..=10).collect::<Vec<_>>());
    }
}

async fn history_is_capped_by_text_size_too(backend: Backend) {
    let store = backend.open().await.store();
    let long = "y".repeat(common::values::TEXT_MAX_CHARS);
    let count = HISTORY_MAX_BYTES / long.len() + 10;
    append_all(
        &*store,
        (1..=count as u64).map(|id| message("a", id, &long)),
    )
    .await;
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
    append_all(&*store, (1..=7).map(|id| message("a", id, "hi"))).await;
    store
        .append(message("b", 1, "elsewhere"))
        .await
        .expect("committed");
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

async fn recent_nonces_are_the_newest_in_the_window(backend: Backend) {
    let store = backend.open().await.store();
    let messages = (1..=10).map(|id| {
        let mut message = message("a", id, "hi");
        if id == 9 {
            message.nonce = None;
        }
        message
    });
    append_all(&*store, messages).await;
    // ts is 1_000 + id: a window from 1_006 holds ids 6 to 10, 9 has none.
    let nonces = store
        .recent_nonces(&room("a"), 1_006, 10)
        .await
        .expect("reads");
    assert_eq!(
        nonces.iter().map(|record| record.id).collect::<Vec<_>>(),
        [10, 8, 7, 6],
        "newest first"
    );
    assert_eq!(nonces[0].nonce.as_str(), "n10");
    assert_eq!(nonces[0].name.as_str(), "Ann");
    assert_eq!(nonces[0].ts, 1_010);
    let limited = store.recent_nonces(&room("a"), 0, 2).await.expect("reads");
    assert_eq!(limited.len(), 2);
}

async fn rooms_are_listed_most_recently_active_first(backend: Backend) {
    let store = backend.open().await.store();
    for (index, name) in ["old", "middle", "new"].into_iter().enumerate() {
        let mut first = message(name, 1, "hi");
        first.ts = 10_000 * (index as u64 + 1);
        let mut second = message(name, 2, "hi again");
        second.ts = first.ts + 1;
        append_all(&*store, [first, second]).await;
    }
    let rooms = store.recent_rooms(10).await.expect("reads");
    let names: Vec<_> = rooms.iter().map(|room| room.room.as_str()).collect();
    assert_eq!(names, ["new", "middle", "old"]);
    assert!(rooms.iter().all(|room| room.last_id == 2));
    assert_eq!(store.recent_rooms(2).await.expect("reads").len(), 2);
}

async fn a_duplicate_id_fails_only_its_own_append(backend: Backend) {
    let store = backend.open().await.store();
    store
        .append(message("a", 1, "first"))
        .await
        .expect("committed");
    // Queued together, so they share a batch where the backend batches.
    let duplicate = store.append(message("a", 1, "again"));
    let next = store.append(message("a", 2, "second"));
    let err = duplicate.await.expect_err("an id is stored once");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(next.await.expect("committed").id, 2);
    let page = store
        .history(&room("a"), query(None, None, 10))
        .await
        .expect("reads");
    assert_eq!(page.messages[0].text.as_str(), "first");
}

async fn appends_that_queue_up_share_a_transaction(backend: Backend) {
    const MESSAGES: u64 = 2_000;
    let opened = backend.open().await;
    let store = opened.store();
    append_all(&*store, (1..=MESSAGES).map(|id| message("a", id, "hi"))).await;
    assert_eq!(store.last_id(&room("a")).await.expect("reads"), MESSAGES);
    let Some(commits) = opened.commits() else {
        return; // Nothing to batch in memory.
    };
    // At most MAX_WRITE_BATCH per commit; all 2,000 queue at once, so
    // only the first commit can have run before most of them arrived.
    assert!(
        commits >= MESSAGES / MAX_WRITE_BATCH as u64,
        "{commits} commits"
    );
    assert!(
        commits <= MESSAGES / 10,
        "{commits} commits for {MESSAGES} messages"
    );
}

async fn close_commits_what_was_queued_and_refuses_later_appends(backend: Backend) {
    let opened = backend.open().await;
    let store = opened.store();
    let queued = store.append(message("a", 1, "queued"));
    store.check().await.expect("healthy");
    store.close().await.expect("closes");
    assert!(
        store.check().await.is_err(),
        "a closed store is not healthy"
    );
    assert!(queued.await.is_ok());
    let late = store.append(message("a", 2, "late")).await;
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
    let messages: Vec<ChatMessage> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let mut message = message("a", index as u64 + 1, text);
            message.name = DisplayName::parse("Zoë O'Brien").expect("valid name");
            message.nonce = (index % 2 == 0).then(|| Nonce::parse("n-1").expect("valid"));
            message
        })
        .collect();
    append_all(&*store, messages.clone()).await;
    let page = store
        .history(&room("a"), query(None, None, 10))
        .await
        .expect("reads");
    assert_eq!(page.messages, messages);
}
