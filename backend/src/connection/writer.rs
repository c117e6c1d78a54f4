//! The writer task: puts the frames queued for a client on its socket, many
//! per system call, pings it, and ends the connection with the close frame
//! that says why.
//!
//! Heartbeats have two jobs. A ping every `ping_interval` lets a silent but
//! healthy client prove it is there (the reader's idle timeout closes one
//! that never answers). And while frames flow to a client, a ping goes out
//! with them at most every [`PROBE_INTERVAL`]: a client reads its pings in
//! order with everything sent before them, so its pong says it has read up
//! to there. One that has not answered such a probe after the stall timeout
//! has stopped reading; it is closed as stalled (1013) long before its queue
//! could fill, and whatever it missed it gets back by re-joining with
//! `since`.

use super::Heard;
use crate::hub::client::{CloseReason, Disconnect, QueuedBytes};
use crate::websocket::OutgoingFrame;
use std::io::{self, IoSlice};
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

/// Least time between two pings that go out with frames (probes): a busy
/// client answers at most one a second.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

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

/// What a heartbeat timer asks of the writer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Beat {
    /// Send this ping.
    Ping(OutgoingFrame),
    /// The client has not answered a probe in time.
    Stalled,
    /// Nothing (a probe was answered meanwhile).
    Nothing,
}

/// When to ping one client and whether it answers in time; plain state,
/// driven by the writer with the current time and the newest pong heard.
#[derive(Debug)]
pub(super) struct Heartbeat {
    ping_interval: Duration,
    stall_timeout: Duration,
    last_ping: Instant,
    /// The sequence number the next ping carries (its payload).
    next_ping: u64,
    /// The probe waiting for its pong: its sequence number and when it
    /// went out.
    probe: Option<(u64, Instant)>,
}

impl Heartbeat {
    pub(super) fn new(now: Instant, ping_interval: Duration, stall_timeout: Duration) -> Self {
        Self {
            ping_interval,
            stall_timeout,
            last_ping: now,
            next_ping: 1,
            probe: None,
        }
    }

    /// Frames are about to be written: returns the probe to send with them,
    /// if one is due.
    pub(super) fn with_frames(&mut self, now: Instant, answered: u64) -> Option<OutgoingFrame> {
        self.settle(answered);
        if self.probe.is_some() || now < self.last_ping + PROBE_INTERVAL {
            return None;
        }
        let (sequence, frame) = self.ping(now);
        self.probe = Some((sequence, now));
        Some(frame)
    }

    /// The timer set to [`Heartbeat::next_due`] fired.
    pub(super) fn on_timer(&mut self, now: Instant, answered: u64) -> Beat {
        self.settle(answered);
        if let Some((_, sent)) = self.probe {
            if now >= sent + self.stall_timeout {
                return Beat::Stalled;
            }
        }
        if now >= self.last_ping + self.ping_interval {
            return Beat::Ping(self.ping(now).1);
        }
        Beat::Nothing
    }

    /// When the timer should next fire.
    pub(super) fn next_due(&self) -> Instant {
        let ping = self.last_ping + self.ping_interval;
        match self.probe {
            Some((_, sent)) => ping.min(sent + self.stall_timeout),
            None => ping,
        }
    }

    fn ping(&mut self, now: Instant) -> (u64, OutgoingFrame) {
        let sequence = self.next_ping;
        self.next_ping += 1;
        self.last_ping = now;
        (sequence, OutgoingFrame::ping(&sequence.to_be_bytes()))
    }

    /// Forgets the probe once a pong to it (or to a later ping) came back.
    fn settle(&mut self, answered: u64) {
        if self.probe.is_some_and(|(sequence, _)| answered >= sequence) {
            self.probe = None;
        }
    }
}

/// The sequence number a pong carries back, if it answers one of our pings.
pub(super) fn pong_sequence(payload: &[u8]) -> Option<u64> {
    payload.try_into().ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PING: Duration = Duration::from_secs(25);
    const STALL: Duration = Duration::from_secs(4);

    fn sequence(frame: &OutgoingFrame) -> u64 {
        pong_sequence(&frame.as_bytes()[2..]).expect("an 8-byte ping payload")
    }

    #[test]
    fn a_silent_connection_is_pinged_every_interval_and_never_stalls() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(start, PING, STALL);
        assert_eq!(heartbeat.next_due(), start + PING);
        let Beat::Ping(first) = heartbeat.on_timer(start + PING, 0) else {
            panic!("no ping after the interval");
        };
        assert_eq!(sequence(&first), 1);
        // Unanswered idle pings are the reader's idle timeout's business.
        assert_eq!(heartbeat.next_due(), start + PING * 2);
        assert!(matches!(
            heartbeat.on_timer(start + PING * 2, 0),
            Beat::Ping(_)
        ));
    }

    #[test]
    fn a_busy_client_gets_a_probe_a_second_and_must_answer_it() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(start, PING, STALL);
        // Within a second of the last ping: no probe.
        assert_eq!(heartbeat.with_frames(start, 0), None);
        let second = start + PROBE_INTERVAL;
        let probe = heartbeat.with_frames(second, 0).expect("a probe");
        assert_eq!(sequence(&probe), 1);
        // One probe at a time.
        assert_eq!(heartbeat.with_frames(second + PROBE_INTERVAL, 0), None);
        assert_eq!(heartbeat.next_due(), second + STALL);
        // Answered: no stall, and the next frames carry the next probe.
        assert_eq!(heartbeat.on_timer(second + STALL, 1), Beat::Nothing);
        let next = heartbeat.with_frames(second + STALL, 1).expect("a probe");
        assert_eq!(sequence(&next), 2);
        // Not answered in time: stalled.
        assert_eq!(heartbeat.on_timer(second + STALL + STALL, 1), Beat::Stalled);
    }

    #[test]
    fn an_answer_to_a_later_ping_answers_the_probe_too() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(start, Duration::from_secs(2), STALL);
        let probe = heartbeat
            .with_frames(start + PROBE_INTERVAL, 0)
            .expect("a probe is due");
        let Beat::Ping(idle) = heartbeat.on_timer(start + PROBE_INTERVAL * 3, 0) else {
            panic!("the idle ping is due");
        };
        assert!(sequence(&idle) > sequence(&probe));
        assert_eq!(
            heartbeat.on_timer(start + PROBE_INTERVAL * 4, sequence(&idle)),
            Beat::Nothing
        );
    }
}
