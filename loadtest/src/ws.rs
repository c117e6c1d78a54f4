//! A lean WebSocket client (RFC 6455) over a real TCP connection: the
//! opening handshake, masked client frames, a reader that parses the
//! server's frames in place in one growing buffer, and pongs to the
//! server's pings.
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
//! loudly.
//!
//! Pings: the server pings busy connections about once a second and drops
//! one whose pong does not come back within a few seconds, so every
//! connection that reads answers. When [`WsReader::next_frame`] parses a
//! ping it appends the pong (masked, same payload) to the connection's
//! outgoing queue and hands the caller a [`Frame::Control`] to skip; the
//! reader writes the queue before it next waits for input (in
//! [`WsReader::fill`]), and if the kernel's send buffer is full it waits
//! for the socket to become readable *or* writable, so a pong never waits
//! for the server to send more. A data frame costs nothing extra: one flag
//! is checked per `read`, not per frame. Only a connection that stops
//! reading (slow-consumer's stalled members) stops answering.
//!
//! One queue per connection, shared by its two halves: the writer appends
//! each frame it sends whole and writes until the queue is empty; the
//! reader appends whole pongs and writes through its own half of the same
//! socket (`try_write` needs no exclusive access). Both only ever take
//! bytes from the front of the queue, and nothing else is written to the
//! socket after the handshake, so a pong can only go out between frames,
//! never inside one. Halves are used from different local tasks of one
//! thread; the queue's `RefCell` is never borrowed across an `.await`.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Poll};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
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

/// Largest payload of a control frame (close, ping, pong), RFC 6455 5.5.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

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
    /// A ping or a pong, for the caller to skip: the reader answers pings
    /// itself (the pong goes out before it next waits for input).
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
    let outbox = Rc::new(RefCell::new(Outbox::new()));
    let mut reader = WsReader::new(read, Rc::clone(&outbox));
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
    Ok((reader, WsWriter::new(write, outbox)))
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

/// The reading half of a connection: parses frames in its buffer and
/// answers pings (see the module documentation).
pub struct WsReader {
    half: OwnedReadHalf,
    buf: Vec<u8>,
    /// Where the next unparsed byte is.
    start: usize,
    /// Where the buffered bytes end.
    end: usize,
    /// The connection's outgoing queue, shared with the writer.
    outbox: Rc<RefCell<Outbox>>,
    /// Whether a pong this reader queued may still be in the outbox (it is
    /// written out before the next wait for input).
    owes_pong: bool,
}

