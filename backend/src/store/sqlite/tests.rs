//! What only the SQLite store does, against real files in a temporary
//! directory: its lock file, its WAL file, and its schema version. The
//! contract every store follows is tested on all of them by
//! `backend/tests/store.rs`.

use super::*;
use common::{DisplayName, MessageText};

fn draft(room: &str, text: &str) -> Draft {
    Draft {
        room: RoomName::parse(room).expect("valid room"),
        name: DisplayName::parse("Ann").expect("valid name"),
        author: None,
        text: MessageText::parse(text).expect("valid text"),
        nonce: None,
        mentions: Vec::new(),
    }
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chat.db");
    let _first = SqliteStore::open(&path).expect("opens");
    assert!(matches!(
        SqliteStore::open(&path),
        Err(ref err) if err.kind() == ErrorKind::InUse
    ));
}

#[tokio::test]
async fn a_clean_close_checkpoints_and_removes_the_wal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chat.db");
    let store = SqliteStore::open(&path).expect("opens");
    store.post(draft("a", "hi")).await.expect("committed");
    // A read leaves an idle reader connection in the pool.
    store.check().await.expect("reads");
    store.close().await.expect("closes");
    assert!(
        !dir.path().join("chat.db-wal").exists(),
        "a clean close checkpoints and removes the WAL"
    );
}

#[tokio::test]
async fn a_database_of_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chat.db");
    let newer = schema::latest(MIGRATIONS) + 1;
    Connection::open(&path)
        .and_then(|conn| conn.pragma_update(None, "user_version", newer))
        .expect("writes the version");
    let err = SqliteStore::open(&path).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::SchemaTooNew);
    assert!(
        err.to_string().contains(&format!("version {newer}")),
        "{err}"
    );
}
