//! What the stores' conformance suites share: the backends a suite runs
//! each of its tests on (the memory store, SQLite on a real file, a real
//! PostgreSQL: see [`super::postgres`]), each opened as the server opens
//! it (`Database::open`, every interface of one backend); `conformance!`,
//! which makes one `#[tokio::test]` per backend of each test (`memory::…`,
//! `sqlite::…`, `postgres::…`); and the [`draft`] they post.
//!
//! A test is an `async fn` of a submodule of the suite taking a
//! [`Backend`]; the suite imports `Backend` and `conformance` and names its
//! tests as `module::test` in one `conformance!` list.

use super::postgres::{fresh_database, PgDatabase};
use chat_server::store::{Database, Draft, Durability, Stores};
use common::{DisplayName, MessageText, RoomName};
use tempfile::TempDir;

/// A message of Ann's, without an account, a nonce or a mention, to
/// `room`.
pub fn draft(room: &str, text: &str) -> Draft {
    Draft {
        author: None,
        room: RoomName::parse(room).expect("valid room"),
        name: DisplayName::parse("Ann").expect("valid name"),
        text: MessageText::parse(text).expect("valid text"),
        nonce: None,
        mentions: Vec::new(),
    }
}

/// Where a test's database lives, so that it can be opened again.
pub enum Backend {
    Memory,
    Sqlite(TempDir),
    Postgres(PgDatabase),
}

impl Backend {
    pub fn memory() -> Self {
        Self::Memory
    }

    pub fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    pub async fn postgres() -> Self {
        Self::Postgres(fresh_database().await)
    }

    /// Opens the database (again, for the durable backends).
    pub async fn open(&self) -> Stores {
        let database = match self {
            Self::Memory => Database::Memory,
            Self::Sqlite(dir) => Database::Sqlite(dir.path().join("chat.db")),
            Self::Postgres(db) => Database::Postgres(db.url().to_owned()),
        };
        database.open(Durability::Process).await.expect("opens")
    }

    /// Whether what was committed is there when it is opened again.
    pub fn is_durable(&self) -> bool {
        !matches!(self, Self::Memory)
    }
}

/// One `#[tokio::test]` per backend of each `module::test` listed, in the
/// modules `memory`, `sqlite` and `postgres` of the suite's root, which
/// imports [`Backend`].
// Each test file uses its own part of the support module.
#[allow(unused_macros)]
macro_rules! conformance {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $test() {
                super::$module::$test(super::Backend::memory()).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                super::$module::$test(super::Backend::sqlite()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                super::$module::$test(super::Backend::postgres().await).await;
            })*
        }
    };
}
// Each test file uses its own part of the support module: the others do
// not import it.
#[allow(unused_imports)]
pub(crate) use conformance;
