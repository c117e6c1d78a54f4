//! Tests of the WebSocket client, over real sockets on 127.0.0.1.

use super::*;
use crate::test_support::block_on;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{Frame as TFrame, FrameHeader};

/// A frame as tungstenite (the server's library) writes it.
fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let frame = TFrame::message(payload.to_vec(), opcode, true);
    let mut out = Vec::new();
    frame.format(&mut out).expect("format a frame");
    out
}

fn parse_all(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut frames = Vec::new();
    while let Some((header, len)) = parse_header(&bytes[at..]).expect("valid header") {
        frames.push((header, len));
        at += header + len;
    }
    frames
}

#[test]
fn headers_of_every_length_form_are_parsed() {
    for len in [0, 1, 125, 126, 127, 65_535, 65_536, 300_000] {
        let bytes = server_frame(OpCode::Data(Data::Text), &vec![b'a'; len]);
        let (header, parsed) = parse_header(&bytes)
            .expect("valid")
            .expect("complete header");
        assert_eq!(parsed, len);
        assert_eq!(header + len, bytes.len());
        // Any prefix shorter than the header asks for more bytes.
        for cut in 0..header {
            assert_eq!(parse_header(&bytes[..cut]).expect("valid"), None);
        }
    }
}

#[test]
fn frames_back_to_back_are_split_correctly() {
    let mut bytes = server_frame(OpCode::Data(Data::Text), b"one");
    bytes.extend(server_frame(OpCode::Data(Data::Text), &[b'x'; 200]));
    assert_eq!(parse_all(&bytes), [(2, 3), (4, 200)]);
}

#[test]
fn close_frames_carry_their_code() {
    let mut payload = 1013u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"slow consumer");
    assert_eq!(
        frame(0x8, &payload).expect("close"),
        Frame::Close(Some(1013), "slow consumer")
    );
    assert_eq!(frame(0x8, &[]).expect("close"), Frame::Close(None, ""));
    assert!(frame(0x8, &[3]).is_err());
}

#[test]
fn broken_frames_are_refused() {
    let mut fragment = server_frame(OpCode::Data(Data::Text), b"part");
    fragment[0] &= 0x7f; // FIN off.
    assert!(parse_header(&fragment).is_err());
    let mut masked = server_frame(OpCode::Data(Data::Text), b"x");
    masked[1] |= 0x80;
    assert!(parse_header(&masked).is_err());
    assert!(frame(0x1, &[0xff, 0xfe]).is_err());
    let huge = [0x81, 127, 0xff, 0, 0, 0, 0, 0, 0, 0];
    assert!(parse_header(&huge).is_err());
}

#[test]
fn client_frames_are_masked_and_decodable_by_tungstenite() {
    let text = "x".repeat(300);
    let mut out = Vec::new();
    let key = MaskKeys::seeded().next_key();
    encode_frame(&mut out, 0x1, text.as_bytes(), key);
    let mut cursor = std::io::Cursor::new(&out[..]);
    let (header, len) = FrameHeader::parse(&mut cursor)
        .expect("a valid header")
        .expect("complete");
    assert_eq!(len, 300);
    assert!(header.is_final);
    assert_eq!(header.mask, Some(key));
    let at = cursor.position() as usize;
    let mut payload = out[at..].to_vec();
    let unmasked: Vec<u8> = payload
        .iter_mut()
        .enumerate()
        .map(|(i, b)| *b ^ key[i % 4])
        .collect();
    assert_eq!(unmasked, text.as_bytes());
}

#[test]
fn handshake_answers_are_checked() {
    let accept = tungstenite::handshake::derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    let good = format!("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nsec-websocket-accept: {accept}\r\n\r\n");
    assert!(check_handshake(&good, &accept).is_ok());
    assert!(check_handshake(&good, "other").is_err());
    let refused = "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n";
    assert!(check_handshake(refused, &accept).is_err());
    assert_eq!(find_head_end(b"HTTP/1.1 101\r\n\r\n\x81\x01a"), Some(16));
}

#[test]
fn control_frames_are_skipped_and_may_not_exceed_125_bytes() {
    assert_eq!(frame(0x9, b"ping").expect("ping"), Frame::Control);
    assert_eq!(frame(0xA, &[7; 125]).expect("pong"), Frame::Control);
    assert!(frame(0x9, &[7; 126]).is_err());
    assert!(frame(0xA, &[7; 126]).is_err());
    assert!(frame(0x8, &[3; 126]).is_err());
}

/// A frame the client sent, as a server reads it.
#[derive(Debug, PartialEq, Eq)]
struct Sent {
    opcode: u8,
    masked: bool,
    payload: Vec<u8>,
}

