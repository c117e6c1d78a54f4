//! [`MessageStore`] on an embedded SQLite file.
//!
//! - One writer thread owns the only writing connection. It takes every
//!   append waiting in its queue (up to [`MAX_WRITE_BATCH`]) and commits
//!   them in one transaction, so a busy server pays for one `fsync` per
//!   batch rather than per message (group commit).
//! - Reads run on Tokio's blocking pool with read-only connections, which
//!   WAL mode lets run beside the writer without waiting for it.
//! - `synchronous = FULL`: a message is on disk, not just handed to the
//!   operating system, before its append resolves; so a message any client
//!   received survives a crash of the process and of the machine.
//! - A lock file (`<db>.lock`) keeps a second server process off the same
//!   database, whose room ids it would otherwise collide with.

use super::{HistoryPage, HistoryQuery, MessageStore, RoomActivity, StoreError, StoreFuture};
use common::api::HISTORY_MAX_BYTES;
use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most appends committed in one transaction. Large enough that storage
/// never caps fan-out throughput (one `fsync` per this many messages), small
/// enough that one batch's commit stays a few milliseconds, and well below a
/// client's outgoing queue: a batch is broadcast at once when it commits.
pub const MAX_WRITE_BATCH: usize = 256;

/// How long a connection waits for a lock held by another connection
/// (a checkpoint, a reader being opened) before it reports `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle read-only connections kept for reuse; more are opened when needed.
pub const IDLE_READERS: usize = 4;

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

const INSERT_MESSAGE: &str =
    "INSERT INTO messages (room, id, name, text, ts, nonce) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const UPSERT_ROOM: &str = "
    INSERT INTO rooms (room, last_id, last_ts) VALUES (?1, ?2, ?3)
    ON CONFLICT (room) DO UPDATE SET
        last_id = max(last_id, excluded.last_id),
        last_ts = max(last_ts, excluded.last_ts)";

/// The SQLite-backed store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    writes: mpsc::Sender<WriteRequest>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<ReaderPool>,
    /// Held (and so locked) for as long as the store lives.
    _lock: File,
}

enum WriteRequest {
    Append {
        message: ChatMessage,
        done: oneshot::Sender<Result<ChatMessage, StoreError>>,
    },
    Close {
        done: oneshot::Sender<()>,
    },
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
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, queue))
            .map_err(|err| open_error(err.into()))?;
        Ok(Self {
            writes,
            writer: Mutex::new(Some(writer)),
            readers: Arc::new(ReaderPool {
                path: path.to_owned(),
                idle: Mutex::default(),
                closing: AtomicBool::new(false),
            }),
            _lock: lock,
        })
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

/// The writer thread: drains the queue in batches until it is closed.
fn run_writer(mut conn: Connection, queue: mpsc::Receiver<WriteRequest>) {
    let mut batch = Vec::with_capacity(MAX_WRITE_BATCH);
    while let Ok(request) = queue.recv() {
        let mut close = None;
        let mut next = Some(request);
        while let Some(request) = next.take() {
            match request {
                WriteRequest::Append { message, done } => batch.push((message, done)),
                WriteRequest::Close { done } => {
                    close = Some(done);
                    break;
                }
            }
            if batch.len() < MAX_WRITE_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut batch);
        }
        if let Some(done) = close {
            drop(queue);
            if let Err((_, err)) = conn.close() {
                tracing::warn!(error = %err, "closing the database failed");
            }
            let _ = done.send(());
            return;
        }
    }
}

