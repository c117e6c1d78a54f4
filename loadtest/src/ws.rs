//! A lean WebSocket client (RFC 6455) over a real TCP connection: the
//! opening handshake, masked client frames, and a reader that parses the
//! server's frames in place in one growing buffer.
//!
//! Why not tokio-tungstenite: the generator must read up to ~1.7 million
//! frames a second on one core. Here a frame costs a header parse, a UTF-8
//! check and a slice of the buffer; there is no allocation, no per-message
//! `Bytes`, no waker juggling per frame, and one `read` system call brings
//! in every frame that is waiting. The handshake's key and accept value
//! come from tungstenite, so the part that is easy to get subtly wrong is
//! the tested implementation.
//!
//! Scope: what the chat server sends. Fragmented messages, extensions
//! (permessage-deflate is never negotiated: the request offers none) and
//! masked server frames are protocol errors here and fail the connection
//! loudly. The server never pings (it only answers pings), so pings are
//! skipped rather than answered; a ping would show as a skipped frame, not
//! as a failure.

use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Bytes the read buffer starts with: idle connections stay cheap.
pub const INITIAL_READ_BUFFER: usize = 4 * 1024;

/// Largest the read buffer grows to: a busy connection reads everything
/// that is waiting in few system calls.
pub const MAX_READ_BUFFER: usize = 256 * 1024;

/// Largest frame accepted from the server. A `joined` frame holds at most
/// 256 KiB of history text plus the member list; a presence frame of a
/// 19,000-member room is about 300 KiB.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Largest HTTP response head accepted in the handshake.
const MAX_HANDSHAKE_BYTES: usize = 16 * 1024;

/// Why a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The URL is not `ws://host:port/path`.
    #[error("unsupported URL {0:?}: expected ws://host:port/path")]
    Url(String),
    /// A system call failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The server refused the upgrade or answered wrongly.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The server broke the WebSocket protocol (or used a part of it this
    /// client does not implement).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection ended without a close frame.
    #[error("connection closed without a close frame")]
    Eof,
}

/// A frame from the server, borrowed from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A text message (valid UTF-8).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A close frame with its code and reason, if it had one.
    Close(Option<u16>, &'a str),
    /// A ping or pong (skipped by the callers).
    Control,
}

/// A `ws://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `host:port`, for connecting and for the `Host` header.
    pub authority: String,
    /// The path, from `/`.
    pub path: String,
}