/// Reads one whole client frame from `stream`; `None` at the end of the
/// connection (between frames).
fn read_client_frame(stream: &mut std::net::TcpStream) -> Option<Sent> {
    use std::io::Read;
    let mut head = [0u8; 2];
    match stream.read(&mut head[..1]).expect("read a frame") {
        0 => return None,
        _ => stream.read_exact(&mut head[1..]).expect("a frame header"),
    }
    assert_eq!(head[0] & 0xf0, 0x80, "final, no reserved bits");
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).expect("a length");
            usize::from(u16::from_be_bytes(len))
        }
        127 => {
            let mut len = [0u8; 8];
            stream.read_exact(&mut len).expect("a length");
            u64::from_be_bytes(len) as usize
        }
        short => usize::from(short),
    };
    let masked = head[1] & 0x80 != 0;
    let mut key = [0u8; 4];
    if masked {
        stream.read_exact(&mut key).expect("a masking key");
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).expect("a payload");
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
    Some(Sent {
        opcode: head[0] & 0x0f,
        masked,
        payload,
    })
}

/// A masked pong as the client must send it.
fn pong(payload: &[u8]) -> Sent {
    Sent {
        opcode: 0xA,
        masked: true,
        payload: payload.to_vec(),
    }
}

fn ping_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    TFrame::ping(payload.to_vec())
        .format(&mut out)
        .expect("format a ping");
    out
}

fn text_frame(text: &str) -> Vec<u8> {
    server_frame(OpCode::Data(Data::Text), text.as_bytes())
}

fn close_frame() -> Vec<u8> {
    let mut out = Vec::new();
    TFrame::close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    }))
    .format(&mut out)
    .expect("format a close frame");
    out
}

/// The thread of [`raw_server`]: what the client sent during the
/// script, and after it.
type ServerThread = std::thread::JoinHandle<(Vec<Sent>, Vec<Sent>)>;

/// A server on a thread of its own, over a real TCP connection on
/// 127.0.0.1: it answers the opening handshake, then runs `script` on
/// the raw socket (which returns what the client sent meanwhile), then
/// reads every further frame until the client shuts its sending side.
/// The thread gives back both lists of client frames.
fn raw_server(
    script: impl FnOnce(&mut std::net::TcpStream) -> Vec<Sent> + Send + 'static,
) -> (WsUrl, ServerThread) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("a read timeout");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).expect("the request head");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).expect("an ASCII head");
        let key = head
            .lines()
            .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a key");
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let answer = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
        stream.write_all(answer.as_bytes()).expect("answer");
        let during = script(&mut stream);
        let after = std::iter::from_fn(|| read_client_frame(&mut stream)).collect();
        (during, after)
    });
    let url = WsUrl::parse(&format!("ws://{addr}/ws")).expect("url");
    (url, server)
}

/// Reads until a close frame: the texts, and how many control frames
/// came before it.
async fn read_to_close(reader: &mut WsReader) -> (Vec<String>, usize) {
    let (mut texts, mut controls) = (Vec::new(), 0);
    loop {
        while let Some(frame) = reader.next_frame().expect("valid frames") {
            match frame {
                Frame::Text(text) => texts.push(text.to_owned()),
                Frame::Control => controls += 1,
                Frame::Close(..) => return (texts, controls),
                Frame::Binary(_) => panic!("a binary frame"),
            }
        }
        reader.fill().await.expect("more frames");
    }
}

#[test]
fn a_ping_amid_data_frames_is_answered_once_before_the_reader_waits() {
    let (url, server) = raw_server(|stream| {
        use std::io::Write;
        // One write: the client reads the whole batch at once.
        let mut batch = text_frame("one");
        batch.extend(text_frame("two"));
        batch.extend(ping_frame(b"are you there?"));
        batch.extend(text_frame("three"));
        stream.write_all(&batch).expect("write the batch");
        // Nothing more is sent until the pong came: the reader must
        // write it before it waits for input.
        let pong = read_client_frame(stream).expect("a pong");
        stream.write_all(&close_frame()).expect("write the close");
        vec![pong]
    });
    let reader = block_on(async {
        let (mut reader, writer) = connect(&url).await.expect("connect");
        let (texts, controls) = read_to_close(&mut reader).await;
        assert_eq!(texts, ["one", "two", "three"]);
        assert_eq!(controls, 1);
        // The writer's end ends the server's reading (the reader stays).
        drop(writer);
        reader
    });
    let (during, after) = server.join().expect("the server thread");
    assert_eq!(during, [pong(b"are you there?")]);
    assert_eq!(after, []);
    drop(reader);
}

