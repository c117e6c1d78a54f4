//! Writing a connection's socket: the frames queued for the client, many
//! per system call, the heartbeat's pings, and at the end the close frame
//! that says why.
//!
//! The writer holds the batch of frames it took from the client's queue
//! (at most [`WRITE_BURST`] of them, plus a ping) until every byte of it is
//! written; it holds nothing while the client's queue is empty.

use crate::hub::client::ClientHandle;
use crate::websocket::OutgoingFrame;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// Most queued frames the writer takes at once and writes with one system
/// call.
pub const WRITE_BURST: usize = 64;

/// Longest the server tries to deliver its close frame when it ends a
/// connection. A slow consumer gets it once it reads what is already on its
/// way; one that reads nothing at all is dropped after this.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// How soon the stall check is made again when the client has sent bytes
/// that the server has not read yet (they may hold the awaited pong).
pub const STALL_RECHECK: Duration = Duration::from_millis(250);

/// Slices one write hands the kernel: a whole burst, a ping, and a frame
/// the burst may have started with a part of.
const WRITE_SLICES: usize = WRITE_BURST + 2;

/// The frames being written to one client.
#[derive(Debug, Default)]
pub(super) struct Writer {
    /// Frames taken from the queue (and pings), in order; each is dropped
    /// once written.
    batch: VecDeque<OutgoingFrame>,
    /// Bytes of the batch's first frame already written.
    offset: usize,
    /// Bytes of the batch that count against the client's queue (pings
    /// do not), given back once the batch is written.
    counted: usize,
    /// When the batch was taken: the write timeout runs from then.
    started: Option<Instant>,
}

impl Writer {
    /// Whether a batch waits to be written.
    pub(super) fn busy(&self) -> bool {
        !self.batch.is_empty()
    }

    /// When the batch being written was taken, if one is.
    pub(super) fn started(&self) -> Option<Instant> {
        self.started
    }

    /// Takes the next batch from `client`'s queue, if frames wait and the
    /// last batch is written. Returns whether it took one.
    pub(super) fn take(&mut self, client: &ClientHandle, now: Instant) -> bool {
        if self.busy() {
            return false;
        }
        client.take(&mut self.batch, WRITE_BURST);
        if self.batch.is_empty() {
            return false;
        }
        self.counted = self.batch.iter().map(OutgoingFrame::len).sum();
        self.started = Some(now);
        true
    }

    /// Adds a control frame (a ping) after the frames already taken.
    pub(super) fn push_control(&mut self, frame: OutgoingFrame, now: Instant) {
        self.started.get_or_insert(now);
        self.batch.push_back(frame);
    }

    /// Writes the batch until it is all written (then gives its bytes back
    /// to `client`'s queue) or the socket is full. Pending, it has
    /// registered for the socket's readiness.
    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        socket: &TcpStream,
        client: &ClientHandle,
    ) -> Poll<io::Result<()>> {
        while !self.batch.is_empty() {
            ready!(socket.poll_write_ready(cx))?;
            let written = if let ([frame], []) = self.batch.as_slices() {
                socket.try_write(&frame.as_bytes()[self.offset..])
            } else {
                let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
                let mut count = 0;
                for (slot, frame) in slices.iter_mut().zip(&self.batch) {
                    let skip = if count == 0 { self.offset } else { 0 };
                    *slot = IoSlice::new(&frame.as_bytes()[skip..]);
                    count += 1;
                }
                socket.try_write_vectored(&slices[..count])
            };
            match written {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(written) => self.advance(written),
                // Readiness was stale; polling it again registers for the next.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        if self.started.take().is_some() {
            client.release(std::mem::take(&mut self.counted));
        }
        Poll::Ready(Ok(()))
    }

    /// Drops the written bytes from the front of the batch.
    fn advance(&mut self, mut written: usize) {
        while let Some(frame) = self.batch.front() {
            let rest = frame.len() - self.offset;
            if written < rest {
                self.offset += written;
                return;
            }
            written -= rest;
            self.offset = 0;
            self.batch.pop_front();
        }
    }

    /// Ends the connection's writing: finishes the batch being written,
    /// briefly (a close frame may only follow whole frames), then sends
    /// `close`, if any, and a FIN.
    pub(super) async fn finish(
        &mut self,
        socket: &TcpStream,
        client: &ClientHandle,
        close: Option<OutgoingFrame>,
    ) {
        let mut whole = true;
        if self.started.is_some() {
            // From now, not from when the batch started: a slow consumer's
            // batch has waited long, and it still gets its close frame if
            // it reads what is on its way within the time.
            let finished = timeout(
                CLOSE_TIMEOUT,
                poll_fn(|cx| self.poll_write(cx, socket, client)),
            );
            whole = matches!(finished.await, Ok(Ok(())));
        }
        if let Some(close) = close.filter(|_| whole) {
            self.batch.clear();
            self.batch.push_back(close);
            self.offset = 0;
            self.started = Some(Instant::now());
            let _ = timeout(
                CLOSE_TIMEOUT,
                poll_fn(|cx| self.poll_write(cx, socket, client)),
            )
            .await;
        }
        let _ = socket2::SockRef::from(socket).shutdown(Shutdown::Write);
    }

    /// Gives up on the batch (the socket broke).
    pub(super) fn abandon(&mut self, client: &ClientHandle) {
        self.batch = VecDeque::new();
        self.offset = 0;
        self.started = None;
        client.release(std::mem::take(&mut self.counted));
    }
}

/// Whether the client has sent bytes that the server has not read yet
/// (a non-blocking peek at the socket's receive buffer).
pub(super) fn has_unread_input(socket: &TcpStream) -> bool {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    matches!(socket2::SockRef::from(socket).peek(&mut byte), Ok(read) if read > 0)
}
