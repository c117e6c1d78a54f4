//! [`MessageStore`] on an embedded SQLite file.
//!
//! - [`writer`]: one thread owns the only writing connection and commits
//!   every append waiting in its queue in one transaction (group commit).
//! - [`reader`]: reads run on Tokio's blocking pool with read-only
//!   connections, which WAL mode lets run beside the writer.
//! - `synchronous = FULL`: a message is on disk, not just handed to the
//!   operating system, before its append resolves; so a message any client
//!   received survives a crash of the process and of the machine.
//! - A lock file (`<db>.lock`) keeps a second server process off the same
//!   database, whose room ids it would otherwise collide with.

mod reader;
mod writer;

pub use reader::IDLE_READERS;
pub use writer::MAX_WRITE_BATCH;

use super::{HistoryPage, HistoryQuery, MessageStore, RoomActivity, StoreError, StoreFuture};
use common::{ChatMessage, MessageId, RoomName};
use reader::{read_history, ReaderPool};
use rusqlite::{Connection, OptionalExtension};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;
use writer::{run_writer, WriteRequest};

/// How long a connection waits for a lock held by another connection
/// (a checkpoint, a reader being opened) before it reports `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS messages (
        room  TEXT    NOT NULL,
        id    INTEGER NOT NULL,
        name  TEXT    NOT NULL,
        text  TEXT    NOT NULL,
        ts    INTEGER NOT NULL,
        nonce TEXT,
        PRIMARY KEY (room, id)
    );
    CREATE TABLE IF NOT EXISTS rooms (
        room    TEXT    NOT NULL PRIMARY KEY,
        last_id INTEGER NOT NULL,
        last_ts INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS rooms_by_activity ON rooms (last_ts DESC);
";

/// The SQLite-backed store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    writes: mpsc::Sender<WriteRequest>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<ReaderPool>,
    /// Write transactions committed so far (each holds up to
    /// [`MAX_WRITE_BATCH`] appends).
    commits: Arc<AtomicU64>,
    /// Held (and so locked) for as long as the store lives.
    _lock: File,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts its
    /// writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let lock = lock_database(path)?;
        let mut conn = Connection::open(path).map_err(|err| open_error(err.into()))?;
        configure_writer(&mut conn).map_err(|err| match err {
            StoreError::Sqlite(err) => open_error(err.into()),
            other => other,
        })?;

        let (writes, queue) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn({
                let commits = Arc::clone(&commits);
                move || run_writer(conn, queue, &commits)
            })
            .map_err(|err| open_error(err.into()))?;
        Ok(Self {
            writes,
            writer: Mutex::new(Some(writer)),
            readers: Arc::new(ReaderPool {
                path: path.to_owned(),
                idle: Mutex::default(),
                closing: AtomicBool::new(false),
            }),
            commits,
            _lock: lock,
        })
    }

    /// Write transactions committed so far: fewer than the messages
    /// written when appends arrive faster than one commit takes.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<T> {
        let readers = Arc::clone(&self.readers);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || readers.with_connection(query))
                .await
                .map_err(|_| StoreError::Closed)?
        })
    }
}

impl MessageStore for SqliteStore {
    fn append(&self, message: ChatMessage) -> StoreFuture<ChatMessage> {
        let (done, committed) = oneshot::channel();
        let queued = self.writes.send(WriteRequest::Append { message, done });
        Box::pin(async move {
            queued.map_err(|_| StoreError::Closed)?;
            committed.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn last_id(&self, room: &RoomName) -> StoreFuture<MessageId> {
        let room = room.clone();
        self.read(move |conn| {
            let last: Option<MessageId> = conn
                .prepare_cached("SELECT last_id FROM rooms WHERE room = ?1")?
                .query_row([room.as_str()], |row| row.get(0))
                .optional()?;
            Ok(last.unwrap_or(0))
        })
    }

    fn history(&self, room: &RoomName, query: HistoryQuery) -> StoreFuture<HistoryPage> {
        let room = room.clone();
        self.read(move |conn| read_history(conn, &room, query))
    }

    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>> {
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached("SELECT room, last_id FROM rooms ORDER BY last_ts DESC LIMIT ?1")?;
            let rows = statement.query_map([limit as i64], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, MessageId>(1)?))
            })?;
            rows.map(|row| {
                let (room, last_id) = row?;
                let room =
                    RoomName::parse(room).map_err(|err| StoreError::Corrupt(err.to_string()))?;
                Ok(RoomActivity { room, last_id })
            })
            .collect()
        })
    }

    fn check(&self) -> StoreFuture<()> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    fn close(&self) -> StoreFuture<()> {
        self.readers.closing.store(true, Ordering::Release);
        self.readers
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let (done, closed) = oneshot::channel();
        // When the writer already stopped, there is nothing left to commit.
        let _ = self.writes.send(WriteRequest::Close { done });
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Box::pin(async move {
            let _ = closed.await;
            if let Some(writer) = writer {
                // The thread ends right after answering; join it so the
                // connection is closed (and the WAL checkpointed) on return.
                let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            }
            Ok(())
        })
    }
}

/// Takes the lock file beside the database, or says who has it.
fn lock_database(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| StoreError::Open {
            path: path.to_owned(),
            source: err.into(),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(path.to_owned())),
        Err(std::fs::TryLockError::Error(err)) => Err(StoreError::Open {
            path: path.to_owned(),
            source: err.into(),
        }),
    }
}

fn configure_writer(conn: &mut Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "SQLite refused WAL mode; reads will wait for writes");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
