//! [`MessageStore`] on PostgreSQL (`--db postgres://…`).
//!
//! - `writer`: one task commits every append waiting in its queue in one
//!   transaction (group commit), as SQLite's writer thread does; appends
//!   resolve in the order they were made.
//! - Reads and the writer's transactions use a pool of connections
//!   ([`POOL_SIZE`]), which reconnects by itself: a database that goes away
//!   fails what is asked meanwhile ([`ErrorKind::Unavailable`]), and the
//!   store works again once it is back.
//! - The schema is versioned ([`MIGRATIONS`]), its version kept in the
//!   table `chat_schema`; instances that start at once take an advisory lock
//!   so that one of them applies each step.
//! - Durability is the server's: a commit returns once PostgreSQL has it by
//!   its `synchronous_commit` (on by default: flushed to its disk).
//! - `accounts`, `credentials`, `links`: the [`crate::store::AccountStore`],
//!   over the same pool, each method that must be whole in one transaction.
//! - `rooms`, `members`, `moderation`: the [`crate::store::RoomStore`], in
//!   the same way.
//!
//! Why tokio-postgres with deadpool-postgres rather than sqlx: the store's
//! statements are few and fixed, so sqlx's compile-time checks (which want a
//! database, or checked-in query data, at build time) would cost more than
//! they give; tokio-postgres is the async client sqlx's PostgreSQL driver is
//! modelled on, pipelines the statements of one transaction, and with
//! deadpool's small pool adds little to the binary.

mod accounts;
mod bots;
mod credentials;
mod links;
mod members;
mod moderation;
mod rooms;
mod writer;

use super::batch::{writer_running, WriteRequest};
use super::database::describe_postgres;
use super::schema::{self, Migration};
use super::{
    page_from_newest, Draft, ErrorKind, HistoryPage, HistoryQuery, MessageStore, NonceRecord,
    Posted, RoomActivity, StoreError, StoreFuture,
};
use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName, Username};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};
use writer::run_writer;

/// Connections the store keeps to PostgreSQL: the writer's one at a time,
/// and reads (joins' history, the HTTP API). Reads are short; a few
/// connections serve thousands of joins a second.
pub const POOL_SIZE: usize = 16;

/// Longest a new connection to PostgreSQL may take (TCP, start-up and
/// authentication) before it counts as a failure.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest an operation waits for a free connection of the pool.
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The advisory lock that instances applying migrations at once take: any
/// fixed number, the same in every release ("chat" in ASCII).
const MIGRATION_LOCK: i64 = 0x6368_6174;

/// The schema's migrations, in order (see [`crate::store::schema`]).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "messages, with an index by nonce, and rooms with their last id and activity",
        sql: "
    CREATE TABLE messages (
        room  TEXT   NOT NULL,
        id    BIGINT NOT NULL,
        name  TEXT   NOT NULL,
        text  TEXT   NOT NULL,
        ts    BIGINT NOT NULL,
        nonce TEXT,
        PRIMARY KEY (room, id)
    );
    CREATE TABLE rooms (
        room    TEXT   NOT NULL PRIMARY KEY,
        last_id BIGINT NOT NULL,
        last_ts BIGINT NOT NULL
    );
    CREATE INDEX rooms_by_activity ON rooms (last_ts DESC);
    CREATE INDEX messages_by_nonce ON messages (room, nonce) WHERE nonce IS NOT NULL;
",
    },
    Migration {
        version: 2,
        description: "accounts, their sessions and API tokens, and one-time links",
        sql: accounts::MIGRATION_2,
    },
    Migration {
        version: 3,
        description: "messages keep their author's account (protocol version 2)",
        // Messages written before accounts keep NULL: authors with a name only.
        sql: "
    ALTER TABLE messages ADD COLUMN user_id BIGINT;
    ALTER TABLE messages ADD COLUMN username TEXT;
",
    },
    Migration {
        version: 4,
        description: "rooms' kinds, titles, topics and owners; members, read state, bans, \
                      mentions and the audit log",
        sql: rooms::MIGRATION_4,
    },
];

const CREATE_SCHEMA_TABLE: &str = "
    CREATE TABLE IF NOT EXISTS chat_schema (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        version  BIGINT  NOT NULL
    )";
const SCHEMA_VERSION: &str = "SELECT version FROM chat_schema";
const SET_SCHEMA_VERSION: &str = "
    INSERT INTO chat_schema (version) VALUES ($1)
    ON CONFLICT (only_row) DO UPDATE SET version = excluded.version";
const LAST_ID: &str = "SELECT last_id FROM rooms WHERE room = $1";
const HISTORY: &str = "
    SELECT id, name, text, ts, nonce, user_id, username FROM messages
    WHERE room = $1 AND id > $2 AND id < $3
    ORDER BY id DESC LIMIT $4";