impl WsUrl {
    /// Parses a `ws://` URL (no TLS: the benchmark stays on this machine).
    pub fn parse(url: &str) -> Result<Self, WsError> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| WsError::Url(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || !authority.contains(':') {
            return Err(WsError::Url(url.to_owned()));
        }
        Ok(Self {
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// Opens a TCP connection (Nagle off, as browsers do) and upgrades it.
pub async fn connect(url: &WsUrl) -> Result<(WsReader, WsWriter), WsError> {
    let stream = TcpStream::connect(&url.authority).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let key = tungstenite::handshake::client::generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        path = url.path,
        host = url.authority,
    );
    write.write_all(request.as_bytes()).await?;
    let mut reader = WsReader::new(read);
    let head_len = loop {
        if let Some(end) = find_head_end(reader.buffered()) {
            break end;
        }
        if reader.end >= MAX_HANDSHAKE_BYTES {
            return Err(WsError::Handshake("response head too long".into()));
        }
        reader.fill().await?;
    };
    let head = String::from_utf8_lossy(&reader.buffered()[..head_len]).into_owned();
    check_handshake(
        &head,
        &tungstenite::handshake::derive_accept_key(key.as_bytes()),
    )?;
    // Frames may follow the head in the same read: they stay buffered.
    reader.start += head_len;
    Ok((reader, WsWriter::new(write)))
}

/// The length of the HTTP head (through the blank line), once complete.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Checks the server's answer: `101` and the matching accept value.
fn check_handshake(head: &str, expected_accept: &str) -> Result<(), WsError> {
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("101") {
        return Err(WsError::Handshake(format!("server answered {status:?}")));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    };
    if header("Sec-WebSocket-Accept") != Some(expected_accept) {
        return Err(WsError::Handshake("wrong Sec-WebSocket-Accept".into()));
    }
    if header("Sec-WebSocket-Extensions").is_some() {
        return Err(WsError::Handshake("an extension nobody asked for".into()));
    }
    Ok(())
}

/// The reading half of a connection: parses frames in its buffer.
pub struct WsReader {
    half: OwnedReadHalf,
    buf: Vec<u8>,
    /// Where the next unparsed byte is.
    start: usize,
    /// Where the buffered bytes end.
    end: usize,
}

impl WsReader {
    fn new(half: OwnedReadHalf) -> Self {
        Self {
            half,
            buf: vec![0; INITIAL_READ_BUFFER],
            start: 0,
            end: 0,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads whatever the socket has (waiting for at least one byte).
    /// Fails with [`WsError::Eof`] when the connection ended.
    pub async fn fill(&mut self) -> Result<(), WsError> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                // Move the partial frame to the front.
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else {
                // A frame larger than the buffer, or a burst: grow. The
                // frame size check in `next_frame` bounds this.
                let grown = (self.buf.len() * 2).max(INITIAL_READ_BUFFER);
                self.buf.resize(grown, 0);
            }
        }
        let read = self.half.read(&mut self.buf[self.end..]).await?;
        if read == 0 {
            return Err(WsError::Eof);
        }
        self.end += read;
        if self.end == self.buf.len() && self.buf.len() < MAX_READ_BUFFER {
            // The read filled the buffer: more is waiting; read more at once next time.
            let grown = (self.buf.len() * 2).min(MAX_READ_BUFFER);
            self.buf.resize(grown, 0);
        }
        Ok(())
    }

    /// The next complete frame in the buffer, or `None` if more bytes are
    /// needed (call [`Self::fill`]).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, WsError> {
        let Some((header, len)) = parse_header(self.buffered())? else {
            return Ok(None);
        };
        if self.end - self.start < header + len {
            if header + len > self.buf.len() {
                // Make room for the whole frame before the next read.
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
                self.buf.resize(header + len, 0);
            }
            return Ok(None);
        }
        let first = self.buf[self.start];
        let payload_at = self.start + header;
        self.start = payload_at + len;
        let payload = &self.buf[payload_at..payload_at + len];
        frame(first & 0x0f, payload).map(Some)
    }
}

/// Parses a frame header: `None` until it is complete, then its length and
/// the payload's length.
fn parse_header(bytes: &[u8]) -> Result<Option<(usize, usize)>, WsError> {
    let [first, second, ..] = *bytes else {
        return Ok(None);
    };
    if first & 0x80 == 0 || first & 0x0f == 0 {
        return Err(WsError::Protocol("fragmented message".into()));
    }
    if first & 0x70 != 0 {
        return Err(WsError::Protocol("reserved bits set (no extension)".into()));
    }
    if second & 0x80 != 0 {
        return Err(WsError::Protocol("masked frame from the server".into()));
    }
    let (header, len) = match second & 0x7f {
        126 => {
            let Some(len) = bytes.get(2..4) else {
                return Ok(None);
            };
            (4, u64::from(u16::from_be_bytes([len[0], len[1]])))
        }
        127 => {
            let Some(len) = bytes.get(2..10) else {
                return Ok(None);
            };
            let mut be = [0; 8];
            be.copy_from_slice(len);
            (10, u64::from_be_bytes(be))
        }
        short => (2, u64::from(short)),
    };
    match usize::try_from(len) {
        Ok(len) if len <= MAX_FRAME_BYTES => Ok(Some((header, len))),
        _ => Err(WsError::Protocol(format!("frame of {len} bytes"))),
    }
}

/// Interprets a complete frame's payload by its opcode.
fn frame(opcode: u8, payload: &[u8]) -> Result<Frame<'_>, WsError> {
    match opcode {
        0x1 => std::str::from_utf8(payload)
            .map(Frame::Text)
            .map_err(|_| WsError::Protocol("text frame is not UTF-8".into())),
        0x2 => Ok(Frame::Binary(payload)),
        0x8 => match payload {
            [] => Ok(Frame::Close(None, "")),
            [high, low, reason @ ..] => {
                let reason = std::str::from_utf8(reason).unwrap_or("(not UTF-8)");
                Ok(Frame::Close(
                    Some(u16::from_be_bytes([*high, *low])),
                    reason,
                ))
            }
            [_] => Err(WsError::Protocol("close frame of 1 byte".into())),
        },
        0x9 | 0xA => Ok(Frame::Control),
        other => Err(WsError::Protocol(format!("opcode {other:#x}"))),
    }
}

/// The writing half of a connection. Dropping it shuts the connection's
/// sending side, which the server takes as the end of the connection, so
/// keep it as long as the member should stay.
pub struct WsWriter {
    half: OwnedWriteHalf,
    buf: Vec<u8>,
    mask: MaskKeys,
}

impl WsWriter {
    fn new(half: OwnedWriteHalf) -> Self {
        Self {
            half,
            buf: Vec::with_capacity(256),
            mask: MaskKeys::seeded(),
        }
    }

    /// Sends one text frame; returns when the kernel took all of it.
    pub async fn send_text(&mut self, text: &str) -> Result<(), WsError> {
        self.buf.clear();
        encode_frame(&mut self.buf, 0x1, text.as_bytes(), self.mask.next_key());
        self.half.write_all(&self.buf).await?;
        Ok(())
    }

    /// Sends a close frame with `code` (1000: normal closure).
    pub async fn send_close(&mut self, code: u16) -> Result<(), WsError> {
        self.buf.clear();
        encode_frame(
            &mut self.buf,
            0x8,
            &code.to_be_bytes(),
            self.mask.next_key(),
        );
        self.half.write_all(&self.buf).await?;
        Ok(())
    }
}

/// Appends a masked, final frame with `opcode` and `payload` to `out`.
fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4]),
    );
}

/// Masking keys. RFC 6455 asks for unpredictable keys so that a page's
/// script cannot steer the bytes an old proxy sees; this client talks to
/// loopback and runs no one's script, so a fast xorshift generator seeded
/// from the clock and the allocator is enough.
struct MaskKeys(u64);

impl MaskKeys {
    fn seeded() -> Self {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        let place = Box::new(0u8);
        let address = std::ptr::addr_of!(*place) as u64;
        Self((clock ^ address.rotate_left(32)) | 1)
    }

    fn next_key(&mut self) -> [u8; 4] {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 as u32).to_le_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn urls_need_a_host_and_port() {
        let url = WsUrl::parse("ws://127.0.0.1:8080/ws").expect("valid");
        assert_eq!(url.authority, "127.0.0.1:8080");
        assert_eq!(url.path, "/ws");
        assert!(WsUrl::parse("wss://host:1/ws").is_err());
        assert!(WsUrl::parse("ws:///ws").is_err());
        assert!(WsUrl::parse("ws://host/ws").is_err());
    }
}
