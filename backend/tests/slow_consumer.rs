//! A client that stops reading must never delay anyone else: it leaves a
//! ping unanswered or its bounded queue overflows, it alone is disconnected
//! (close code 1013), and it can come back with `since` and miss nothing.

mod support;

use common::{CloseCode, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use support::{Client, TempDb, TestServer, FRAME_TIMEOUT};
use tokio::net::TcpSocket;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Messages the fast client posts; together ~12 MB, more than the socket
/// buffers between the server and a client that does not read plus its
/// queue (the smallest allowed, 1 MiB) can hold.
const MESSAGES: usize = 3_000;
/// The fast client posts this many at a time, then reads them back.
const BURST: usize = 50;
/// Deadline for a whole burst to come back to the fast client.
const BURST_DEADLINE: Duration = Duration::from_secs(10);
/// Longest a client that stops reading may stay in its room with
/// `--stall-timeout 1s`: a probe goes out within a second of the frames
/// that follow, and is due a second later; the rest is slack for a busy
/// test machine. Its queue would take hours to fill at this pace.
const STALL_DEADLINE: Duration = Duration::from_secs(10);

/// A client whose socket has a tiny receive buffer, so its backlog fills
/// the server's side quickly.
async fn connect_with_small_buffer(server: &TestServer, name: &str) -> Client {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let bearer = server.bearer(name).await;
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4 * 1024).expect("SO_RCVBUF");
    let stream = socket.connect(server.addr).await.expect("connect");
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let mut request = server.ws_url().into_client_request().expect("a request");
    request
        .headers_mut()
        .insert("authorization", bearer.parse().expect("a header value"));
    let (ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("handshake");
    Client::from_socket(ws)
}

/// Reads what reached the slow client, up to the close frame; returns the
/// close frame and the id of the last message it saw.
async fn read_to_close(mut slow: Client) -> (CloseFrame, u64) {
    let mut last_seen = 0;
    loop {
        let frame = tokio::time::timeout(FRAME_TIMEOUT, slow.ws.next())
            .await
            .expect("the slow client is closed in time")
            .expect("the socket ends with a close frame")
            .expect("a well-formed frame");
        match frame {
            Message::Text(text) => {
                if let Ok(ServerFrame::Message(message)) = ServerFrame::decode(&text) {
                    last_seen = message.id;
                }
            }
            Message::Close(close) => return (close.expect("a close frame with a code"), last_seen),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_does_not_delay_the_others() {
    let db = TempDb::new();
    // The stall timeout is far off: this test is about the queue, which a
    // loaded machine fills more slowly than a probe goes unanswered.
    let server = TestServer::start_with(
        &db.path(),
        &["--client-queue-bytes", "1048576", "--stall-timeout", "60s"],
    )
    .await;
    let mut slow = connect_with_small_buffer(&server, "Slow").await;
    slow.join("lobby").await;
    let mut fast = server.connect_as("Fast").await;
    fast.join("lobby").await;

    // `slow` reads nothing until the server has dropped it from the room.
    let (dropped, dropped_seen) = oneshot::channel::<()>();
    let slow = tokio::spawn(async move {
        let _ = dropped_seen.await;
        read_to_close(slow).await
    });

    let text = "x".repeat(3_900);
    let mut dropped = Some(dropped);
    for burst in 0..MESSAGES / BURST {
        for i in 0..BURST {
            fast.say("lobby", &text, Some(&format!("{burst}-{i}")))
                .await;
        }
        let received = tokio::time::timeout(BURST_DEADLINE, async {
            let mut received = 0;
            while received < BURST {
                match fast.recv().await {
                    ServerFrame::Message(_) => received += 1,
                    ServerFrame::Presence { left, .. } => {
                        let members = fast.members_of("lobby");
                        if !left.is_empty() && !members.iter().any(|name| name == "Slow") {
                            if let Some(dropped) = dropped.take() {
                                let _ = dropped.send(());
                            }
                        }
                    }
                    other => panic!("unexpected frame {other:?}"),
                }
            }
        })
        .await;
        assert!(
            received.is_ok(),
            "burst {burst} was delayed past {BURST_DEADLINE:?}"
        );
    }
    assert!(
        dropped.is_none(),
        "the slow client was removed from the room"
    );

    // After what was already on its way, the slow client finds a close
    // frame that says why.
    let (close, last_seen) = slow.await.expect("the reader does not panic");
    assert_eq!(u16::from(close.code), CloseCode::TryAgainLater.code());
    assert!(close.reason.contains("slow consumer"), "{}", close.reason);
    let counted = support::metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="slow_consumer"}"#),
        1.0,
        "slow consumers are counted"
    );

    // It comes back and resumes right after what it saw.
    let mut back = server.connect_as("Slow").await;
    let joined = back.join_since("lobby", Some(last_seen)).await;
    let ids = support::ids(&joined.history);
    assert_eq!(
        ids.last(),
        Some(&(MESSAGES as u64)),
        "up to the newest message"
    );
    assert!(ids.windows(2).all(|pair| pair[1] == pair[0] + 1), "no gaps");
    if joined.has_older {
        // The history was capped; the rest is in the API, down to last_seen.
        assert!(ids[0] > last_seen + 1);
    } else {
        assert_eq!(ids[0], last_seen + 1, "starts right after what it saw");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_posts_faster_than_it_reads_is_slowed_down_not_dropped() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--client-queue-bytes", "1048576"]).await;
    let mut client = server.connect_as("Flood").await;
    client.join("lobby").await;
    let (mut socket_out, mut socket_in) = client.ws.split();

    // ~10 MB of posts, written as fast as the socket takes them ...
    const POSTS: usize = 5_000;
    let text = "y".repeat(2_000);
    let writer = tokio::spawn(async move {
        for i in 0..POSTS {
            let frame =
                format!(r#"{{"type":"send","room":"lobby","text":"{text}","nonce":"{i}"}}"#);
            socket_out
                .send(Message::text(frame))
                .await
                .expect("the server keeps the socket open");
        }
    });
    // ... while the echoes are read at a leisurely pace.
    let mut ids = Vec::with_capacity(POSTS);
    while ids.len() < POSTS {
        let frame = tokio::time::timeout(FRAME_TIMEOUT, socket_in.next())
            .await
            .expect("echoes keep coming")
            .expect("the socket stays open")
            .expect("a well-formed frame");
        match frame {
            Message::Text(text) => match ServerFrame::decode(&text).expect("a valid frame") {
                ServerFrame::Message(message) => ids.push(message.id),
                other => panic!("unexpected frame {other:?}"),
            },
            // The server's pings (answered by tungstenite) check that the
            // client still reads.
            Message::Ping(_) => {}
            other => panic!("expected messages only, got {other:?}"),
        }
        if ids.len() % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    writer.await.expect("the writer finished");
    assert_eq!(ids, (1..=POSTS as u64).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_as_stalled_within_seconds() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--stall-timeout", "1s"]).await;
    // It reads nothing after its join: no frame, and so no ping either.
    let mut stalled = connect_with_small_buffer(&server, "Stalled").await;
    stalled.join("lobby").await;
    let mut talker = server.connect_as("Talker").await;
    talker.join("lobby").await;

    // A message every 100 ms: far too little to fill the stalled client's
    // queue, so only the unanswered ping can tell that it stopped reading.
    let started = tokio::time::Instant::now();
    let deadline = started + STALL_DEADLINE;
    let mut sent = 0;
    'watch: loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client was still in the room after {STALL_DEADLINE:?}"
        );
        talker.say("lobby", &format!("tick {sent}"), None).await;
        sent += 1;
        let until = tokio::time::Instant::now() + Duration::from_millis(100);
        while let Some(frame) = talker
            .try_recv(until.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if let ServerFrame::Presence { left, .. } = frame {
                let members = talker.members_of("lobby");
                if !left.is_empty() && !members.iter().any(|name| name == "Stalled") {
                    break 'watch;
                }
            }
        }
    }
    println!(
        "the stalled client was dropped {:?} after the first message",
        started.elapsed()
    );

    // Reading again, it finds what was on its way, then the reason.
    let (close, _) = read_to_close(stalled).await;
    assert_eq!(u16::from(close.code), CloseCode::TryAgainLater.code());
    assert!(close.reason.starts_with("stalled"), "{}", close.reason);
    let counted = support::metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="stalled"}"#),
        1.0
    );
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="slow_consumer"}"#),
        0.0,
        "its queue never filled"
    );
    server.stop().await;
}
