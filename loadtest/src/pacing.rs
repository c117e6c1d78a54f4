//! The open-loop send schedule of offered-load scenarios.
//!
//! A total rate is shared by several publishers: publisher `i` of `n` sends
//! its `k`-th message at `(i + k * n) / rate` seconds after the start, so the
//! messages of all publishers together are evenly spaced at `1 / rate`. The
//! schedule never waits for the server: a publisher that is late (its
//! socket blocked, or the generator busy) sends everything due at once, and
//! latency is counted from the intended time, so a stall of the server shows
//! in the latency of every message it delayed (no coordinated omission).

use std::time::Duration;

/// When one publisher's messages are due, relative to the run's start.
///
/// Message `g` of all publishers together (from 0) is due at `g / rate`
/// seconds and belongs to publisher `g % publishers`; the run offers the
/// messages due before its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Messages per second, all publishers together.
    rate: f64,
    /// Publishers sharing the rate.
    publishers: u64,
    /// This publisher's index.
    index: u64,
    /// Messages this publisher sends in all.
    count: u64,
}

/// Tolerance for floating-point error when a time falls exactly on a
/// message's due time (a millionth of a message).
const EPSILON: f64 = 1e-6;

impl Schedule {
    /// Publisher `index` of `publishers`, which together send `total_rate`
    /// messages per second for `duration`.
    ///
    /// # Panics
    ///
    /// If `publishers` is 0, `index` is not below it, or the rate is not
    /// positive: the scenario definitions never ask for that.
    pub fn shared(total_rate: f64, publishers: usize, index: usize, duration: Duration) -> Self {
        assert!(
            publishers > 0 && index < publishers,
            "publisher {index} of {publishers}"
        );
        assert!(total_rate > 0.0, "rate {total_rate}");
        // Messages due strictly before the end, all publishers together.
        let total = (total_rate * duration.as_secs_f64() - EPSILON)
            .ceil()
            .max(0.0) as u64;
        let (publishers, index) = (publishers as u64, index as u64);
        let count = total / publishers + u64::from(index < total % publishers);
        Self {
            rate: total_rate,
            publishers,
            index,
            count,
        }
    }

    /// Messages this publisher sends in all.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// When message `k` (from 0) of this publisher is due, from the start.
    pub fn due(&self, k: u64) -> Duration {
        Duration::from_secs_f64((self.index + k * self.publishers) as f64 / self.rate)
    }

    /// How many messages are due by `elapsed` (at most [`Self::count`]).
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        // Message k is due when index + k * publishers <= elapsed * rate.
        let global = elapsed.as_secs_f64() * self.rate + EPSILON;
        if global < self.index as f64 {
            return 0;
        }
        let due = ((global - self.index as f64) / self.publishers as f64).floor() as u64 + 1;
        due.min(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_together_send_the_total_rate_evenly_spaced() {
        let duration = Duration::from_secs(5);
        let schedules: Vec<Schedule> = (0..4)
            .map(|i| Schedule::shared(1_000.0, 4, i, duration))
            .collect();
        let total: u64 = schedules.iter().map(Schedule::count).sum();
        assert_eq!(total, 5_000);
        let mut times: Vec<Duration> = schedules
            .iter()
            .flat_map(|s| (0..s.count()).map(|k| s.due(k)))
            .collect();
        times.sort();
        for (n, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            let off = gap.abs_diff(Duration::from_millis(1));
            assert!(off < Duration::from_micros(1), "gap {n}: {gap:?}");
        }
        assert_eq!(times[0], Duration::ZERO);
        assert!(*times.last().expect("times") < duration);
    }

    #[test]
    fn uneven_counts_still_add_up() {
        // 7 messages/s for 1 s over 3 publishers: 3 + 2 + 2.
        let counts: Vec<u64> = (0..3)
            .map(|i| Schedule::shared(7.0, 3, i, Duration::from_secs(1)).count())
            .collect();
        assert_eq!(counts, [3, 2, 2]);
    }

    #[test]
    fn due_by_counts_messages_whose_time_has_come() {
        let schedule = Schedule::shared(100.0, 2, 1, Duration::from_secs(1));
        // Publisher 1 of 2 at 100/s: due at 10 ms, 30 ms, 50 ms, ...
        assert_eq!(schedule.count(), 50);
        assert_eq!(schedule.due(0), Duration::from_millis(10));
        assert_eq!(schedule.due_by(Duration::from_millis(9)), 0);
        assert_eq!(schedule.due_by(Duration::from_millis(10)), 1);
        assert_eq!(schedule.due_by(Duration::from_millis(29)), 1);
        assert_eq!(schedule.due_by(Duration::from_millis(30)), 2);
        // A publisher that was stalled for a while catches up at once.
        assert_eq!(schedule.due_by(Duration::from_millis(500)), 25);
        assert_eq!(schedule.due_by(Duration::from_secs(60)), 50);
    }

    #[test]
    fn a_publisher_whose_phase_is_past_the_end_sends_nothing() {
        let schedule = Schedule::shared(10.0, 20, 15, Duration::from_secs(1));
        assert_eq!(schedule.count(), 0);
        assert_eq!(schedule.due_by(Duration::from_secs(10)), 0);
    }
}
