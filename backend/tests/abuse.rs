//! Bad input and abuse: oversized frames, floods, caps, foreign origins,
//! plain HTTP on the WebSocket path, slow and oversized HTTP requests, and
//! names that only look different. Each test checks that the offender is
//! stopped and that everyone else carries on.

mod support;

use chat_server::limits::FLOOD_STRIKES;
use common::{CloseCode, ErrorCode};
use std::time::{Duration, Instant};
use support::{metrics, stored_and_rate_limited, Client, TempDb, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_message_over_the_size_limit_closes_that_connection_with_1009_only() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;
    // 17 KiB: over the default limit of 16 KiB.
    let huge = format!(
        r#"{{"type":"send","room":"lobby","text":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    ann.send_text(&huge).await;
    assert_eq!(
        ann.expect_close().await,
        (CloseCode::MessageTooBig.code(), "message too big".into())
    );

    // Bob and the server carry on.
    assert_eq!(bob.expect_presence().await, ["Bob"]);
    bob.say("lobby", "still here", None).await;
    assert_eq!(bob.next_message().await.text.as_str(), "still here");
    let mut cid = server.connect_as("Cid").await;
    cid.join("lobby").await;
    let counted = metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="size"}"#),
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn sends_past_the_rate_limit_are_refused_and_not_stored() {
    let db = TempDb::new();
    let server = TestServer::start_with(
        &db.path(),
        &["--rate-limit-burst", "3", "--rate-limit-per-second", "2"],
    )
    .await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    for i in 0..5 {
        ann.say("lobby", &format!("burst {i}"), Some(&format!("n{i}")))
            .await;
    }
    let (stored, refused) = stored_and_rate_limited(&mut ann, 5).await;
    assert_eq!(stored, ["burst 0", "burst 1", "burst 2"]);
    assert_eq!(refused, ["n3", "n4"]);

    // Tokens come back at the sustained rate (2 per second).
    tokio::time::sleep(Duration::from_millis(600)).await;
    ann.say("lobby", "later", Some("n5")).await;
    assert_eq!(ann.next_message().await.text.as_str(), "later");

    let mut bob = server.connect_as("Bob").await;
    let joined = bob.join("lobby").await;
    let texts: Vec<_> = joined.history.iter().map(|m| m.text.to_string()).collect();
    assert_eq!(texts, ["burst 0", "burst 1", "burst 2", "later"]);
    let counted = metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_rate_limited_total{type="send"}"#),
        2.0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_keeps_flooding_is_closed_with_1008() {
    let db = TempDb::new();
    let server = TestServer::start_with(
        &db.path(),
        &["--rate-limit-burst", "1", "--rate-limit-per-second", "0.1"],
    )
    .await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;
    // One accepted, then FLOOD_STRIKES refused in a row.
    for i in 0..=FLOOD_STRIKES {
        ann.say("lobby", &format!("flood {i}"), None).await;
    }
    let (code, reason) = ann.expect_close().await;
    assert_eq!(code, CloseCode::PolicyViolation.code());
    assert!(reason.contains("rate limit"), "{reason}");

    // Bob saw the one accepted message, then Ann leave.
    assert_eq!(bob.next_message().await.text.as_str(), "flood 0");
    assert_eq!(bob.expect_presence().await, ["Bob"]);
    bob.say("lobby", "calm again", None).await;
    assert_eq!(bob.next_message().await.text.as_str(), "calm again");
    let counted = metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="rate_limit"}"#),
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn rooms_per_connection_are_capped() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--max-rooms-per-connection", "2"]).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("one").await;
    ann.join("two").await;
    ann.send_text(r#"{"type":"join","room":"three"}"#).await;
    let error = ann.expect_error().await;
    assert_eq!(error.code, ErrorCode::TooManyRooms);
    assert_eq!(error.room.map(String::from).as_deref(), Some("three"));
    // Leaving one makes room for another.
    ann.send_text(r#"{"type":"leave","room":"one"}"#).await;
    ann.join("three").await;
    server.stop().await;
}

#[tokio::test]
async fn connections_per_address_are_capped_with_429() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--max-connections-per-ip", "2"]).await;
    let mut first = server.connect().await;
    let _second = server.connect().await;
    let bearer = server.bearer("Cid").await;
    let auth = [("authorization", bearer.as_str())];
    let refused = Client::try_connect(&server.ws_url(), &auth).await.err();
    let (status, body) = refused.expect("a third connection from one address is refused");
    assert_eq!(status, 429);
    assert!(body.contains("too many connections"), "{body}");
    // A closed connection frees its place.
    first.ws.close(None).await.expect("close");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Client::try_connect(&server.ws_url(), &auth).await {
            Ok(_) => break,
            Err((429, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("expected a place to be freed, got {other:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_full_server_answers_503_before_the_upgrade() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--max-connections", "2"]).await;
    let mut ann = server.connect_as("Ann").await;
    let _bob = server.connect().await;
    let bearer = server.bearer("Cid").await;
    let (status, body) = Client::try_connect(&server.ws_url(), &[("authorization", &bearer)])
        .await
        .err()
        .expect("the server is full");
    assert_eq!(status, 503);
    assert!(body.contains("full"), "{body}");
    // The connections already in are unaffected.
    ann.join("lobby").await;
    let counted = metrics(&server).await;
    assert_eq!(counted.value("chat_connections"), 2.0);
    assert_eq!(
        counted.value(r#"chat_connections_refused_total{reason="server_full"}"#),
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn typing_notices_are_throttled() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;
    for _ in 0..20 {
        ann.send_text(r#"{"type":"typing","room":"lobby"}"#).await;
    }
    ann.round_trip().await;
    assert!(matches!(
        bob.recv().await,
        common::ServerFrame::Typing { .. }
    ));
    bob.expect_silence().await;
    // After the throttle interval (1 s), the next notice goes through.
    tokio::time::sleep(chat_server::limits::TYPING_MIN_INTERVAL).await;
    ann.send_text(r#"{"type":"typing","room":"lobby"}"#).await;
    assert!(matches!(
        bob.recv().await,
        common::ServerFrame::Typing { .. }
    ));
    server.stop().await;
}

#[tokio::test]
async fn origins_must_match_the_host_or_an_allowed_one_exactly() {
    let db = TempDb::new();
    let server = TestServer::start_with(
        &db.path(),
        &[
            "--allowed-origin",
            "https://chat.example",
            "--allowed-origin",
            "http://localhost:3000",
        ],
    )
    .await;
    let url = server.ws_url();
    let bearer = server.bearer("Ann").await;
    let own = format!("http://{}", server.addr);
    for allowed in [
        own.as_str(),
        "https://chat.example",
        "http://localhost:3000",
    ] {
        assert!(
            Client::try_connect(&url, &[("origin", allowed), ("authorization", &bearer)])
                .await
                .is_ok(),
            "{allowed} is allowed"
        );
    }
    // No Origin at all: not a browser, allowed.
    assert!(Client::try_connect(&url, &[("authorization", &bearer)])
        .await
        .is_ok());
    for refused in [
        "https://evil.example",
        "https://chat.example/",
        "https://chat.example:443",
        "http://chat.example",
        "http://localhost:3001",
        "null",
    ] {
        let (status, _) =
            Client::try_connect(&url, &[("origin", refused), ("authorization", &bearer)])
                .await
                .err()
                .unwrap_or_else(|| panic!("{refused} must be refused"));
        assert_eq!(status, 403, "{refused}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_plain_get_on_the_websocket_path_gets_426_and_an_explanation() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    for _ in 0..3 {
        let response = reqwest::get(server.url("/ws")).await.expect("GET");
        assert_eq!(response.status(), 426);
        assert_eq!(response.headers()["upgrade"], "websocket");
        let body = response.text().await.expect("body");
        assert!(body.contains("WebSocket"), "{body}");
    }
    let mut client = server.connect_as("Ann").await;
    client.join("lobby").await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--header-read-timeout", "300ms"]).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    // The rest of the headers never come: the server closes the connection.
    let mut buffer = Vec::new();
    // Ok (the server closed it) or a reset: either way the read ends.
    let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buffer))
        .await
        .expect("the server hangs up in time");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "cut off by the timeout, not at once"
    );
    // Meanwhile and afterwards, others are served.
    let response = reqwest::get(server.url("/healthz")).await.expect("GET");
    assert_eq!(response.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused_with_413() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let body = vec![b'x'; chat_server::http::MAX_HTTP_BODY_BYTES + 1];
    let response = reqwest::Client::new()
        .post(server.url("/api/rooms"))
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 413);
    server.stop().await;
}

#[tokio::test]
async fn binary_and_garbage_frames_never_cost_the_connection() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    ann.ws.send_binary_frame(vec![0xff; 100]).await;
    assert_eq!(ann.expect_error().await.code, ErrorCode::Unsupported);
    for garbage in [
        "",
        "null",
        "[]",
        "{\"type\":7}",
        "\u{0}",
        "{\"type\":\"send\"",
    ] {
        ann.send_text(garbage).await;
        assert_eq!(ann.expect_error().await.code, ErrorCode::BadRequest);
    }
    ann.say("lobby", "still connected", None).await;
    assert_eq!(ann.next_message().await.text.as_str(), "still connected");
    server.stop().await;
}

/// Sending a binary frame, for the test above.
trait SendBinary {
    async fn send_binary_frame(&mut self, bytes: Vec<u8>);
}

impl SendBinary for support::Socket {
    async fn send_binary_frame(&mut self, bytes: Vec<u8>) {
        use futures_util::SinkExt;
        self.send(Message::binary(bytes)).await.expect("send");
    }
}

#[tokio::test]
async fn join_loops_are_rate_limited() {
    let db = TempDb::new();
    let server = TestServer::start_with(&db.path(), &["--max-rooms-per-connection", "1"]).await;
    let mut ann = server.connect_as("Ann").await;
    // The burst: one room's worth plus JOIN_BURST_EXTRA, then 1 per second.
    let burst = 1 + chat_server::limits::JOIN_BURST_EXTRA as usize;
    for _ in 0..burst {
        ann.join("lobby").await;
        ann.send_text(r#"{"type":"leave","room":"lobby"}"#).await;
    }
    ann.send_text(r#"{"type":"join","room":"lobby"}"#).await;
    let error = ann.expect_error().await;
    assert_eq!(error.code, ErrorCode::RateLimited);
    assert!(error.message.contains("joining rooms"), "{}", error.message);
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    ann.join("lobby").await;
    let counted = metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_rate_limited_total{type="join"}"#),
        1.0
    );
    server.stop().await;
}

/// Opens a WebSocket by hand, with no client library, to send frames that
/// no library would.
async fn raw_websocket(server: &TestServer) -> TcpStream {
    let bearer = server.bearer("Raw").await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Authorization: {bearer}\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.addr
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the upgrade request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.expect("the response head"));
    }
    let head = String::from_utf8(head).expect("an ASCII response head");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    stream
}

/// A masked client frame.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1, 2, 3, 4];
    let mut frame = vec![
        first,
        0x80 | u8::try_from(payload.len()).expect("a short payload"),
    ];
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4]),
    );
    frame
}

