//! The writer task: puts the frames queued for a client on its socket, many
//! per system call, keeps its [`heartbeat`](super::heartbeat), and ends the
//! connection with the close frame that says why.

use super::heartbeat::{Beat, Heartbeat};
use super::Heard;
use crate::hub::client::{CloseReason, Disconnect, QueuedBytes};
use crate::websocket::OutgoingFrame;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

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

/// What the writer needs besides its socket.
pub(super) struct Writer {
    pub(super) queue: mpsc::UnboundedReceiver<OutgoingFrame>,
    pub(super) queued: Arc<QueuedBytes>,
    pub(super) disconnect: Disconnect,
    pub(super) heard: Arc<Heard>,
    pub(super) heartbeat: Heartbeat,
    pub(super) write_timeout: Duration,
    /// The connection's span, for the writer's few log lines. (Entering it
    /// on every poll, as `Instrument` does, cost a few percent of the
    /// server's time under fan-out.)
    pub(super) span: tracing::Span,
}

impl Writer {
    /// Writes queued frames and pings until the connection should close;
    /// then sends the close frame and a FIN, and gives the socket back.
    pub(super) async fn run(mut self, mut socket: OwnedWriteHalf) -> OwnedWriteHalf {
        let mut frames = Vec::new();
        // Whether the connection ends in the middle of a frame.
        let mut cut_mid_frame = false;
        let mut due = self.heartbeat.next_due();
        let timer = sleep_until(due);
        tokio::pin!(timer);
        loop {
            let mut ping = None;
            tokio::select! {
                biased;
                () = self.disconnect.requested() => break,
                received = self.queue.recv_many(&mut frames, WRITE_BURST) => {
                    if received == 0 {
                        break; // Every handle is gone.
                    }
                }
                () = &mut timer => {
                    match self.heartbeat.on_timer(Instant::now(), self.heard.answered()) {
                        Beat::Stalled if has_unread_input(&socket) => {
                            // The answer may be in our own receive buffer,
                            // not read yet because the server is busy: the
                            // client is not the one behind. Look again soon.
                            self.heartbeat.postpone(Instant::now() + STALL_RECHECK);
                        }
                        Beat::Stalled => {
                            tracing::info!(parent: &self.span, "a ping went unanswered while frames waited; closing as stalled");
                            self.disconnect.close(CloseReason::Stalled);
                            break;
                        }
                        Beat::Ping(frame) => ping = Some(frame),
                        Beat::Nothing => {}
                    }
                }
            }
            if !frames.is_empty() {
                if let Some(probe) = self
                    .heartbeat
                    .with_frames(Instant::now(), self.heard.answered())
                {
                    ping = Some(probe);
                }
            }
            let bytes = frames.iter().map(OutgoingFrame::len).sum();
            let written = {
                let write = timeout(
                    self.write_timeout,
                    write_all(&mut socket, &frames, ping.as_ref()),
                );
                tokio::pin!(write);
                tokio::select! {
                    written = &mut write => written,
                    () = self.disconnect.requested() => {
                        // A close frame may only follow whole frames: finish
                        // this write first, briefly, or send none.
                        let finished = timeout(CLOSE_TIMEOUT, &mut write).await;
                        cut_mid_frame = !matches!(finished, Ok(Ok(Ok(()))));
                        break;
                    }
                }
            };
            frames.clear();
            self.queued.release(bytes);
            match written {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    // The socket is broken: end the whole connection, so the
                    // reader stops too and the rooms let the client go.
                    tracing::debug!(parent: &self.span, error = %err, "write failed");
                    self.disconnect.close(CloseReason::ClientClosed);
                    break;
                }
                Err(_) => {
                    tracing::info!(parent: &self.span, "write timed out; disconnecting");
                    self.disconnect.close(CloseReason::WriteTimeout);
                    break;
                }
            }
            let next = self.heartbeat.next_due();
            if next != due {
                due = next;
                timer.as_mut().reset(due);
            }
        }
        if let Some(close) = self.close_frame().filter(|_| !cut_mid_frame) {
            let _ = timeout(CLOSE_TIMEOUT, socket.write_all(close.as_bytes())).await;
        }
        let _ = timeout(CLOSE_TIMEOUT, socket.shutdown()).await;
        socket
    }

    /// The close frame to end with: the server's reason, or the echo of the
    /// client's close frame; none when the socket broke.
    fn close_frame(&self) -> Option<OutgoingFrame> {
        match self.disconnect.reason() {
            Some(CloseReason::ClientClosed) | None => self.heard.client_close().map(|code| {
                code.map_or_else(OutgoingFrame::empty_close, |code| {
                    OutgoingFrame::close(code, "")
                })
            }),
            Some(reason) => Some(OutgoingFrame::close(reason.code(), reason.text())),
        }
    }
}

/// Whether the client has sent bytes that the server has not read yet
/// (a non-blocking peek at the socket's receive buffer).
fn has_unread_input(socket: &OwnedWriteHalf) -> bool {
    let stream: &tokio::net::TcpStream = socket.as_ref();
    let mut byte = [MaybeUninit::<u8>::uninit()];
    matches!(socket2::SockRef::from(stream).peek(&mut byte), Ok(read) if read > 0)
}

/// Writes `frames` and then `ping`, with as few system calls as the socket
/// allows.
async fn write_all(
    socket: &mut OwnedWriteHalf,
    frames: &[OutgoingFrame],
    ping: Option<&OutgoingFrame>,
) -> io::Result<()> {
    if let ([frame], None) | ([], Some(frame)) = (frames, ping) {
        return socket.write_all(frame.as_bytes()).await;
    }
    let mut slices: Vec<IoSlice<'_>> = frames
        .iter()
        .chain(ping)
        .map(|frame| IoSlice::new(frame.as_bytes()))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let written = socket.write_vectored(rest).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    Ok(())
}
