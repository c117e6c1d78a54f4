//! The reading half of a connection: bytes from the socket, messages out.

use crate::websocket::{DecodeError, Incoming, MessageDecoder};
use bytes::{Bytes, BytesMut};
use std::io;
use std::time::Duration;
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::timeout;

/// Bytes asked of the socket per read. A connection holds a buffer only
/// while a message is arriving (or several arrived at once); a silent one
/// holds none.
pub const READ_CHUNK_BYTES: usize = 4 * 1024;

/// Why reading stopped early.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// The client broke the protocol or a limit.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

/// Reads a client's messages off its socket.
pub(super) struct FrameReader {
    socket: OwnedReadHalf,
    buffer: BytesMut,
    decoder: MessageDecoder,
    /// The client closed (a close frame or end of stream).
    ended: bool,
}

impl FrameReader {
    /// A reader that starts with the bytes the HTTP server read past the
    /// upgrade request, and refuses messages over `max_message` bytes.
    pub(super) fn new(socket: OwnedReadHalf, read_ahead: Bytes, max_message: usize) -> Self {
        Self {
            socket,
            buffer: BytesMut::from(&read_ahead[..]),
            decoder: MessageDecoder::new(max_message),
            ended: false,
        }
    }

    /// The next message; `None` once the client has closed. Cancel-safe:
    /// dropped while waiting, it loses nothing.
    pub(super) async fn next(&mut self) -> Result<Option<Incoming>, ReadError> {
        if self.ended {
            return Ok(None);
        }
        loop {
            if let Some(message) = self.decoder.decode(&mut self.buffer)? {
                if self.buffer.is_empty() {
                    // Nothing is held while the client is silent.
                    self.buffer = BytesMut::new();
                }
                if matches!(message, Incoming::Close(_)) {
                    self.ended = true;
                }
                return Ok(Some(message));
            }
            self.socket.readable().await?;
            self.buffer.reserve(READ_CHUNK_BYTES);
            match self.socket.try_read_buf(&mut self.buffer) {
                Ok(0) => {
                    self.ended = true;
                    return Ok(None);
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    // Readiness can be stale (it is cleared only by this
                    // WouldBlock): give the chunk back before waiting again.
                    if self.buffer.is_empty() {
                        self.buffer = BytesMut::new();
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// After the server's close frame: reads (and drops) what the client
    /// still sends until its own close frame or the end of the stream, for
    /// at most `limit`, so that the socket is not closed with unread bytes
    /// (the kernel would answer them with a reset, which can destroy the
    /// close frame on its way).
    pub(super) async fn drain(mut self, limit: Duration) {
        let _ = timeout(limit, async {
            while let Ok(Some(message)) = self.next().await {
                if matches!(message, Incoming::Close(_)) {
                    return;
                }
            }
        })
        .await;
    }
}
