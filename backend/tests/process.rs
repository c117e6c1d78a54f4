//! The `chat-server` binary as a process: what it says when it cannot
//! start, its `--help`, and that `kill -9` loses no message any client saw.

mod support;

use common::{ChatMessage, CloseCode};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use support::process::{chat_server, ServerProcess, START_TIMEOUT};
use support::resend::{self, ResendingWriter, Rng};
use support::{Client, TempDb};
use tokio_tungstenite::tungstenite::Message;

/// Runs the binary to completion with `args`.
fn run_to_end(args: &[&str]) -> Output {
    chat_server()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run chat-server")
}

#[tokio::test]
async fn messages_that_clients_saw_survive_kill_9() {
    let db = TempDb::new();
    let server = ServerProcess::start(&db.path());
    let (mut writer, mut observer) = writer_and_observer(&server).await;

    // The writer streams messages without waiting; the server is killed
    // while they are still being written and broadcast.
    const SENT: usize = 2_000;
    const KILL_AFTER: usize = 300;
    let writing = tokio::spawn(async move {
        send_numbered(&mut writer, SENT).await;
        // Kept open: closing it would discard what the server has not read yet.
        writer
    });
    let mut seen: Vec<ChatMessage> = Vec::new();
    while seen.len() < KILL_AFTER {
        seen.push(observer.next_message().await);
    }
    server.kill_9();
    // Whatever else reached the observer before the socket died counts too.
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_secs(5), observer.ws.next()).await
    {
        if let Ok(common::ServerFrame::Message(message)) = common::ServerFrame::decode(&text) {
            seen.push(message);
        }
    }
    let _writer = writing.await;
    assert!(
        seen.len() < SENT,
        "the kill came before all messages were sent ({})",
        seen.len()
    );

    let server = ServerProcess::start(&db.path());
    let stored = server.all_messages("lobby").await;
    for message in &seen {
        assert_eq!(
            stored.get(&message.id),
            Some(message),
            "message {} was seen but lost",
            message.id
        );
    }
    let last = *stored.keys().last().expect("something was stored");
    eprintln!(
        "killed with {} messages seen; {last} stored; {SENT} sent",
        seen.len()
    );
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>(),
        "no gaps"
    );

    // Ids go on after the newest stored one.
    let mut writer = server.connect_as("Writer").await;
    writer.join("lobby").await;
    writer.say("lobby", "after the crash", None).await;
    assert_eq!(writer.next_message().await.id, last + 1);
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_port_in_use_is_one_clear_line_and_exit_status_1() {
    let db = TempDb::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address").to_string();
    let output = run_to_end(&["--addr", &addr, "--db", db.path().to_str().expect("UTF-8")]);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("cannot listen on {addr}")),
        "{lines:?}"
    );
}

#[test]
fn an_unwritable_database_is_one_clear_line_and_exit_status_1() {
    let db = TempDb::sqlite();
    let missing_dir = db.dir().join("no-such-dir").join("chat.db");
    let output = run_to_end(&[
        "--addr",
        "127.0.0.1:0",
        "--db",
        missing_dir.to_str().expect("UTF-8"),
    ]);
    let error = the_one_error_line(&output);
    assert!(error.contains("cannot open database"), "{error}");
}

#[test]
fn cluster_mode_without_a_postgresql_database_is_one_clear_line_and_exit_status_1() {
    let db = TempDb::sqlite();
    let output = run_to_end(&[
        "--addr",
        "127.0.0.1:0",
        "--cluster",
        "redis://127.0.0.1:1",
        "--db",
        db.path().to_str().expect("UTF-8"),
    ]);
    let error = the_one_error_line(&output);
    assert!(
        error.contains("--cluster needs --db postgres://"),
        "{error}"
    );
    assert!(!db.path().exists(), "nothing is created");
}

/// What a server that failed to start said: exit status 1 and exactly one
/// `chat-server:` line on stderr, without a panic.
fn the_one_error_line(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(output);
    let errors: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("chat-server:"))
        .collect();
    assert_eq!(errors.len(), 1, "{lines:?}");
    assert!(
        !lines.iter().any(|line| line.contains("panicked")),
        "{lines:?}"
    );
    errors[0].clone()
}