const MESSAGES_AFTER: &str = "
    SELECT id, name, text, ts, nonce, user_id, username FROM messages
    WHERE room = $1 AND id > $2
    ORDER BY id LIMIT $3";
const RECENT_NONCES: &str = "
    SELECT id, name, nonce, ts, user_id FROM messages
    WHERE room = $1 AND nonce IS NOT NULL AND ts >= $2
    ORDER BY id DESC LIMIT $3";
/// A room made without a post has a row and no message yet.
const RECENT_ROOMS: &str =
    "SELECT room, last_id FROM rooms WHERE last_id > 0 ORDER BY last_ts DESC, room LIMIT $1";

/// The PostgreSQL-backed store. Cheap to share behind an `Arc`.
pub struct PostgresStore {
    pool: Pool,
    writes: mpsc::UnboundedSender<WriteRequest>,
    writer: Mutex<Option<JoinHandle<()>>>,
    commits: Arc<AtomicU64>,
}

impl PostgresStore {
    /// Connects to the database at `url`, brings its schema up to date and
    /// starts the writer. Fails when the database cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| {
            StoreError::new(
                ErrorKind::Open,
                format!("cannot open database {}", describe_postgres(url)),
            )
            .with_source(source)
        };
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|err| open_error(err.into()))?;
        // The store's statements are few, prepared once per connection and
        // run thousands of times a second: a generic plan each, rather than
        // one planned anew per run for its parameters (PostgreSQL's default
        // for statements whose parameters are arrays, which cost the
        // database more CPU than the statements themselves).
        let options = match config.get_options() {
            Some(given) => format!("{given} -c plan_cache_mode=force_generic_plan"),
            None => "-c plan_cache_mode=force_generic_plan".to_owned(),
        };
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .application_name("chat-server")
            .options(&options);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A connection that broke is found at its next use and
                // replaced; checking each one before use would cost a
                // round trip per read.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .build()
            .map_err(|err| open_error(err.into()))?;
        migrate(&pool).await.map_err(|err| match err.kind() {
            ErrorKind::SchemaTooNew => err,
            _ => open_error(err.into()),
        })?;
        let (writes, queue) = mpsc::unbounded_channel();
        let commits = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn(run_writer(pool.clone(), queue, Arc::clone(&commits)));
        Ok(Self {
            pool,
            writes,
            writer: Mutex::new(Some(writer)),
            commits,
        })
    }

    /// Write transactions committed so far: fewer than the messages
    /// written when appends arrive faster than one commit takes.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `query` on a connection of the pool.
    fn read<T, F, Q>(&self, query: Q) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
        Q: FnOnce(deadpool_postgres::Object) -> F + Send + 'static,
    {
        let pool = self.pool.clone();
        Box::pin(async move {
            let client = pool.get().await.map_err(pool_error)?;
            query(client).await
        })
    }

    /// Runs `work` on a connection of the pool: account writes, which are
    /// rare, go beside the message writer's queue (PostgreSQL orders what
    /// must be, by the locks their transactions take).
    fn write<T, F, W>(&self, work: W) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
        W: FnOnce(deadpool_postgres::Object) -> F + Send + 'static,
    {
        self.read(work)
    }
}

