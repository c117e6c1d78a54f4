//! Statistics: latency histograms (HDR) and the median and spread of a
//! figure over the runs of a scenario.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency a histogram holds, in microseconds (10 minutes); larger
/// values are clamped to it, which only happens when a run has failed anyway.
pub const LATENCY_MAX_US: u64 = 600_000_000;

/// Significant decimal digits the histograms keep: 3 keeps every
/// percentile within 0.1 % of the true value.
pub const LATENCY_SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram, in microseconds.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram covering 1 µs to [`LATENCY_MAX_US`].
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, LATENCY_MAX_US, LATENCY_SIGNIFICANT_DIGITS)
            .unwrap_or_else(|err| unreachable!("constant histogram bounds are valid: {err}"));
        Self { histogram }
    }

    /// Records one latency given in nanoseconds. Below 1 µs counts as 1 µs.
    pub fn record_ns(&mut self, nanos: u64) {
        let micros = (nanos / 1_000).clamp(1, LATENCY_MAX_US);
        self.histogram.saturating_record(micros);
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Forgets every recorded latency.
    pub fn clear(&mut self) {
        self.histogram.reset();
    }

    /// The percentiles of what was recorded; `None` if nothing was.
    pub fn summary(&self) -> Option<LatencySummary> {
        if self.histogram.is_empty() {
            return None;
        }
        let ms = |quantile: f64| self.histogram.value_at_quantile(quantile) as f64 / 1_000.0;
        Some(LatencySummary {
            count: self.histogram.len(),
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: self.histogram.max() as f64 / 1_000.0,
        })
    }
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Latencies recorded.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// The median of a figure over several runs, and its range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// The median (the mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many runs had this figure.
    pub runs: usize,
}

/// The median and range of `values`, ignoring NaNs; `None` when none is left.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Spread {
        median,
        min: sorted[0],
        max: sorted[n - 1],
        runs: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_odd_count_is_the_middle_value() {
        let s = spread(&[5.0, 1.0, 4.0, 2.0, 3.0]).expect("values");
        assert_eq!((s.median, s.min, s.max, s.runs), (3.0, 1.0, 5.0, 5));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = spread(&[10.0, 1.0, 2.0, 30.0]).expect("values");
        assert_eq!((s.median, s.min, s.max), (6.0, 1.0, 30.0));
    }

    #[test]
    fn nothing_to_summarize_is_none_and_nans_are_ignored() {
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[f64::NAN]), None);
        let s = spread(&[f64::NAN, 7.0]).expect("one value");
        assert_eq!((s.median, s.runs), (7.0, 1));
    }

    #[test]
    fn percentiles_come_from_what_was_recorded() {
        let mut latencies = Latencies::new();
        assert_eq!(latencies.summary(), None);
        // 1..=1000 ms, one each.
        for ms in 1..=1_000u64 {
            latencies.record_ns(ms * 1_000_000);
        }
        let summary = latencies.summary().expect("recorded");
        assert_eq!(summary.count, 1_000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(summary.p50_ms, 500.0), "{summary:?}");
        assert!(close(summary.p99_ms, 990.0), "{summary:?}");
        assert!(close(summary.p999_ms, 999.0), "{summary:?}");
        assert!(close(summary.max_ms, 1_000.0), "{summary:?}");
        latencies.clear();
        assert_eq!(latencies.count(), 0);
    }

    #[test]
    fn sub_microsecond_and_huge_latencies_are_clamped_not_lost() {
        let mut latencies = Latencies::new();
        latencies.record_ns(10);
        latencies.record_ns(u64::MAX);
        assert_eq!(latencies.count(), 2);
    }
}