#[test]
fn a_ping_split_across_two_reads_is_answered_once_it_is_whole() {
    let payload: Vec<u8> = (0..125u8).collect();
    let ping = ping_frame(&payload);
    let (split_seen, wait_split) = std::sync::mpsc::channel::<()>();
    let (url, server) = raw_server(move |stream| {
        use std::io::{Read, Write};
        let mut first = text_frame("before");
        first.extend_from_slice(&ping[..40]);
        stream.write_all(&first).expect("write the first part");
        wait_split.recv().expect("the client read the first part");
        // Half a ping is not answered.
        stream
            .set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .expect("a short timeout");
        let early = stream.read(&mut [0u8; 1]);
        assert!(
            matches!(&early, Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)),
            "{early:?}"
        );
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("a read timeout");
        let mut rest = ping[40..].to_vec();
        rest.extend(text_frame("after"));
        stream.write_all(&rest).expect("write the rest");
        let pong = read_client_frame(stream).expect("a pong");
        stream.write_all(&close_frame()).expect("write the close");
        vec![pong]
    });
    let reader = block_on(async {
        let (mut reader, writer) = connect(&url).await.expect("connect");
        // Read until "before" is parsed and the first 40 bytes of the
        // ping wait in the buffer.
        let mut texts = Vec::new();
        loop {
            while let Some(frame) = reader.next_frame().expect("valid frames") {
                match frame {
                    Frame::Text(text) => texts.push(text.to_owned()),
                    other => panic!("{other:?} before the ping is whole"),
                }
            }
            if reader.buffered().len() == 40 {
                break;
            }
            reader.fill().await.expect("more frames");
        }
        split_seen.send(()).expect("tell the server");
        let (more, controls) = read_to_close(&mut reader).await;
        texts.extend(more);
        assert_eq!(texts, ["before", "after"]);
        assert_eq!(controls, 1);
        drop(writer);
        reader
    });
    let (during, after) = server.join().expect("the server thread");
    assert_eq!(during, [pong(&payload)]);
    assert_eq!(after, []);
    drop(reader);
}

#[test]
fn pongs_go_out_between_the_writers_frames_while_it_is_blocked() {
    const FRAMES: usize = 200;
    const FRAME_BYTES: usize = 64 * 1024;
    let text = |i: usize| format!("{i:06}{}", "x".repeat(FRAME_BYTES - 6));
    let (url, server) = raw_server(move |stream| {
        use std::io::Write;
        // Not reading: the writer fills the kernel's buffers and waits
        // in the middle of a frame ...
        std::thread::sleep(std::time::Duration::from_millis(300));
        // ... when the pings come; their pongs queue behind it.
        let mut pings = ping_frame(b"p0");
        pings.extend(ping_frame(b"p1"));
        pings.extend(ping_frame(b""));
        stream.write_all(&pings).expect("write the pings");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut sent = Vec::new();
        let (mut texts, mut pongs) = (0, 0);
        while texts < FRAMES || pongs < 3 {
            let frame = read_client_frame(stream).expect("a frame");
            match frame.opcode {
                0x1 => texts += 1,
                0xA => pongs += 1,
                other => panic!("opcode {other}"),
            }
            sent.push(frame);
        }
        stream.write_all(&close_frame()).expect("write the close");
        sent
    });
    let reader = block_on(async {
        let (mut reader, mut writer) = connect(&url).await.expect("connect");
        let writing = tokio::task::spawn_local(async move {
            for i in 0..FRAMES {
                writer.send_text(&text(i)).await.expect("send");
            }
            writer
        });
        let (texts, controls) = read_to_close(&mut reader).await;
        assert!(texts.is_empty());
        assert_eq!(controls, 3);
        drop(writing.await.expect("the writer task"));
        reader
    });
    let (during, after) = server.join().expect("the server thread");
    assert_eq!(after, []);
    // Every frame whole and in order: no pong inside a text frame.
    let mut texts = 0;
    let mut pongs = Vec::new();
    for frame in &during {
        assert!(frame.masked);
        if frame.opcode == 0x1 {
            assert_eq!(frame.payload, text(texts).as_bytes());
            texts += 1;
        } else {
            pongs.push((texts, frame.payload.clone()));
        }
    }
    assert_eq!(texts, FRAMES);
    let payloads: Vec<&[u8]> = pongs.iter().map(|(_, p)| &p[..]).collect();
    assert_eq!(payloads, [&b"p0"[..], b"p1", b""]);
    // They waited behind frames the writer had begun.
    assert!(pongs[0].0 > 0, "{:?}", pongs[0].0);
    drop(reader);
}

#[test]
fn a_reader_whose_writer_is_gone_reads_on_without_answering() {
    let (url, server) = raw_server(|stream| {
        use std::io::Write;
        // The client shut its sending side first.
        assert_eq!(read_client_frame(stream), None);
        let mut frames = ping_frame(b"anyone?");
        frames.extend(text_frame("still here"));
        frames.extend(close_frame());
        stream.write_all(&frames).expect("write");
        Vec::new()
    });
    block_on(async {
        let (mut reader, writer) = connect(&url).await.expect("connect");
        drop(writer);
        let (texts, controls) = read_to_close(&mut reader).await;
        assert_eq!(texts, ["still here"]);
        assert_eq!(controls, 1);
    });
    let (during, after) = server.join().expect("the server thread");
    assert_eq!((during, after), (vec![], vec![]));
}

#[test]
fn urls_need_a_host_and_port() {
    let url = WsUrl::parse("ws://127.0.0.1:8080/ws").expect("valid");
    assert_eq!(url.authority, "127.0.0.1:8080");
    assert_eq!(url.path, "/ws");
    assert!(WsUrl::parse("wss://host:1/ws").is_err());
    assert!(WsUrl::parse("ws:///ws").is_err());
    assert!(WsUrl::parse("ws://host/ws").is_err());
}
