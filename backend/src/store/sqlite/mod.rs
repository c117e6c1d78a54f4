//! [`MessageStore`] on an embedded SQLite file.
//!
//! - `writer`: one thread owns the only writing connection and commits
//!   every append waiting in its queue in one transaction (group commit).
//! - `readers`: [`READERS`] threads with a read-only connection each run
//!   the reads (their queries are in `reader`), which WAL mode lets run
//!   beside the writer.
//! - [`Durability`]: an append resolves once its transaction is committed
//!   to the WAL file, so a message any client received survives a crash of
//!   the server process (`kill -9`); with [`Durability::Machine`] it is also
//!   flushed to the disk (`synchronous = FULL`), so it survives a power
//!   failure or an operating-system crash too.
//! - A lock file (`<db>.lock`) keeps a second server process off the same
//!   database, whose room ids it would otherwise collide with.
//! - `accounts`, `credentials`, `links`: the [`crate::store::AccountStore`];
//!   its writes are jobs of the writer thread, its reads use the readers.
//! - `rooms`, `members`, `moderation`: the [`crate::store::RoomStore`], in
//!   the same way.

mod accounts;
mod bots;
mod credentials;
mod links;
mod members;
mod moderation;
mod reader;
mod readers;
mod rooms;
mod writer;

pub use readers::READERS;

use super::batch::{writer_running, WriteRequest};
use super::schema::{self, Migration};
use super::{
    Draft, ErrorKind, HistoryPage, HistoryQuery, MessageStore, NonceRecord, Posted, RoomActivity,
    StoreError, StoreFuture,
};
use common::{ChatMessage, MessageId, RoomName};
use reader::{read_history, read_messages_after, read_recent_nonces};
use readers::Readers;
use rusqlite::{Connection, OptionalExtension};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;
use writer::run_writer;

/// How long a connection waits for a lock held by another connection
/// (a checkpoint, a reader being opened) before it reports `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema's migrations, in order (see [`crate::store::schema`]). The
/// version a database has reached is its `PRAGMA user_version`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "messages, and rooms with their last id and activity",
        // `IF NOT EXISTS`: databases of the first release were created with
        // these statements before versions were recorded as migrations.
        sql: "
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
",
    },
    Migration {
        version: 2,
        description: "an index of messages by nonce: the store tells a repeated post",
        sql: "
    CREATE INDEX messages_by_nonce ON messages (room, nonce) WHERE nonce IS NOT NULL;
",
    },
    Migration {
        version: 3,
        description: "accounts, their sessions and API tokens, and one-time links",
        sql: accounts::MIGRATION_3,
    },
    Migration {
        version: 4,
        description: "messages keep their author's account (protocol version 2)",
        // Messages written before accounts keep NULL: authors with a name only.
        sql: "
    ALTER TABLE messages ADD COLUMN user_id INTEGER;
    ALTER TABLE messages ADD COLUMN username TEXT;
",
    },
    Migration {
        version: 5,
        description: "rooms' kinds, titles, topics and owners; members, read state, bans, \
                      mentions and the audit log",
        sql: rooms::MIGRATION_5,
    },
];

/// What a committed message survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// A crash of the server process (`kill -9`, a panic, the OOM killer):
    /// commits are written to the WAL file, which the operating system
    /// keeps (`synchronous = NORMAL`). No disk flush per commit, so a
    /// message's latency does not include one.
    #[default]
    Process,
    /// Also a power failure or an operating-system crash: every commit is
    /// flushed to the disk (`synchronous = FULL`). Group commit keeps
    /// throughput, but each message waits for a disk flush.
    Machine,
}

impl Durability {
    fn synchronous(self) -> &'static str {
        match self {
            Self::Process => "NORMAL",
            Self::Machine => "FULL",
        }
    }
}

/// The SQLite-backed store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    writes: mpsc::Sender<writer::Request>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<Readers>,
    /// Write transactions committed so far (each holds up to
    /// [`super::MAX_WRITE_BATCH`] appends).
    commits: Arc<AtomicU64>,
    /// Held (and so locked) for as long as the store lives; none for a
    /// read-only store, which may sit beside a running server.
    _lock: Option<File>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default
    /// [`Durability`] and starts its writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::default())
    }

    /// Opens (creating if needed) the database at `path` and starts its
    /// writer thread.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| {
            StoreError::new(
                ErrorKind::Open,
                format!("cannot open database {}", path.display()),
            )
            .with_source(source)
        };
        let lock = lock_database(path)?;
        let mut conn = Connection::open(path).map_err(|err| open_error(err.into()))?;
        configure_writer(&mut conn, durability).map_err(|err| match err.kind() {
            ErrorKind::SchemaTooNew => err,
            _ => open_error(err.into()),
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
            readers: Arc::new(Readers::start(path).map_err(|err| open_error(err.into()))?),
            commits,
            _lock: Some(lock),
        })
    }

    /// Opens an existing database for reading only, without its lock file:
    /// a running server may go on writing it (WAL mode lets both run). Its
    /// schema must be this build's (a server upgrades it when it starts);
    /// appends fail with [`ErrorKind::Closed`].
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let readers = Arc::new(Readers::start(path)?);
        let found = readers
            .read_blocking(|conn| {
                Ok(conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))?)
            })
            .map_err(|err| {
                StoreError::new(
                    ErrorKind::Open,
                    format!("cannot open database {}", path.display()),
                )
                .with_source(err)
            })?;
        if !schema::pending(MIGRATIONS, found)?.is_empty() {
            return Err(StoreError::new(
                ErrorKind::Open,
                format!(
                    "database {} has schema version {found}: start chat-server on it once \
                     to upgrade it to version {}",
                    path.display(),
                    schema::latest(MIGRATIONS)
                ),
            ));
        }
        // No writer: appends find the queue closed.
        let (writes, _) = mpsc::channel();
        Ok(Self {
            writes,
            writer: Mutex::new(None),
            readers,
            commits: Arc::new(AtomicU64::new(0)),
            _lock: None,
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
        Box::pin(async move { readers.read(query).await })
    }

    /// Runs `work` on the writer's connection, after the writes queued
    /// before it (see `writer`).
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<T> {
        let (done, answer) = oneshot::channel();
        let job: writer::Job = Box::new(move |conn| {
            let _ = done.send(work(conn));
        });
        let queued = self.writes.send(WriteRequest::Job(job));
        Box::pin(async move {
            queued.map_err(|_| StoreError::closed())?;
            answer.await.map_err(|_| StoreError::closed())?
        })
    }
}