impl WsReader {
    fn new(half: OwnedReadHalf, outbox: Rc<RefCell<Outbox>>) -> Self {
        Self {
            half,
            buf: vec![0; INITIAL_READ_BUFFER],
            start: 0,
            end: 0,
            outbox,
            owes_pong: false,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads whatever the socket has (waiting for at least one byte).
    /// Fails with [`WsError::Eof`] when the connection ended.
    ///
    /// Pongs to the pings parsed so far are written first; while the
    /// kernel cannot take them yet, the wait is for input or for room to
    /// write them, whichever comes first.
    pub async fn fill(&mut self) -> Result<(), WsError> {
        if self.owes_pong {
            self.send_pongs();
        }
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
        let read = if self.owes_pong {
            self.read_or_send_pongs().await?
        } else {
            self.half.read(&mut self.buf[self.end..]).await?
        };
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
        let opcode = self.buf[self.start] & 0x0f;
        let payload_at = self.start + header;
        self.start = payload_at + len;
        let payload = &self.buf[payload_at..payload_at + len];
        let frame = frame(opcode, payload)?;
        if opcode == 0x9 {
            let mut outbox = self.outbox.borrow_mut();
            if outbox.open() && !outbox.close_sent {
                let key = outbox.mask.next_key();
                encode_frame(&mut outbox.queue, 0xA, payload, key);
                self.owes_pong = true;
            }
        }
        Ok(Some(frame))
    }

    /// Writes as much of the outbox as the kernel takes now, without
    /// waiting; the reader stops owing once the outbox is empty (or the
    /// connection's sending side is gone).
    fn send_pongs(&mut self) {
        let mut outbox = self.outbox.borrow_mut();
        let socket: &TcpStream = self.half.as_ref();
        while outbox.open() && !outbox.queue.is_empty() {
            match socket.try_write(&outbox.queue) {
                Ok(written) => outbox.written(written),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => outbox.fail(err.kind()),
            }
        }
        self.owes_pong = outbox.open() && !outbox.queue.is_empty();
    }

    /// Reads into the free end of the buffer while the outbox still holds a
    /// pong: waits for input or for room to write, and writes when there
    /// is room.
    async fn read_or_send_pongs(&mut self) -> io::Result<usize> {
        loop {
            if !self.owes_pong {
                return self.half.read(&mut self.buf[self.end..]).await;
            }
            let ready = self
                .half
                .ready(Interest::READABLE | Interest::WRITABLE)
                .await?;
            if ready.is_writable() {
                self.send_pongs();
            }
            if ready.is_readable() {
                match self.half.try_read(&mut self.buf[self.end..]) {
                    Ok(read) => return Ok(read),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(err) => return Err(err),
                }
            }
        }
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
    if opcode & 0x8 != 0 && payload.len() > MAX_CONTROL_PAYLOAD {
        return Err(WsError::Protocol(format!(
            "control frame of {} bytes",
            payload.len()
        )));
    }
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
/// keep it as long as the member should stay (its reader then stops
/// answering pings: there is no way left to).
pub struct WsWriter {
    half: OwnedWriteHalf,
    outbox: Rc<RefCell<Outbox>>,
}

impl WsWriter {
    fn new(half: OwnedWriteHalf, outbox: Rc<RefCell<Outbox>>) -> Self {
        Self { half, outbox }
    }

    /// Sends one text frame; returns when the kernel took all of it.
    pub async fn send_text(&mut self, text: &str) -> Result<(), WsError> {
        self.send(0x1, text.as_bytes()).await
    }

    /// Sends a close frame with `code` (1000: normal closure). Pings read
    /// after it go unanswered: nothing may follow a close frame.
    pub async fn send_close(&mut self, code: u16) -> Result<(), WsError> {
        self.send(0x8, &code.to_be_bytes()).await
    }

    /// Queues one frame behind anything queued (a pong, the rest of a
    /// frame) and writes until the kernel took the whole queue.
    async fn send(&mut self, opcode: u8, payload: &[u8]) -> Result<(), WsError> {
        {
            let mut outbox = self.outbox.borrow_mut();
            if let Some(kind) = outbox.broken {
                return Err(io::Error::from(kind).into());
            }
            let key = outbox.mask.next_key();
            encode_frame(&mut outbox.queue, opcode, payload, key);
            outbox.close_sent |= opcode == 0x8;
        }
        let (half, outbox) = (&mut self.half, &self.outbox);
        // `poll_write` (unlike `try_write`) counts against the task's
        // cooperative budget, so a burst still yields to the readers.
        std::future::poll_fn(|cx| loop {
            let mut outbox = outbox.borrow_mut();
            if let Some(kind) = outbox.broken {
                return Poll::Ready(Err(io::Error::from(kind)));
            }
            if outbox.queue.is_empty() {
                // Possibly emptied by the reader while this waited.
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut *half).poll_write(cx, &outbox.queue)) {
                Ok(written) => outbox.written(written),
                Err(err) => {
                    outbox.fail(err.kind());
                    return Poll::Ready(Err(err));
                }
            }
        })
        .await?;
        Ok(())
    }
}

impl Drop for WsWriter {
    fn drop(&mut self) {
        // The sending side shuts with the half: nothing may be queued now.
        if let Ok(mut outbox) = self.outbox.try_borrow_mut() {
            outbox.closed = true;
            outbox.queue.clear();
        }
    }
}

/// A connection's outgoing bytes, shared by its reader and writer: whole
/// masked frames, written from the front.
struct Outbox {
    /// Frames not yet taken by the kernel (the first possibly in part).
    queue: Vec<u8>,
    /// The masking keys of every frame of the connection.
    mask: MaskKeys,
    /// Set when the writer was dropped (the sending side is shut).
    closed: bool,
    /// Set once a close frame is queued: no pong may follow it.
    close_sent: bool,
    /// The error a write failed with: nothing more is sent.
    broken: Option<io::ErrorKind>,
}

impl Outbox {
    fn new() -> Self {
        Self {
            queue: Vec::with_capacity(256),
            mask: MaskKeys::seeded(),
            closed: false,
            close_sent: false,
            broken: None,
        }
    }

    /// Whether frames may still be queued and written.
    fn open(&self) -> bool {
        !self.closed && self.broken.is_none()
    }

    /// Drops the `written` bytes the kernel took from the front.
    fn written(&mut self, written: usize) {
        if written == 0 {
            self.fail(io::ErrorKind::WriteZero);
        } else {
            self.queue.drain(..written);
        }
    }

    /// Records a failed write; the queue will never go out.
    fn fail(&mut self, kind: io::ErrorKind) {
        self.broken = Some(kind);
        self.queue.clear();
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
}
