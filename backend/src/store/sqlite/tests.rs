//! The SQLite store against real files in a temporary directory.

use super::*;
use common::api::HISTORY_MAX_BYTES;
use common::{DisplayName, MessageText, Nonce};

fn message(room: &str, id: MessageId, text: &str) -> ChatMessage {
    ChatMessage {
        room: RoomName::parse(room).expect("valid room"),
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

#[tokio::test]
async fn appends_are_read_back_in_order_with_paging() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("chat.db")).expect("opens");
    let appends: Vec<_> = (1..=10)
        .map(|id| store.append(message("a", id, "hi")))
        .collect();
    for append in appends {
        append.await.expect("committed");
    }
    let mut newer = message("b", 1, "other room");
    newer.ts = 5_000;
    store.append(newer).await.expect("committed");
    let room = RoomName::parse("a").expect("valid");

    let page = store
        .history(&room, query(None, None, 3))
        .await
        .expect("reads");
    let ids: Vec<_> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, [8, 9, 10]);
    assert!(page.has_older);
    assert_eq!(page.messages[0], message("a", 8, "hi"));

    let page = store
        .history(&room, query(Some(2), Some(6), 10))
        .await
        .expect("reads");
    let ids: Vec<_> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, [3, 4, 5]);
    assert!(!page.has_older);

    assert_eq!(store.last_id(&room).await.expect("reads"), 10);
    let rooms = store.recent_rooms(10).await.expect("reads");
    assert_eq!(rooms.len(), 2);
    assert_eq!(rooms[0].room.as_str(), "b", "most recently active first");
}

#[tokio::test]
async fn history_is_capped_by_text_size_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("chat.db")).expect("opens");
    let long = "y".repeat(common::values::TEXT_MAX_CHARS);
    let count = HISTORY_MAX_BYTES / long.len() + 10;
    let appends: Vec<_> = (1..=count as u64)
        .map(|id| store.append(message("a", id, &long)))
        .collect();
    for append in appends {
        append.await.expect("committed");
    }
    let room = RoomName::parse("a").expect("valid");
    let page = store
        .history(&room, query(None, None, count))
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

#[tokio::test]
async fn appends_that_queue_up_share_a_transaction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("chat.db")).expect("opens");
    const MESSAGES: u64 = 2_000;
    let appends: Vec<_> = (1..=MESSAGES)
        .map(|id| store.append(message("a", id, "hi")))
        .collect();
    for append in appends {
        append.await.expect("committed");
    }
    let commits = store.commits();
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

#[tokio::test]
async fn a_duplicate_id_fails_only_its_own_append() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("chat.db")).expect("opens");
    store
        .append(message("a", 1, "first"))
        .await
        .expect("committed");
    // Queued together, so they share a batch.
    let duplicate = store.append(message("a", 1, "again"));
    let next = store.append(message("a", 2, "second"));
    assert!(duplicate.await.is_err());
    assert_eq!(next.await.expect("committed").id, 2);
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chat.db");
    let _first = SqliteStore::open(&path).expect("opens");
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::Locked(_))
    ));
}

#[tokio::test]
async fn close_commits_what_was_queued_and_refuses_later_appends() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chat.db");
    let store = SqliteStore::open(&path).expect("opens");
    let queued = store.append(message("a", 1, "queued"));
    // A read leaves an idle reader connection in the pool.
    store.check().await.expect("reads");
    store.close().await.expect("closes");
    assert!(
        store.check().await.is_err(),
        "a closed store is not healthy"
    );
    let wal = dir.path().join("chat.db-wal");
    assert!(
        !wal.exists(),
        "a clean close checkpoints and removes the WAL"
    );
    assert!(queued.await.is_ok());
    assert!(matches!(
        store.append(message("a", 2, "late")).await,
        Err(StoreError::Closed)
    ));
    drop(store);

    let reopened = SqliteStore::open(&path).expect("reopens");
    let room = RoomName::parse("a").expect("valid");
    assert_eq!(reopened.last_id(&room).await.expect("reads"), 1);
}
