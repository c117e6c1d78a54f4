//! When to ping a client, and whether it still reads.
//!
//! Heartbeats have two jobs. A ping every `ping_interval` lets a silent but
//! healthy client prove it is there (the connection's idle timeout closes one
//! that never answers). And while frames flow to a client, a ping goes out
//! with them at most every [`PROBE_INTERVAL`] (a probe): a client reads its
//! frames in order, so each pong says it has read up to its ping.
//!
//! A client is *stalled* when probes wait for an answer and none of them
//! has been answered for the stall timeout: it has stopped reading. One
//! that reads slowly answers old probes as it works through what was sent
//! before them, which counts as progress; it is left alone (its bounded
//! queue is the limit for it). A stalled client is closed (1013) long
//! before its queue could fill, and gets back what it missed by re-joining
//! with `since`.

use super::ConnectionSettings;
use crate::websocket::OutgoingFrame;
use std::time::Duration;
use tokio::time::Instant;

/// Least time between two probes: a busy client answers one a second.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// What a heartbeat timer asks of the connection.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Beat {
    /// Send this ping.
    Ping(OutgoingFrame),
    /// Probes have waited the stall timeout without any answer.
    Stalled,
    /// Nothing to do.
    Nothing,
}

/// The two durations a heartbeat keeps time by: the same for every
/// connection, so they come from the settings with each call rather than
/// being kept by each heartbeat.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cadence {
    /// How often a silent client is pinged.
    pub ping_interval: Duration,
    /// How long probes may wait without any answer.
    pub stall_timeout: Duration,
}

impl From<&ConnectionSettings> for Cadence {
    fn from(settings: &ConnectionSettings) -> Self {
        Self {
            ping_interval: settings.ping_interval,
            stall_timeout: settings.stall_timeout,
        }
    }
}

/// When to ping one client and whether it reads; plain state, driven by
/// the connection with the [`Cadence`], the current time and the newest
/// pong heard.
#[derive(Debug)]
pub(super) struct Heartbeat {
    last_ping: Instant,
    /// The sequence number the next ping carries (its payload).
    next_ping: u64,
    /// The newest probe sent.
    last_probe: u64,
    /// The newest answer seen so far.
    answered: u64,
    /// Since when probes have waited without progress, while some do.
    waiting_since: Option<Instant>,
}

impl Heartbeat {
    /// A heartbeat that starts at `now`: its first ping is due a
    /// `ping_interval` later.
    pub(super) fn new(now: Instant) -> Self {
        Self {
            last_ping: now,
            next_ping: 1,
            last_probe: 0,
            answered: 0,
            waiting_since: None,
        }
    }

    /// Frames are about to be written: returns the probe to send with them,
    /// if one is due.
    pub(super) fn with_frames(&mut self, now: Instant, answered: u64) -> Option<OutgoingFrame> {
        self.settle(now, answered);
        if now < self.last_ping + PROBE_INTERVAL {
            return None;
        }
        let (sequence, frame) = self.ping(now);
        self.last_probe = sequence;
        self.waiting_since.get_or_insert(now);
        Some(frame)
    }

    /// The timer set to [`Heartbeat::next_due`] fired.
    pub(super) fn on_timer(&mut self, cadence: Cadence, now: Instant, answered: u64) -> Beat {
        self.settle(now, answered);
        if self
            .waiting_since
            .is_some_and(|since| now >= since + cadence.stall_timeout)
        {
            return Beat::Stalled;
        }
        if now >= self.last_ping + cadence.ping_interval {
            return Beat::Ping(self.ping(now).1);
        }
        Beat::Nothing
    }

    /// Makes the stall check wait until `until` before calling the client
    /// stalled (while some probe waits).
    pub(super) fn postpone(&mut self, cadence: Cadence, until: Instant) {
        if self.waiting_since.is_some() {
            self.waiting_since = Some(until.checked_sub(cadence.stall_timeout).unwrap_or(until));
        }
    }