/// Commits `batch` in one transaction and answers every append in it. When
/// the transaction fails, each message is retried alone so that one bad row
/// (say, an id another process already used) fails only its own append.
fn commit_batch(
    conn: &mut Connection,
    batch: &mut Vec<(
        ChatMessage,
        oneshot::Sender<Result<ChatMessage, StoreError>>,
    )>,
) {
    let started = Instant::now();
    let result = write_messages(conn, batch.iter().map(|(message, _)| message));
    tracing::trace!(messages = batch.len(), elapsed = ?started.elapsed(), "batch committed");
    match result {
        Ok(()) => {
            for (message, done) in batch.drain(..) {
                let _ = done.send(Ok(message));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some((_, done)) = batch.pop() {
                let _ = done.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, messages = batch.len(), "batch failed; writing one by one");
            for (message, done) in batch.drain(..) {
                let result = write_messages(conn, std::iter::once(&message)).map(|()| message);
                let _ = done.send(result);
            }
        }
    }
}

fn write_messages<'a>(
    conn: &mut Connection,
    messages: impl Iterator<Item = &'a ChatMessage>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(INSERT_MESSAGE)?;
        let mut upsert = tx.prepare_cached(UPSERT_ROOM)?;
        for message in messages {
            insert.execute(params![
                message.room.as_str(),
                message.id,
                message.name.as_str(),
                message.text.as_str(),
                message.ts,
                message.nonce.as_ref().map(Nonce::as_str),
            ])?;
            upsert.execute(params![message.room.as_str(), message.id, message.ts])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn read_history(
    conn: &Connection,
    room: &RoomName,
    query: HistoryQuery,
) -> Result<HistoryPage, StoreError> {
    let after = query.after.unwrap_or(0);
    let before = query.before.unwrap_or(i64::MAX as MessageId);
    let mut statement = conn.prepare_cached(
        "SELECT id, name, text, ts, nonce FROM messages
         WHERE room = ?1 AND id > ?2 AND id < ?3
         ORDER BY id DESC LIMIT ?4",
    )?;
    // One row more than asked tells whether older ones exist.
    let fetch = query.limit.saturating_add(1) as i64;
    let rows = statement.query_map(params![room.as_str(), after, before, fetch], |row| {
        Ok(row_to_message(room, row))
    })?;
    let mut messages = Vec::with_capacity(query.limit.min(1024));
    let mut text_bytes = 0;
    let mut has_older = false;
    for row in rows {
        let message = row??;
        text_bytes += json_string_len(message.text.as_str());
        if messages.len() == query.limit || (text_bytes > HISTORY_MAX_BYTES && !messages.is_empty())
        {
            has_older = true;
            break;
        }
        messages.push(message);
    }
    messages.reverse();
    Ok(HistoryPage {
        messages,
        has_older,
    })
}

/// How many bytes `text` takes inside a JSON string: control characters are
/// escaped (`\u0001` is six bytes for one), so a budget on raw bytes could be
/// passed several times over by a history of such messages.
fn json_string_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

fn row_to_message(room: &RoomName, row: &Row<'_>) -> Result<ChatMessage, StoreError> {
    let corrupt = |err: common::ValidationError| StoreError::Corrupt(err.to_string());
    Ok(ChatMessage {
        room: room.clone(),
        id: row.get(0)?,
        name: DisplayName::parse(row.get::<_, String>(1)?).map_err(corrupt)?,
        text: MessageText::parse(row.get::<_, String>(2)?).map_err(corrupt)?,
        ts: row.get(3)?,
        nonce: row
            .get::<_, Option<String>>(4)?
            .map(Nonce::parse)
            .transpose()
            .map_err(corrupt)?,
    })
}

/// Read-only connections, reused between reads.
struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Set on close: connections are no longer kept, so the writer's is the
    /// last one and its close can checkpoint and remove the WAL file (a
    /// read-only connection cannot).
    closing: AtomicBool,
}

impl ReaderPool {
    fn with_connection<T>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = query(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_READERS && !self.closing.load(Ordering::Acquire) {
            idle.push(conn);
        }
        result
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn json_string_len_matches_serde_json() {
        for text in [
            "plain",
            "quote \" and \\",
            "line\nbreak\ttab",
            "\u{1}\u{1f}",
            "ünï ✓",
        ] {
            let encoded = serde_json::to_string(text).expect("encodes");
            assert_eq!(json_string_len(text), encoded.len() - 2, "{text:?}");
        }
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
