//! When a room sends the messages it has committed: at once, unless the
//! room is so busy that holding them for a moment is what keeps it fast.
//!
//! Every delivery of a frame to a member is, in the end, a write to that
//! member's socket, and a write costs the server several microseconds
//! (the system call and the TCP stack, for the receiver too on loopback)
//! whatever its size. A room of 1,000 members getting 1,000 messages a
//! second asks for a million writes a second, more than a core can make;
//! sending the messages of [`BATCH_INTERVAL`] together makes that 1,000
//! writes per batch, each carrying all of its frames. So a room that
//! delivers more than [`BATCH_FROM_DELIVERIES_PER_SECOND`] holds each
//! message at most [`BATCH_INTERVAL`]; a room below it (nearly every room)
//! sends each message as soon as it is committed.

use std::time::Duration;
use tokio::time::Instant;

/// Deliveries per second (messages × members) from which a room batches
/// its broadcasts: about a core's worth of socket writes.
pub const BATCH_FROM_DELIVERIES_PER_SECOND: u64 = 250_000;

/// Longest a busy room holds a committed message before sending it.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(15);

/// The window over which a room's delivery rate is measured.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);

/// A room's recent delivery rate, and when its held messages are due.
#[derive(Debug)]
pub(super) struct BroadcastPacer {
    window_start: Instant,
    window_deliveries: u64,
    /// Deliveries per second over the last full window.
    rate: u64,
    /// When the messages held now must go out.
    due: Option<Instant>,
}

impl BroadcastPacer {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            window_deliveries: 0,
            rate: 0,
            due: None,
        }
    }

    /// A message was committed at `now`: returns true if it should be
    /// sent at once; otherwise it is held until [`BroadcastPacer::due`].
    pub(super) fn send_now(&mut self, now: Instant) -> bool {
        self.roll_window(now);
        if self.rate < BATCH_FROM_DELIVERIES_PER_SECOND {
            return true;
        }
        self.due.get_or_insert(now + BATCH_INTERVAL);
        false
    }

    /// When the held messages must be sent, if any are held.
    pub(super) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The held messages went out at `now`, `deliveries` of them in all.
    pub(super) fn sent(&mut self, now: Instant, deliveries: u64) {
        self.due = None;
        self.roll_window(now);
        self.window_deliveries += deliveries;
    }

    fn roll_window(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < RATE_WINDOW {
            return;
        }
        // A quiet spell lowers the rate: the window is as long as it was.
        let per_second = u128::from(self.window_deliveries) * 1_000_000 / elapsed.as_micros();
        self.rate = u64::try_from(per_second).unwrap_or(u64::MAX);
        self.window_start = now;
        self.window_deliveries = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_below_the_rate_sends_every_message_at_once() {
        let start = Instant::now();
        let mut pacer = BroadcastPacer::new(start);
        // 100 messages a second to 1,000 members: 100,000 deliveries/s.
        for tenth in 0..50u32 {
            let now = start + Duration::from_millis(10) * tenth;
            assert!(pacer.send_now(now));
            pacer.sent(now, 1_000);
        }
        assert_eq!(pacer.due(), None);
    }

    #[test]
    fn a_busy_room_holds_messages_for_one_interval_then_recovers() {
        let start = Instant::now();
        let mut pacer = BroadcastPacer::new(start);
        // A second of 1,000 messages a second to 1,000 members.
        for ms in 0..1_000u32 {
            let now = start + Duration::from_millis(1) * ms;
            assert!(pacer.send_now(now), "no rate is known in the first window");
            pacer.sent(now, 1_000);
        }
        let busy = start + RATE_WINDOW;
        assert!(!pacer.send_now(busy), "over the rate: held");
        assert_eq!(pacer.due(), Some(busy + BATCH_INTERVAL));
        // The next message joins the same batch.
        assert!(!pacer.send_now(busy + Duration::from_millis(5)));
        assert_eq!(pacer.due(), Some(busy + BATCH_INTERVAL));
        pacer.sent(busy + BATCH_INTERVAL, 2_000);
        assert_eq!(pacer.due(), None);
        // After ten quiet seconds the rate is low again.
        let later = busy + Duration::from_secs(10);
        pacer.roll_window(later);
        assert!(pacer.send_now(later + RATE_WINDOW));
    }
}
