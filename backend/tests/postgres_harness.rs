//! The PostgreSQL harness of the tests (`support/postgres.rs`): every test
//! gets a database of its own on the shared server, dropped when done; a
//! private server stops (cleanly or as in a crash) and starts again on the
//! same port with its data; and a machine without PostgreSQL gets told what
//! to install.

mod support;

use std::path::Path;
use support::postgres::{self, PgServer, BIN_DIR_VARIABLE};
use tokio_postgres::Client;

/// The texts of the `notes` table, in the order they were written.
async fn notes(client: &Client) -> Vec<String> {
    client
        .query("SELECT text FROM notes ORDER BY id", &[])
        .await
        .expect("read the notes")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn write_note(client: &Client, text: &str) {
    client
        .execute("INSERT INTO notes (text) VALUES ($1)", &[&text])
        .await
        .expect("write a note");
}

const NOTES_TABLE: &str = "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, text TEXT NOT NULL)";

#[tokio::test]
async fn fresh_databases_are_separate_and_dropped_when_done() {
    let first = postgres::fresh_database().await;
    let second = postgres::fresh_database().await;
    assert_ne!(first.name(), second.name());
    assert_ne!(first.url(), second.url());

    let one = first.client().await;
    one.batch_execute(NOTES_TABLE)
        .await
        .expect("create a table");
    write_note(&one, "in the first").await;
    let two = second.client().await;
    let seen: i64 = two
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'notes'",
            &[],
        )
        .await
        .expect("list the tables")
        .get(0);
    assert_eq!(
        seen, 0,
        "the second database does not have the first's table"
    );
    two.batch_execute(NOTES_TABLE)
        .await
        .expect("the same table in the second database");
    assert_eq!(notes(&two).await, Vec::<String>::new());
    assert_eq!(notes(&one).await, ["in the first"]);

    // Dropped even while a client (like a chat server's pool) is connected.
    let name = first.name().to_owned();
    drop(first);
    let left: i64 = two
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .expect("list the databases")
        .get(0);
    assert_eq!(left, 0, "{name} is dropped with its handle");
    assert!(one.simple_query("SELECT 1").await.is_err());
}

#[tokio::test]
async fn a_private_server_stops_and_starts_again_on_its_port_with_its_data() {
    let server = PgServer::start_private().await;
    let port = server.port();
    let database = server.fresh_database().await;
    assert!(
        database.url().contains(&format!(":{port}/")),
        "{}",
        database.url()
    );
    let client = database.client().await;
    client
        .batch_execute(NOTES_TABLE)
        .await
        .expect("create a table");
    write_note(&client, "before the stop").await;

    server.stop().await;
    assert!(
        client.simple_query("SELECT 1").await.is_err(),
        "an open connection fails once the server is stopped"
    );
    assert!(
        postgres::connect(database.url()).await.is_err(),
        "no connection while the server is stopped"
    );

    server.start().await;
    assert_eq!(server.port(), port);
    let client = database.client().await;
    assert_eq!(notes(&client).await, ["before the stop"]);

    // A crash (no shutdown checkpoint) loses nothing committed either.
    write_note(&client, "before the crash").await;
    server.kill().await;
    assert!(postgres::connect(database.url()).await.is_err());
    server.start().await;
    let client = database.client().await;
    assert_eq!(
        notes(&client).await,
        ["before the stop", "before the crash"]
    );

    let url = database.url().to_owned();
    drop(client);
    drop(server);
    assert!(
        postgres::connect(&url).await.is_err(),
        "a dropped private server is gone"
    );
}

#[tokio::test]
#[should_panic(expected = "only a private PostgreSQL server")]
async fn the_shared_server_cannot_be_stopped() {
    PgServer::shared().await.stop().await;
}

#[test]
fn a_machine_without_postgresql_is_told_what_to_install() {
    let empty = tempfile::tempdir().expect("a temporary directory");
    let err = postgres::find_bin_dir(None, empty.path(), None).expect_err("nothing installed");
    assert!(err.contains("Debian's `postgresql`"), "{err}");
    assert!(err.contains("cargo xtask setup"), "{err}");

    let err = postgres::find_bin_dir(Some(empty.path().into()), empty.path(), None)
        .expect_err("an empty directory named");
    assert!(err.contains(BIN_DIR_VARIABLE), "{err}");
}

#[test]
fn the_newest_debian_postgresql_is_chosen() {
    let debian = tempfile::tempdir().expect("a temporary directory");
    for version in ["9.6", "15", "13"] {
        install_fake_postgresql(&debian.path().join(version).join("bin"));
    }
    // One without its programs does not count.
    std::fs::create_dir_all(debian.path().join("16/bin")).expect("create a directory");
    let found = postgres::find_bin_dir(None, debian.path(), None).expect("one is installed");
    assert_eq!(found, debian.path().join("15/bin"));
}

/// Empty files named like the programs the harness needs.
fn install_fake_postgresql(bin: &Path) {
    std::fs::create_dir_all(bin).expect("create a directory");
    for program in ["initdb", "pg_ctl", "postgres", "pg_isready"] {
        std::fs::write(bin.join(program), "").expect("write a file");
    }
}