impl MessageStore for PostgresStore {
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
        self.read(move |client| async move {
            let statement = client.prepare_cached(LAST_ID).await?;
            let row = client.query_opt(&statement, &[&room.as_str()]).await?;
            row.map_or(Ok(0), |row| to_u64(row.try_get::<_, i64>(0)?, "last id"))
        })
    }

    fn history(&self, room: &RoomName, query: HistoryQuery) -> StoreFuture<HistoryPage> {
        let room = room.clone();
        self.read(move |client| async move {
            let after = to_i64(query.after.unwrap_or(0));
            let before = query.before.map_or(i64::MAX, to_i64);
            // One row more than asked tells whether older ones exist.
            let fetch = sql_limit(query.limit.saturating_add(1));
            let statement = client.prepare_cached(HISTORY).await?;
            let rows = client
                .query(&statement, &[&room.as_str(), &after, &before, &fetch])
                .await?;
            page_from_newest(
                rows.iter().map(|row| row_to_message(&room, row)),
                query.limit,
            )
        })
    }

    fn messages_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> StoreFuture<Vec<ChatMessage>> {
        let room = room.clone();
        self.read(move |client| async move {
            let statement = client.prepare_cached(MESSAGES_AFTER).await?;
            let rows = client
                .query(
                    &statement,
                    &[&room.as_str(), &to_i64(after), &sql_limit(limit)],
                )
                .await?;
            rows.iter().map(|row| row_to_message(&room, row)).collect()
        })
    }

    fn recent_nonces(
        &self,
        room: &RoomName,
        since_ts: u64,
        limit: usize,
    ) -> StoreFuture<Vec<NonceRecord>> {
        let room = room.clone();
        self.read(move |client| async move {
            let statement = client.prepare_cached(RECENT_NONCES).await?;
            let rows = client
                .query(
                    &statement,
                    &[&room.as_str(), &to_i64(since_ts), &sql_limit(limit)],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(NonceRecord {
                        id: to_u64(row.try_get(0)?, "message id")?,
                        name: DisplayName::parse(row.try_get::<_, String>(1)?)
                            .map_err(|err| StoreError::corrupt(err.to_string()))?,
                        nonce: Nonce::parse(row.try_get::<_, String>(2)?)
                            .map_err(|err| StoreError::corrupt(err.to_string()))?,
                        ts: to_u64(row.try_get(3)?, "timestamp")?,
                        user_id: row
                            .try_get::<_, Option<i64>>(4)?
                            .map(|id| to_u64(id, "user id"))
                            .transpose()?,
                    })
                })
                .collect()
        })
    }

    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>> {
        self.read(move |client| async move {
            let statement = client.prepare_cached(RECENT_ROOMS).await?;
            let rows = client.query(&statement, &[&sql_limit(limit)]).await?;
            rows.iter()
                .map(|row| {
                    Ok(RoomActivity {
                        room: RoomName::parse(row.try_get::<_, String>(0)?)
                            .map_err(|err| StoreError::corrupt(format!("room name: {err}")))?,
                        last_id: to_u64(row.try_get(1)?, "last id")?,
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
        self.read(|client| async move {
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    fn close(&self) -> StoreFuture<()> {
        let (done, closed) = oneshot::channel();
        // When the writer already stopped, there is nothing left to commit.
        let _ = self.writes.send(WriteRequest::Close { done });
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let pool = self.pool.clone();
        Box::pin(async move {
            let _ = closed.await;
            if let Some(writer) = writer {
                let _ = writer.await;
            }
            pool.close();
            Ok(())
        })
    }
}

/// Brings the schema up to date: each missing migration in its own
/// transaction, under an advisory lock so that instances starting together
/// apply it once.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let found = {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(CREATE_SCHEMA_TABLE).await?;
        let version = tx
            .query_opt(SCHEMA_VERSION, &[])
            .await?
            .map(|row| row.try_get::<_, i64>(0))
            .transpose()?
            .unwrap_or(0);
        tx.commit().await?;
        version
    };
    for migration in schema::pending(MIGRATIONS, found)? {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // Another instance may have applied it while this one waited.
        let now = tx
            .query_opt(SCHEMA_VERSION, &[])
            .await?
            .map(|row| row.try_get::<_, i64>(0))
            .transpose()?
            .unwrap_or(0);
        if now >= migration.version {
            continue;
        }
        tx.batch_execute(migration.sql).await?;
        tx.execute(SET_SCHEMA_VERSION, &[&migration.version])
            .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            migration = migration.description,
            "database schema upgraded"
        );
    }
    Ok(())
}

fn row_to_message(room: &RoomName, row: &Row) -> Result<ChatMessage, StoreError> {
    let corrupt = |err: common::ValidationError| StoreError::corrupt(err.to_string());
    Ok(ChatMessage {
        room: room.clone(),
        id: to_u64(row.try_get(0)?, "message id")?,
        name: DisplayName::parse(row.try_get::<_, String>(1)?).map_err(corrupt)?,
        user_id: row
            .try_get::<_, Option<i64>>(5)?
            .map(|id| to_u64(id, "user id"))
            .transpose()?,
        username: row
            .try_get::<_, Option<String>>(6)?
            .map(Username::parse)
            .transpose()
            .map_err(|err| StoreError::corrupt(err.to_string()))?,
        text: MessageText::parse(row.try_get::<_, String>(2)?).map_err(corrupt)?,
        ts: to_u64(row.try_get(3)?, "timestamp")?,
        nonce: row
            .try_get::<_, Option<String>>(4)?
            .map(Nonce::parse)
            .transpose()
            .map_err(corrupt)?,
    })
}

/// A stored `BIGINT` as the unsigned value it holds.
fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::corrupt(format!("{what} {value} is negative")))
}

/// An id or timestamp as a `BIGINT` (ids and milliseconds since 1970 stay
/// far below `i64::MAX`; a larger value is clamped rather than wrapped).
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A row count as `LIMIT` takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn pool_error(err: deadpool_postgres::PoolError) -> StoreError {
    match err {
        // `close` closed the pool.
        deadpool_postgres::PoolError::Closed => StoreError::closed(),
        err => StoreError::unavailable(err),
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        let kind = match err.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => ErrorKind::Conflict,
            // A row naming an account that does not exist.
            Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => ErrorKind::NotFound,
            _ => ErrorKind::Unavailable,
        };
        StoreError::new(kind, "database error").with_source(err)
    }
}
