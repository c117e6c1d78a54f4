//! The reconnect schedule: exponential backoff with jitter.
//!
//! After the connection drops, the client waits before each new attempt,
//! doubling the wait every time up to a ceiling, so a server that restarts
//! is not hammered by every open page at once. The jitter spreads the pages'
//! attempts over time; it is a parameter (a number in `[0, 1)`, from
//! `Math.random()` in the browser) so that tests can pin it.

/// Wait before the first reconnect attempt, before jitter, in milliseconds.
pub const BASE_DELAY_MS: u32 = 500;
/// Longest wait between two attempts, before jitter, in milliseconds: a page
/// whose server has been gone for a while still notices its return within
/// this long.
pub const MAX_DELAY_MS: u32 = 15_000;

/// How many attempts in a row have failed, and so how long to wait next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// A schedule that has seen no failure.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failed or lost connection and returns how long to wait
    /// before the next attempt, in milliseconds.
    ///
    /// The wait is "equal jitter": half of the exponential step is always
    /// waited, the other half scaled by `jitter` (clamped to `[0, 1]`). So
    /// the waits still grow, yet two pages that lost the server together
    /// spread out.
    pub fn next_delay_ms(&mut self, jitter: f64) -> u32 {
        let step = self.step_ms();
        self.failures = self.failures.saturating_add(1);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let half = step / 2;
        // `half as f64 * jitter` is at most `half`, so the cast is exact enough
        // and cannot overflow.
        half + (f64::from(half) * jitter).round() as u32
    }

    /// The exponential step for the next attempt, without jitter.
    fn step_ms(&self) -> u32 {
        let doublings = self.failures.min(31);
        BASE_DELAY_MS
            .checked_shl(doublings)
            .filter(|step| *step <= MAX_DELAY_MS && doublings < 31)
            .unwrap_or(MAX_DELAY_MS)
    }

    /// Starts over after a connection that worked.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// How many attempts in a row have failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_base_up_to_the_ceiling() {
        let mut backoff = Backoff::new();
        let waits: Vec<u32> = (0..8).map(|_| backoff.next_delay_ms(1.0)).collect();
        assert_eq!(
            waits,
            [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]
        );
    }

    #[test]
    fn jitter_takes_off_at_most_half_of_each_step() {
        let mut low = Backoff::new();
        let mut high = Backoff::new();
        for _ in 0..10 {
            let least = low.next_delay_ms(0.0);
            let most = high.next_delay_ms(1.0);
            assert_eq!(least * 2, most - most % 2, "{least} vs {most}");
        }
        let mut middle = Backoff::new();
        assert_eq!(middle.next_delay_ms(0.5), 375);
    }

    #[test]
    fn jitter_out_of_range_is_clamped() {
        assert_eq!(Backoff::new().next_delay_ms(-3.0), 250);
        assert_eq!(Backoff::new().next_delay_ms(7.0), 500);
        assert_eq!(Backoff::new().next_delay_ms(f64::NAN), 250);
    }

    #[test]
    fn never_overflows_after_many_failures() {
        let mut backoff = Backoff::new();
        for _ in 0..1_000 {
            let wait = backoff.next_delay_ms(1.0);
            assert!(wait <= MAX_DELAY_MS, "{wait}");
        }
        assert_eq!(backoff.failures(), 1_000);
    }

    #[test]
    fn a_working_connection_starts_the_schedule_over() {
        let mut backoff = Backoff::new();
        for _ in 0..5 {
            backoff.next_delay_ms(1.0);
        }
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.next_delay_ms(1.0), BASE_DELAY_MS);
    }
}
