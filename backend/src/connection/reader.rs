//! Reading a connection's socket: bytes in, messages out.

use crate::websocket::{DecodeError, Incoming, MessageDecoder};
use bytes::BytesMut;
use std::future::poll_fn;
use std::io;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
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

/// Reads a client's messages off its socket (which the connection owns and
/// also writes to).
#[derive(Debug)]
pub(super) struct FrameReader {
    buffer: BytesMut,
    decoder: MessageDecoder,
    /// The client closed (a close frame or end of stream).
    ended: bool,
}

impl FrameReader {
    /// A reader that starts with the bytes the HTTP server read past the
    /// upgrade request.
    pub(super) fn new(read_ahead: &[u8]) -> Self {
        Self {
            buffer: BytesMut::from(read_ahead),
            decoder: MessageDecoder::default(),
            ended: false,
        }
    }

    /// The next message from `socket`, refusing one over `max_message`
    /// bytes; `None` once the client has closed. Pending, it holds nothing
    /// and has registered for the socket's readiness.
    pub(super) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        socket: &TcpStream,
        max_message: usize,
    ) -> Poll<Result<Option<Incoming>, ReadError>> {
        if self.ended {
            return Poll::Ready(Ok(None));
        }
        loop {
            if let Some(message) = self.decoder.decode(&mut self.buffer, max_message)? {
                if self.buffer.is_empty() {
                    // Nothing is held while the client is silent.
                    self.buffer = BytesMut::new();
                }
                if matches!(message, Incoming::Close(_)) {
                    self.ended = true;
                }
                return Poll::Ready(Ok(Some(message)));
            }
            ready!(socket.poll_read_ready(cx))?;
            self.buffer.reserve(READ_CHUNK_BYTES);
            match socket.try_read_buf(&mut self.buffer) {
                Ok(0) => {
                    self.ended = true;
                    return Poll::Ready(Ok(None));
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    // Readiness can be stale (it is cleared only by this
                    // WouldBlock): give the chunk back before waiting again.
                    if self.buffer.is_empty() {
                        self.buffer = BytesMut::new();
                    }
                }
                Err(err) => return Poll::Ready(Err(err.into())),
            }
        }
    }

    /// After the server's close frame: reads (and drops) what the client
    /// still sends until its own close frame or the end of the stream, for
    /// at most `limit`, so that the socket is not closed with unread bytes
    /// (the kernel would answer them with a reset, which can destroy the
    /// close frame on its way). Messages over `max_message` bytes end it,
    /// as they end reading.
    pub(super) async fn drain(&mut self, socket: &TcpStream, limit: Duration, max_message: usize) {
        let _ = timeout(limit, async {
            while let Ok(Some(message)) =
                poll_fn(|cx| self.poll_next(cx, socket, max_message)).await
            {
                if matches!(message, Incoming::Close(_)) {
                    return;
                }
            }
        })
        .await;
    }
}
