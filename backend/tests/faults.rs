//! Faults on the client's side: peers that go silent, never join, or stop
//! reading. Run with short configured timeouts.

mod support;

use common::CloseCode;
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use support::{metrics, TempDb, TestServer};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn the_server_pings_and_closes_a_client_that_answers_nothing() {
    let db = TempDb::new();
    let server = TestServer::start_with(
        &db.path(),
        &["--ping-interval", "100ms", "--idle-timeout", "600ms"],
    )
    .await;
    let mut alive = server.connect_as("Alive").await;
    alive.join("lobby").await;
    let mut silent = server.connect_as("Silent").await;
    silent.join("lobby").await;
    let started = Instant::now();

    // `alive` reads all the time, so its WebSocket layer answers every
    // ping with a pong; `silent` is not polled at all, so it answers
    // nothing, like a peer whose network vanished.
    let mut pings = 0;
    while started.elapsed() < Duration::from_millis(1_500) {
        match tokio::time::timeout(Duration::from_millis(200), alive.ws.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(other) => panic!("the live client lost its connection: {other:?}"),
        }
    }
    assert!(pings >= 5, "pings every 100 ms, saw {pings}");

    let (code, reason) = raw_close_frame(&mut silent).await;
    assert_eq!(code, CloseCode::GoingAway.code());
    assert!(reason.contains("idle"), "{reason}");
    // The live one is still a member, and was told the silent one left.
    alive.round_trip().await;
    alive.say("lobby", "still here", None).await;
    assert_eq!(alive.next_message().await.text.as_str(), "still here");
    let counted = metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="heartbeat"}"#),
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_joins_is_closed_after_the_join_timeout() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--join-timeout", "300ms"]).await;
    let started = Instant::now();
    let mut idle = server.connect().await;
    let mut member = server.connect_as("Member").await;
    member.join("lobby").await;

    let (code, reason) = idle.expect_close().await;
    assert_eq!(code, CloseCode::PolicyViolation.code());
    assert_eq!(reason, "no room joined in time");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A connection that joined in time stays, well past the timeout.
    tokio::time::sleep(Duration::from_millis(400)).await;
    member.say("lobby", "still here", None).await;
    assert_eq!(member.next_message().await.text.as_str(), "still here");
    server.stop().await;
}

#[tokio::test]
async fn a_write_that_cannot_finish_closes_that_client_only() {
    let db = TempDb::new();
    // A queue large enough that the slow-consumer rule does not fire first:
    // the writer blocks on the full socket, and the write timeout ends it.
    let server = TestServer::start_with(
        &db.path(),
        &[
            "--write-timeout",
            "500ms",
            "--client-queue-bytes",
            "268435456",
        ],
    )
    .await;
    let mut stuck = server.connect_as("Stuck").await;
    stuck.join("lobby").await;
    let mut author = server.connect_as("Author").await;
    author.join("lobby").await;

    // ~4 KB per message: the stuck client's socket buffers fill within a
    // few thousand messages, then its writer cannot make progress.
    let text = "w".repeat(3_900);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for _ in 0..100 {
            author.say("lobby", &text, None).await;
        }
        for _ in 0..100 {
            author.next_message().await;
        }
        let counted = metrics(&server).await;
        if counted.value(r#"chat_disconnects_total{reason="write_timeout"}"#) == 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the stuck writer timed out");
    }
    // The author is unaffected and sees the stuck client leave.
    author.round_trip().await;
    author.say("lobby", "after", None).await;
    assert_eq!(author.next_message().await.text.as_str(), "after");
    drop(stuck);
    server.stop().await;
}

#[tokio::test]
async fn every_connection_counts_in_and_out_of_the_metrics() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, bob) = server.ann_and_bob_in_lobby().await;
    for i in 0..3 {
        ann.say("lobby", &format!("m{i}"), None).await;
    }
    for _ in 0..3 {
        ann.next_message().await;
    }
    let counted = metrics(&server).await;
    assert_eq!(counted.value("chat_connections"), 2.0);
    assert_eq!(counted.value("chat_rooms"), 1.0);
    assert_eq!(counted.value("chat_members"), 2.0);
    assert_eq!(counted.value("chat_messages_stored_total"), 3.0);
    assert_eq!(counted.value("chat_deliveries_total"), 6.0);
    assert_eq!(
        counted.value(r#"chat_frames_received_total{type="send"}"#),
        3.0
    );
    assert_eq!(counted.value("chat_db_write_seconds_count"), 3.0);
    drop(bob);
    assert_eq!(ann.expect_presence().await, ["Ann"]);
    let counted = metrics(&server).await;
    assert_eq!(counted.value("chat_connections"), 1.0);
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="client_closed"}"#),
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_can_move_to_another_address_or_be_turned_off() {
    let db = TempDb::new();
    let off = TestServer::start_with(&db.path(), &["--no-metrics"]).await;
    assert_no_metrics_at(&off.url("/metrics")).await;
    off.stop().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let moved = TestServer::start_with(&db.path(), &["--metrics-addr", &metrics_addr]).await;
    let mut ann = moved.connect_as("Ann").await;
    ann.join("lobby").await;
    assert_no_metrics_at(&moved.url("/metrics")).await;
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(
        text.lines().any(|line| line == "chat_connections 1"),
        "{text}"
    );
    drop(ann);
    moved.stop().await;
}

/// Asserts that `url` does not serve the metrics.
async fn assert_no_metrics_at(url: &str) {
    let response = reqwest::get(url).await.expect("GET");
    assert_ne!(response.status(), 200, "{url}");
    let body = response.text().await.expect("body");
    assert!(!body.contains("chat_connections"), "{url} serves metrics");
}

/// Reads the raw bytes the server sent to a client that has not polled its
/// WebSocket (so it answered no ping) up to the server's close frame, and
/// returns the close code and reason. A WebSocket library would try to
/// answer the queued pings first and fail on the closed socket.
async fn raw_close_frame(client: &mut support::Client) -> (u16, String) {
    use tokio::io::AsyncReadExt;
    let stream = match client.ws.get_mut() {
        tokio_tungstenite::MaybeTlsStream::Plain(stream) => stream,
        _ => panic!("a plain TCP stream"),
    };
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    // Server frames are unmasked: opcode byte, length (7 bits, or 126 and
    // 2 bytes, or 127 and 8 bytes), payload.
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
                4,
            ),
            127 => {
                let mut len = [0; 8];
                len.copy_from_slice(&bytes[at + 2..at + 10]);
                (
                    usize::try_from(u64::from_be_bytes(len)).expect("a length"),
                    10,
                )
            }
            len => (usize::from(len), 2),
        };
        let payload = &bytes[at + header..(at + header + len).min(bytes.len())];
        if opcode == 0x8 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
        }
        at += header + len;
    }
    panic!("no close frame in {} bytes", bytes.len());
}