impl MessageStore for SqliteStore {
    fn post(&self, draft: Draft) -> StoreFuture<Posted> {
        let (done, committed) = oneshot::channel();
        let queued = self.writes.send(WriteRequest::Post { draft, done });
        Box::pin(async move {
            queued.map_err(|_| StoreError::closed())?;
            committed.await.map_err(|_| StoreError::closed())?
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

    fn recent_nonces(
        &self,
        room: &RoomName,
        since_ts: u64,
        limit: usize,
    ) -> StoreFuture<Vec<NonceRecord>> {
        let room = room.clone();
        self.read(move |conn| read_recent_nonces(conn, &room, since_ts, limit))
    }

    fn messages_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> StoreFuture<Vec<ChatMessage>> {
        let room = room.clone();
        self.read(move |conn| read_messages_after(conn, &room, after, limit))
    }

    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>> {
        let limit = sql_limit(limit);
        self.read(move |conn| {
            let mut statement = conn
                // A room made without a post has a row and no message yet.
                .prepare_cached(
                    "SELECT room, last_id FROM rooms WHERE last_id > 0
                     ORDER BY last_ts DESC LIMIT ?1",
                )?;
            let rows = statement.query_map([limit], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, MessageId>(1)?))
            })?;
            rows.map(|row| {
                let (room, last_id) = row?;
                let room = RoomName::parse(room)
                    .map_err(|err| StoreError::corrupt(format!("room name: {err}")))?;
                Ok(RoomActivity {
                    room,
                    last_id,
                    members: None,
                })
            })
            .collect()
        })
    }

    fn check(&self) -> StoreFuture<()> {
        // Reads alone are not enough: without its writer the store can
        // serve history but store nothing.
        if !writer_running(&self.writer, JoinHandle::is_finished) {
            return Box::pin(std::future::ready(Err(StoreError::closed())));
        }
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    fn close(&self) -> StoreFuture<()> {
        let readers = self.readers.close();
        let writes = self.writes.clone();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Box::pin(async move {
            // The readers' connections close first, so that the writer's is
            // the last one and its close checkpoints and removes the WAL.
            let _ = tokio::task::spawn_blocking(move || {
                for reader in readers {
                    let _ = reader.join();
                }
            })
            .await;
            let (done, closed) = oneshot::channel();
            // When the writer already stopped, there is nothing left to commit.
            let _ = writes.send(WriteRequest::Close { done });
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
    let open_error = |source: Box<dyn std::error::Error + Send + Sync>| {
        StoreError::new(
            ErrorKind::Open,
            format!("cannot open database {}", path.display()),
        )
        .with_source(source)
    };
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| open_error(err.into()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::new(
            ErrorKind::InUse,
            format!(
                "database {} is in use by another chat-server process",
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(err)) => Err(open_error(err.into())),
    }
}

fn configure_writer(conn: &mut Connection, durability: Durability) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "SQLite refused WAL mode; reads will wait for writes");
    }
    conn.pragma_update(None, "synchronous", durability.synchronous())?;
    // Sessions, tokens and links name their accounts (migration 3): the
    // writer, the only connection that writes, checks that they exist.
    conn.pragma_update(None, "foreign_keys", true)?;
    migrate(conn)
}

/// Applies the migrations the database lacks, each in its own transaction
/// with the version it reaches.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for migration in schema::pending(MIGRATIONS, found)? {
        let tx = conn.transaction()?;
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
        tx.commit()?;
        tracing::info!(
            version = migration.version,
            migration = migration.description,
            "database schema upgraded"
        );
    }
    Ok(())
}

/// A row count as SQL's `LIMIT` takes it (an `i64`; a larger count is no
/// limit at all).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        let kind = match err.sqlite_error() {
            // A row naming an account that does not exist.
            Some(error) if error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                ErrorKind::NotFound
            }
            Some(error) if error.code == rusqlite::ErrorCode::ConstraintViolation => {
                ErrorKind::Conflict
            }
            _ => ErrorKind::Unavailable,
        };
        StoreError::new(kind, "database error").with_source(err)
    }
}

#[cfg(test)]
mod tests;