#[test]
fn a_database_in_use_by_another_server_is_refused() {
    let db = TempDb::sqlite();
    let _first = ServerProcess::start(&db.path());
    let output = run_to_end(&[
        "--addr",
        "127.0.0.1:0",
        "--db",
        db.path().to_str().expect("UTF-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert!(
        lines
            .iter()
            .any(|line| line.contains("in use by another chat-server")),
        "{lines:?}"
    );
}

#[test]
fn help_documents_every_flag_and_its_environment_variable() {
    let output = run_to_end(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for (flag, env) in [
        ("--addr", "CHAT_ADDR"),
        ("--db", "CHAT_DB"),
        ("--dist", "CHAT_DIST"),
        ("--trace", "CHAT_TRACE"),
        ("--allowed-origin", "CHAT_ALLOWED_ORIGINS"),
        ("--client-queue-bytes", "CHAT_CLIENT_QUEUE_BYTES"),
        ("--max-message-bytes", "CHAT_MAX_MESSAGE_BYTES"),
        ("--rate-limit-burst", "CHAT_RATE_LIMIT_BURST"),
        ("--rate-limit-per-second", "CHAT_RATE_LIMIT_PER_SECOND"),
        ("--max-connections", "CHAT_MAX_CONNECTIONS"),
        ("--max-connections-per-ip", "CHAT_MAX_CONNECTIONS_PER_IP"),
        (
            "--max-rooms-per-connection",
            "CHAT_MAX_ROOMS_PER_CONNECTION",
        ),
        ("--ping-interval", "CHAT_PING_INTERVAL"),
        ("--idle-timeout", "CHAT_IDLE_TIMEOUT"),
        ("--join-timeout", "CHAT_JOIN_TIMEOUT"),
        ("--write-timeout", "CHAT_WRITE_TIMEOUT"),
        ("--header-read-timeout", "CHAT_HEADER_READ_TIMEOUT"),
        ("--metrics-addr", "CHAT_METRICS_ADDR"),
        ("--no-metrics", "CHAT_NO_METRICS"),
        ("--log-format", "CHAT_LOG_FORMAT"),
        ("--durability", "CHAT_DURABILITY"),
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
        assert!(help.contains(env), "--help lacks {env}:\n{help}");
    }
    assert!(
        help.contains("127.0.0.1:8080") && help.contains("chat.db"),
        "defaults are shown:\n{help}"
    );
}

#[test]
fn trace_logs_room_activity_without_message_text() {
    let db = TempDb::new();
    let database = db
        .path()
        .to_str()
        .expect("UTF-8")
        .parse()
        .expect("a database");
    let reader = support::accounts::provision_reader_blocking(database).expect("a reader");
    let mut child = chat_server()
        .args([
            "--addr",
            "127.0.0.1:0",
            "--db",
            db.path().to_str().expect("UTF-8"),
            "--trace",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    let addr = lines
        .by_ref()
        .find_map(|line| {
            line.split("listening on http://").nth(1).map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .expect("the server says where it listens");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let addr = addr.parse().expect("a socket address");
        support::accounts::register(addr, reader);
        let mut client = support::Endpoint { addr }.connect_as("Ann").await;
        client.join("lobby").await;
        client.say("lobby", "a secret text", None).await;
        client.next_message().await;
    });
    let deadline = Instant::now() + START_TIMEOUT;
    let mut traced = Vec::new();
    for line in lines {
        traced.push(line.clone());
        assert!(
            !line.contains("a secret text"),
            "message text in the log: {line}"
        );
        if line.contains("forward") || Instant::now() > deadline {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        traced
            .iter()
            .any(|line| line.contains("join") && line.contains("user=")),
        "{traced:?}"
    );
    assert!(
        traced
            .iter()
            .any(|line| line.contains("forward") && line.contains("id=1")),
        "{traced:?}"
    );
}

#[tokio::test]
async fn sigterm_under_traffic_closes_with_1001_keeps_every_accepted_message_and_exits() {
    let db = TempDb::new();
    let server = ServerProcess::start(&db.path());
    let (mut writer, mut observer) = writer_and_observer(&server).await;

    const SENT: usize = 2_000;
    const TERMINATE_AFTER: usize = 200;
    let writing = tokio::spawn(async move {
        send_numbered(&mut writer, SENT).await;
        // Every message the server accepted comes back to its author
        // before the close frame.
        let mut confirmed = Vec::new();
        loop {
            match writer.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(common::ServerFrame::Message(message)) =
                        common::ServerFrame::decode(&text)
                    {
                        confirmed.push(message);
                    }
                }
                Some(Ok(Message::Close(close))) => {
                    return (confirmed, close.map(|close| u16::from(close.code)))
                }
                Some(Ok(_)) => {}
                _ => return (confirmed, None),
            }
        }
    });
    let mut seen: Vec<ChatMessage> = Vec::new();
    while seen.len() < TERMINATE_AFTER {
        seen.push(observer.next_message().await);
    }
    let (status, took) = server.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < chat_server::server::SHUTDOWN_GRACE + Duration::from_secs(2),
        "exited in {took:?}"
    );
    let (confirmed, close_code) = writing.await.expect("the writer does not panic");
    // The writer was still sending when the server closed: its unread
    // frames make the server's kernel answer with a reset, which may
    // overtake the close frame. The observer (below) always gets it.
    assert!(
        close_code.is_none_or(|code| code == CloseCode::GoingAway.code()),
        "the writer got {close_code:?}"
    );
    let observer_close = observer.expect_close().await;
    assert_eq!(observer_close.0, CloseCode::GoingAway.code());
    assert!(confirmed.len() >= TERMINATE_AFTER);

    let server = ServerProcess::start(&db.path());
    let mut check = server.connect_as("Check").await;
    let joined = check.join_since("lobby", Some(0)).await;
    assert!(!joined.has_older || confirmed.len() > common::api::SINCE_HISTORY_LIMIT);
    let stored: BTreeMap<u64, ChatMessage> = server.all_messages("lobby").await;
    for message in &confirmed {
        assert_eq!(
            stored.get(&message.id),
            Some(message),
            "accepted message {} was lost",
            message.id
        );
    }
    eprintln!(
        "SIGTERM after {} messages seen: exit in {took:?}; {} accepted, {} stored, {SENT} sent",
        seen.len(),
        confirmed.len(),
        stored.len()
    );
}

/// A writer and an observer, each on its own connection, in `lobby`.
async fn writer_and_observer(server: &ServerProcess) -> (Client, Client) {
    let mut writer = server.connect_as("Writer").await;
    let mut observer = server.connect_as("Observer").await;
    writer.join("lobby").await;
    observer.join("lobby").await;
    (writer, observer)
}

/// Streams `count` numbered messages with nonces to `lobby` without waiting
/// for any answer; stops early when the server is gone.
async fn send_numbered(writer: &mut Client, count: usize) {
    for i in 0..count {
        let frame =
            format!(r#"{{"type":"send","room":"lobby","text":"message {i}","nonce":"n{i}"}}"#);
        if writer.try_send_text(&frame).await.is_err() {
            break; // The server is gone.
        }
    }
}

#[tokio::test]
async fn clients_that_resend_see_every_message_once_across_kill_9_restarts() {
    let db = TempDb::new();
    let mut rng = Rng::from_env();
    const MESSAGES: usize = 300;
    /// Most crashes in one run; the last rounds then finish in peace.
    const MAX_KILLS: usize = 12;
    let mut server = ServerProcess::start(&db.path());
    let mut writer = ResendingWriter::new("lobby", "Writer", MESSAGES);
    // The observer re-joins with `since` after each crash, like any client.
    let mut observer = ResendingWriter::new("lobby", "Observer", 0);
    let mut observed: Vec<ChatMessage> = Vec::new();
    let mut kills = 0;
    while !writer.done() {
        let url = format!("ws://{}/ws", server.addr);
        let (mut watching, missed) = observer.reconnect(&url).await;
        observed.extend(missed);
        let (mut client, _) = writer.reconnect(&url).await;
        writer.send_some(&mut client, rng.between(20..=80)).await;
        if kills < MAX_KILLS {
            // Crash while the writes are in flight: some are committed,
            // some not, some not even read from the socket.
            let pause = rng.between(0..=5) as u64;
            tokio::time::sleep(Duration::from_millis(pause)).await;
            server.kill_9_in_place();
            kills += 1;
            server = ServerProcess::start(&db.path());
        } else {
            writer
                .read_some(&mut client, usize::MAX, Duration::from_millis(500))
                .await;
        }
        // What reached the observer before the crash (or since the join).
        while let Some(frame) = watching.try_recv_quietly(Duration::from_millis(200)).await {
            if let common::ServerFrame::Message(message) = frame {
                observer.saw(&message);
                observed.push(message);
            }
        }
    }
    let texts: Vec<String> = observed.iter().map(|m| m.text.to_string()).collect();
    let expected: Vec<String> = (0..MESSAGES).map(resend::text_of).collect();
    assert_eq!(texts, expected, "every message once, in order");
    let ids: Vec<u64> = observed.iter().map(|m| m.id).collect();
    assert_eq!(ids, (1..=MESSAGES as u64).collect::<Vec<_>>(), "no gaps");
    eprintln!(
        "{kills} kills, {} writer connections, {} sends repeated",
        writer.connections, writer.resent
    );
}

#[tokio::test]
async fn json_logs_carry_the_connection_span_and_never_message_text() {
    let db = TempDb::new();
    let server = ServerProcess::start_with_env(
        &db.path(),
        &["--log-format", "json", "--trace"],
        &[("RUST_LOG", "info,chat_server=debug")],
    );
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    ann.say("lobby", "a secret text", None).await;
    ann.next_message().await;
    ann.send_text("not json").await;
    ann.expect_error().await;
    drop(ann);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = server.log_lines();
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        !lines.iter().any(|line| line.contains("a secret text")),
        "message text in the log"
    );
    let forward = events
        .iter()
        .find(|event| event["fields"]["message"] == "forward")
        .expect("the tracer logged the forward");
    assert_eq!(forward["fields"]["room"], "lobby");
    let in_connection = events
        .iter()
        .find(|event| event["span"]["name"] == "connection")
        .expect("an event inside a connection span");
    assert!(
        in_connection["span"]["client"].is_number(),
        "{in_connection}"
    );
    assert!(
        in_connection["span"]["peer"]
            .as_str()
            .is_some_and(|peer| peer.starts_with("127.0.0.1:")),
        "{in_connection}"
    );
}

/// Whoever stops the server as soon as it says it is up: a SIGTERM sent
/// the moment the first start prints its setup link (before the server
/// has even logged its address) stops it gracefully. The signals used to
/// be watched only from when connections were accepted: such a SIGTERM
/// killed the process outright, before it closed its database, or, when
/// it came while Tokio had installed its handler but not yet subscribed to
/// it, was lost, and the server ran on (see `chat_server::shutdown::watch`).
#[test]
fn sigterm_as_soon_as_the_setup_link_is_printed_stops_the_server_gracefully() {
    let db = TempDb::new();
    let mut child = chat_server()
        .args([
            "--addr",
            "127.0.0.1:0",
            "--db",
            db.path().to_str().expect("UTF-8"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("piped");
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let stdout = child.stdout.take().expect("piped");
    let link = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("First start: open"));
    if link.is_some() {
        // At once, without `kill(1)`'s fork and exec.
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::TERM,
        )
        .expect("SIGTERM sent");
    }
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let log = log.join().expect("the log is read");
    assert!(link.is_some(), "no setup link printed; log: {log:?}");
    let status = status
        .unwrap_or_else(|| panic!("still running {START_TIMEOUT:?} after SIGTERM; log: {log:?}"));
    assert!(status.success(), "exit status {status}; log: {log:?}");
    assert!(
        log.iter().any(|line| line.contains("SIGTERM received")),
        "{log:?}"
    );
    assert!(
        log.last().is_some_and(|line| line.contains("stopped")),
        "{log:?}"
    );
}
