//! [`Database`]: what a `--db` value names, and opening the store for it
//! as [`Stores`], every interface of one backend.
//!
//! - a `postgres://` (or `postgresql://`) URL: [`PostgresStore`];
//! - `:memory:`: [`MemoryStore`];
//! - anything else: the path of a SQLite file, [`SqliteStore`].

use super::memory::MEMORY_DB;
use super::{
    AccountStore, Durability, MemoryStore, MessageStore, PostgresStore, RoomStore, SqliteStore,
    StoreError,
};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// Where history is kept, as `--db` says.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created when missing.
    Sqlite(PathBuf),
    /// Memory only, lost on exit.
    Memory,
    /// A PostgreSQL database, by its connection URL (which may hold a
    /// password: see the `Display` and `Debug` impls, which leave it out).
    Postgres(String),
}

/// One opened database, as the interfaces the server uses: all are the
/// same backend object (one connection pool, one writer, one schema), so
/// closing `messages` closes the accounts' and rooms' writes too.
#[derive(Clone)]
pub struct Stores {
    /// The history.
    pub messages: Arc<dyn MessageStore>,
    /// Accounts, sessions, API tokens and links.
    pub accounts: Arc<dyn AccountStore>,
    /// Rooms, memberships, read state, bans and the audit log.
    pub rooms: Arc<dyn RoomStore>,
}

impl Stores {
    /// Every interface of `store`.
    pub fn of<S: MessageStore + AccountStore + RoomStore>(store: Arc<S>) -> Self {
        Self {
            messages: store.clone(),
            accounts: store.clone(),
            rooms: store,
        }
    }
}

impl Database {
    /// Opens the store: creates or upgrades the schema, and for SQLite
    /// starts its writer thread. `durability` applies to SQLite (PostgreSQL
    /// follows its own `synchronous_commit`).
    pub async fn open(&self, durability: Durability) -> Result<Stores, StoreError> {
        Ok(match self {
            Self::Sqlite(path) => Stores::of(Arc::new(SqliteStore::open_with(path, durability)?)),
            Self::Memory => Stores::of(Arc::new(MemoryStore::new())),
            Self::Postgres(url) => Stores::of(Arc::new(PostgresStore::connect(url).await?)),
        })
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl FromStr for Database {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.is_empty() {
            return Err("the database may not be empty".to_owned());
        }
        if value == MEMORY_DB {
            return Ok(Self::Memory);
        }
        if is_postgres_url(value) {
            // Checked now, so that a typo is a usage error rather than a
            // failure to connect.
            tokio_postgres::Config::from_str(value)
                .map_err(|err| format!("not a valid PostgreSQL URL: {err}"))?;
            return Ok(Self::Postgres(value.to_owned()));
        }
        Ok(Self::Sqlite(PathBuf::from(value)))
    }
}

fn is_postgres_url(value: &str) -> bool {
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| value.starts_with(scheme))
}

/// How a PostgreSQL database is named in logs and errors: user, hosts,
/// ports and database name, never the password.
pub(crate) fn describe_postgres(url: &str) -> String {
    let Ok(config) = tokio_postgres::Config::from_str(url) else {
        return "PostgreSQL (invalid URL)".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Memory => f.write_str(MEMORY_DB),
            Self::Postgres(url) => f.write_str(&describe_postgres(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_db_value_names_its_backend() {
        assert_eq!("chat.db".parse(), Ok(Database::Sqlite("chat.db".into())));
        assert_eq!(":memory:".parse(), Ok(Database::Memory));
        let url = "postgres://chat@db.example:5433/chat";
        assert_eq!(url.parse(), Ok(Database::Postgres(url.to_owned())));
        assert!("postgresql://localhost/chat"
            .parse::<Database>()
            .is_ok_and(|db| db.is_postgres()));
        assert!("".parse::<Database>().is_err());
        assert!("postgres://host:notaport/db".parse::<Database>().is_err());
    }

    #[test]
    fn a_postgres_password_is_never_shown() {
        let db: Database = "postgres://chat:s3cret@db.example:5433/chat"
            .parse()
            .expect("valid");
        for shown in [db.to_string(), format!("{db:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("db.example:5433/chat"), "{shown}");
        }
    }
}
