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

/// Opens a TCP connection (Nagle off, as browsers do) and upgrades it,
/// without credentials.
pub async fn connect(url: &WsUrl) -> Result<(WsReader, WsWriter), WsError> {
    connect_as(url, None).await
}

/// Opens a TCP connection (Nagle off, as browsers do) and upgrades it,
/// signed in with `bearer` (an API token, sent as `Authorization: Bearer`)
/// when given: protocol version 2 refuses an upgrade without one (401).
pub async fn connect_as(
    url: &WsUrl,
    bearer: Option<&str>,
) -> Result<(WsReader, WsWriter), WsError> {
    let stream = TcpStream::connect(&url.authority).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let key = tungstenite::handshake::client::generate_key();
    let authorization = bearer
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{authorization}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
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
mod tests;
