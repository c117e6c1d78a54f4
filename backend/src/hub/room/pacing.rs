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

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Deliveries per second (messages × members) from which a room batches
/// its broadcasts: about a core's worth of socket writes.
pub const BATCH_FROM_DELIVERIES_PER_SECOND: u64 = 250_000;

/// Longest a busy room holds a committed message before sending it.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(12);

/// Sends over which a room's delivery rate is measured: a few, so a room
/// that turns busy batches within milliseconds, before a backlog builds.
pub const RATE_SAMPLES: usize = 8;

/// A room's recent sends, and when its held messages are due.
#[derive(Debug, Default)]
pub(super) struct BroadcastPacer {
    /// When each of the last [`RATE_SAMPLES`] sends went out, and how many
    /// deliveries it made; oldest first.
    recent: VecDeque<(Instant, u64)>,
    /// When the messages held now must go out.
    due: Option<Instant>,
}

impl BroadcastPacer {
    /// A message was committed at `now`: returns true if it should be
    /// sent at once; otherwise it is held until [`BroadcastPacer::due`].
    pub(super) fn send_now(&mut self, now: Instant) -> bool {
        if self.due.is_some() {
            return false; // It joins the batch already held.
        }
        if self.rate(now) < BATCH_FROM_DELIVERIES_PER_SECOND {
            return true;
        }
        self.due = Some(now + BATCH_INTERVAL);
        false
    }

    /// When the held messages must be sent, if any are held.
    pub(super) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The held messages went out at `now`, `deliveries` of them in all.
    pub(super) fn sent(&mut self, now: Instant, deliveries: u64) {
        self.due = None;
        if self.recent.len() == RATE_SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back((now, deliveries));
    }

    /// Deliveries per second over the last [`RATE_SAMPLES`] sends, up to
    /// `now` (so a quiet spell lowers it); 0 until there were that many.
    fn rate(&self, now: Instant) -> u64 {
        let Some(&(oldest, _)) = self.recent.front() else {
            return 0;
        };
        if self.recent.len() < RATE_SAMPLES {
            return 0;
        }
        let deliveries: u64 = self.recent.iter().map(|&(_, count)| count).sum();
        let micros = now.saturating_duration_since(oldest).as_micros().max(1);
        u64::try_from(u128::from(deliveries) * 1_000_000 / micros).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_below_the_rate_sends_every_message_at_once() {
        let start = Instant::now();
        let mut pacer = BroadcastPacer::default();
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
        let mut pacer = BroadcastPacer::default();
        // 1,000 messages a second to 1,000 members: a few are enough to tell.
        let ms = Duration::from_millis(1);
        for i in 0..RATE_SAMPLES as u32 {
            let now = start + ms * i;
            assert!(pacer.send_now(now), "too few sends to tell the rate");
            pacer.sent(now, 1_000);
        }
        let busy = start + ms * RATE_SAMPLES as u32;
        assert!(!pacer.send_now(busy), "over the rate: held");
        assert_eq!(pacer.due(), Some(busy + BATCH_INTERVAL));
        // The next message joins the same batch.
        assert!(!pacer.send_now(busy + ms * 5));
        assert_eq!(pacer.due(), Some(busy + BATCH_INTERVAL));
        pacer.sent(busy + BATCH_INTERVAL, 2_000);
        assert_eq!(pacer.due(), None);
        // Still busy: the next message is held again.
        assert!(!pacer.send_now(busy + BATCH_INTERVAL + ms));
        pacer.sent(busy + BATCH_INTERVAL * 2, 1_000);
        // After a quiet spell the rate is low again.
        assert!(pacer.send_now(busy + Duration::from_secs(1)));
    }
}