/// Reads the server's frames until its close frame; returns its code.
async fn close_code(mut stream: TcpStream) -> u16 {
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the server ends the connection")
        .expect("a clean end");
    let mut rest = &bytes[..];
    while let [first, len, tail @ ..] = rest {
        // Server frames are unmasked; the ones before the close are short.
        let len = usize::from(*len);
        assert!(len < 126, "an unexpectedly long frame");
        if first & 0x0F == 0x8 {
            return u16::from_be_bytes([tail[0], tail[1]]);
        }
        rest = &tail[len..];
    }
    panic!("no close frame in {bytes:?}");
}

#[tokio::test]
async fn frames_that_break_the_websocket_rules_close_the_connection_with_1002_or_1007() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (_ann, mut bob) = server.ann_and_bob_in_lobby().await;
    let join = br#"{"type":"join","room":"lobby"}"#;
    let cases: [(&str, Vec<u8>, CloseCode); 4] = [
        (
            "an unmasked frame",
            [&[0x81, join.len() as u8][..], join].concat(),
            CloseCode::ProtocolError,
        ),
        (
            "a reserved bit",
            masked(0x80 | 0x40 | 0x1, join),
            CloseCode::ProtocolError,
        ),
        (
            "an unknown opcode",
            masked(0x80 | 0x3, join),
            CloseCode::ProtocolError,
        ),
        (
            "text that is not UTF-8",
            masked(0x80 | 0x1, b"\xc3("),
            CloseCode::InvalidPayload,
        ),
    ];
    for (what, frame, code) in cases {
        let mut raw = raw_websocket(&server).await;
        raw.write_all(&frame).await.expect("send the frame");
        assert_eq!(close_code(raw).await, code.code(), "{what}");
    }
    // A well-formed frame on a raw socket is served as any other.
    let mut raw = raw_websocket(&server).await;
    raw.write_all(&masked(0x81, join))
        .await
        .expect("send a join");
    let mut first = [0u8; 2];
    raw.read_exact(&mut first).await.expect("an answer");
    assert_eq!(first[0], 0x81, "a text frame");

    // The others carry on, and the breaches are counted.
    bob.say("lobby", "still here", None).await;
    assert_eq!(bob.next_message().await.text.as_str(), "still here");
    let counted = metrics(&server).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="protocol_error"}"#),
        3.0
    );
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="invalid_utf8"}"#),
        1.0
    );
    server.stop().await;
}