    /// When the timer should next fire.
    pub(super) fn next_due(&self, cadence: Cadence) -> Instant {
        let ping = self.last_ping + cadence.ping_interval;
        match self.waiting_since {
            Some(since) => ping.min(since + cadence.stall_timeout),
            None => ping,
        }
    }

    fn ping(&mut self, now: Instant) -> (u64, OutgoingFrame) {
        let sequence = self.next_ping;
        self.next_ping += 1;
        self.last_ping = now;
        (sequence, OutgoingFrame::ping(&sequence.to_be_bytes()))
    }

    /// Takes in the newest answer: any new one is progress (the stall clock
    /// starts again), and one to the newest probe leaves none waiting.
    fn settle(&mut self, now: Instant, answered: u64) {
        if answered <= self.answered {
            return;
        }
        self.answered = answered;
        if self.waiting_since.is_some() {
            self.waiting_since = (answered < self.last_probe).then_some(now);
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
    const STALL: Duration = Duration::from_secs(3);
    const CADENCE: Cadence = Cadence {
        ping_interval: PING,
        stall_timeout: STALL,
    };

    fn sequence(frame: &OutgoingFrame) -> u64 {
        pong_sequence(&frame.as_bytes()[2..]).expect("an 8-byte ping payload")
    }

    #[test]
    fn a_silent_connection_is_pinged_every_interval_and_never_stalls() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(start);
        assert_eq!(heartbeat.next_due(CADENCE), start + PING);
        let Beat::Ping(first) = heartbeat.on_timer(CADENCE, start + PING, 0) else {
            panic!("no ping after the interval");
        };
        assert_eq!(sequence(&first), 1);
        // Unanswered idle pings are the idle timeout's business.
        assert_eq!(heartbeat.next_due(CADENCE), start + PING * 2);
        assert!(matches!(
            heartbeat.on_timer(CADENCE, start + PING * 2, 0),
            Beat::Ping(_)
        ));
    }

    #[test]
    fn a_client_that_stops_reading_stalls_after_the_timeout() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(start);
        // Within a second of the last ping: no probe.
        assert_eq!(heartbeat.with_frames(start, 0), None);
        let first = start + PROBE_INTERVAL;
        let probe = heartbeat.with_frames(first, 0).expect("a probe");
        assert_eq!(sequence(&probe), 1);
        // More probes go out with later frames; the clock runs from the first.
        assert!(heartbeat.with_frames(first + PROBE_INTERVAL, 0).is_some());
        assert_eq!(heartbeat.next_due(CADENCE), first + STALL);
        assert_eq!(heartbeat.on_timer(CADENCE, first + STALL, 0), Beat::Stalled);
        // Postponed (its answer may be unread on our side): due again later.
        let later = first + STALL + PROBE_INTERVAL;
        heartbeat.postpone(CADENCE, later);
        assert_eq!(heartbeat.next_due(CADENCE), later);
        assert_eq!(heartbeat.on_timer(CADENCE, later, 0), Beat::Stalled);
    }

    #[test]
    fn a_client_that_reads_slowly_makes_progress_and_is_left_alone() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(start);
        let second = |n: u32| start + PROBE_INTERVAL * n;
        for n in 1..=3 {
            heartbeat
                .with_frames(second(n), 0)
                .expect("a probe a second");
        }
        // At 3 s it answers the first probe: late, but progress.
        assert_eq!(heartbeat.on_timer(CADENCE, second(3), 1), Beat::Nothing);
        assert_eq!(heartbeat.next_due(CADENCE), second(3) + STALL);
        // Then it catches up with every probe: nothing waits any more.
        assert_eq!(heartbeat.on_timer(CADENCE, second(5), 3), Beat::Nothing);
        assert_eq!(heartbeat.next_due(CADENCE), second(3) + PING);
        // The next probe, answered in time.
        let probe = heartbeat.with_frames(second(6), 3).expect("a probe");
        assert_eq!(sequence(&probe), 4);
        assert_eq!(
            heartbeat.on_timer(CADENCE, second(6) + STALL, 4),
            Beat::Nothing
        );
    }
}
