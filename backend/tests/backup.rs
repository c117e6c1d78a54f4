//! `chat-server backup` and `chat-server export`, run as a person would,
//! on the binary: a backup taken while a writer posts restores to a
//! server that has every message the backup holds, consistently; an
//! export writes every message of every room (or of one) as JSON Lines, on
//! whichever backend the test run uses (`CHAT_TEST_DB`).

mod support;

use common::ChatMessage;
use std::collections::BTreeMap;
use std::process::Output;
use support::process::{chat_server, ServerProcess};
use support::resend::text_of;
use support::TempDb;

fn run(args: &[&str]) -> Output {
    chat_server()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs chat-server")
}

/// Posts `count` numbered messages to `room` as `name`, waiting for each.
async fn post(server: &ServerProcess, room: &str, name: &str, from: usize, count: usize) {
    let mut client = server.connect_as(name).await;
    client.join(room).await;
    for n in from..from + count {
        client.say(room, &text_of(n), None).await;
        client.next_message().await;
    }
}

#[tokio::test]
async fn a_backup_taken_under_traffic_restores_every_message_it_holds() {
    let db = TempDb::sqlite();
    let server = ServerProcess::start(&db.path());
    post(&server, "lobby", "Ann", 0, 50).await;
    // A writer goes on posting while the backup runs.
    let mut writer = server.connect_as("Bob").await;
    writer.join("lobby").await;
    let writing = tokio::spawn(async move {
        for n in 1_000..1_400 {
            writer.say("lobby", &text_of(n), None).await;
        }
        writer
    });
    let copy = db.dir().join("backup.db");
    let db_arg = db.path();
    let backup = run(&[
        "backup",
        "--db",
        db_arg.to_str().expect("UTF-8"),
        copy.to_str().expect("UTF-8"),
    ]);
    assert!(backup.status.success(), "{backup:?}");
    let mut writer = writing.await.expect("the writer ends");
    writer.round_trip().await;
    let live = server.all_messages("lobby").await;
    drop(server);

    // A second backup to the same file is refused: nothing is overwritten.
    let again = run(&[
        "backup",
        "--db",
        db_arg.to_str().expect("UTF-8"),
        copy.to_str().expect("UTF-8"),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Restoring is putting the file in place of the database.
    let restored_dir = TempDb::sqlite();
    std::fs::copy(&copy, restored_dir.path()).expect("restores the copy");
    let restored = ServerProcess::start(&restored_dir.path());
    let backed_up = restored.all_messages("lobby").await;
    assert!(
        backed_up.len() >= 50,
        "the backup holds what came before it"
    );
    // Consistent: a prefix of the live history, ids 1..=n with no gap,
    // each message exactly as it was.
    let prefix: BTreeMap<u64, ChatMessage> = live
        .iter()
        .take(backed_up.len())
        .map(|(id, message)| (*id, message.clone()))
        .collect();
    assert_eq!(backed_up, prefix);
    assert_eq!(
        backed_up.keys().copied().collect::<Vec<_>>(),
        (1..=backed_up.len() as u64).collect::<Vec<_>>()
    );
    // And the restored server goes on from there.
    post(&restored, "lobby", "Cy", 2_000, 1).await;
    let after = restored.all_messages("lobby").await;
    assert_eq!(
        after.keys().last().copied(),
        Some(backed_up.len() as u64 + 1)
    );
}

#[test]
fn a_backup_of_postgresql_says_to_use_pg_dump() {
    let output = run(&[
        "backup",
        "--db",
        "postgres://chat@127.0.0.1:1/chat",
        "/tmp/never-written.db",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!std::path::Path::new("/tmp/never-written.db").exists());
}

#[tokio::test]
async fn an_export_writes_every_message_of_every_room_as_json_lines() {
    let db = TempDb::new();
    let server = ServerProcess::start(&db.path());
    post(&server, "lobby", "Ann", 0, 30).await;
    post(&server, "rust", "Bob", 100, 5).await;
    post(&server, "empty-soon", "Cy", 200, 1).await;
    let lobby = server.all_messages("lobby").await;
    let rust = server.all_messages("rust").await;
    let db_arg = db.path();
    let db_arg = db_arg.to_str().expect("UTF-8");

    // Beside the running server (SQLite is read without its lock).
    let all = run(&["export", "--db", db_arg]);
    assert!(all.status.success(), "{all:?}");
    let lines: Vec<ChatMessage> = String::from_utf8(all.stdout.clone())
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a message"))
        .collect();
    let rooms: Vec<&str> = lines.iter().map(|message| message.room.as_str()).collect();
    assert_eq!(rooms.first(), Some(&"empty-soon"), "rooms in name order");
    let exported = |room: &str| -> BTreeMap<u64, ChatMessage> {
        lines
            .iter()
            .filter(|message| message.room.as_str() == room)
            .map(|message| (message.id, message.clone()))
            .collect()
    };
    assert_eq!(exported("lobby"), lobby);
    assert_eq!(exported("rust"), rust);
    assert_eq!(lines.len(), lobby.len() + rust.len() + 1);
    assert!(
        String::from_utf8_lossy(&all.stderr).contains("exported 36 messages of 3 rooms"),
        "{all:?}"
    );

    // One room, to a file.
    let out = db.dir().join("rust.jsonl");
    let one = run(&[
        "export",
        "--db",
        db_arg,
        "--room",
        "rust",
        "--out",
        out.to_str().expect("UTF-8"),
    ]);
    assert!(one.status.success(), "{one:?}");
    let text = std::fs::read_to_string(&out).expect("the export file");
    let ids: Vec<u64> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<ChatMessage>(line)
                .expect("a message")
                .id
        })
        .collect();
    assert_eq!(ids, rust.keys().copied().collect::<Vec<_>>());
}
