//! The server's own counters, read from its `GET /metrics` (Prometheus
//! text format, served on its main address unless `--metrics-addr` moves
//! it): the messages it committed (`chat_messages_stored_total`) and how
//! long each took to commit (the `chat_db_write_seconds` histogram), which
//! commit-rate reads before and after each run.

use crate::http;
use std::time::Duration;

/// Messages committed to the history.
pub const STORED: &str = "chat_messages_stored_total";

/// Time from handing a message to the store to its commit, in seconds.
pub const WRITE_SECONDS: &str = "chat_db_write_seconds";

/// Longest fetching `/metrics` may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The figures read from one `/metrics` page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scrape {
    /// Messages committed so far.
    pub stored: u64,
    /// The commit-time histogram: each bucket's upper bound in seconds
    /// (`+Inf` last) and the messages at or below it, cumulative.
    pub write_buckets: Vec<(f64, u64)>,
}

impl Scrape {
    /// What happened between `before` and this one (counters only grow
    /// while a server runs).
    pub fn since(&self, before: &Scrape) -> Scrape {
        Scrape {
            stored: self.stored.saturating_sub(before.stored),
            write_buckets: self
                .write_buckets
                .iter()
                .map(|&(le, count)| {
                    let earlier = before
                        .write_buckets
                        .iter()
                        .find(|(other, _)| *other == le)
                        .map_or(0, |(_, count)| *count);
                    (le, count.saturating_sub(earlier))
                })
                .collect(),
        }
    }

    /// The `q` quantile (0–1) of the commit time, in seconds, as
    /// Prometheus's `histogram_quantile` estimates it: linearly within the
    /// bucket that holds it (from the bound below, 0 for the first), and
    /// the highest finite bound when it lies in the `+Inf` bucket. `None`
    /// with no observation.
    pub fn write_quantile(&self, q: f64) -> Option<f64> {
        let total = self.write_buckets.last()?.1;
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let (mut lower, mut below) = (0.0, 0u64);
        for &(le, count) in &self.write_buckets {
            if count as f64 >= rank && count > below {
                if le.is_infinite() {
                    return Some(lower);
                }
                let within = (rank - below as f64) / (count - below) as f64;
                return Some(lower + (le - lower) * within);
            }
            (lower, below) = (le, count);
        }
        Some(lower)
    }
}

/// Reads the figures of [`Scrape`] from a `/metrics` page. A counter or
/// histogram the server does not have reads as empty (`--no-metrics` would
/// have made the fetch fail already).
pub fn parse(text: &str) -> Result<Scrape, String> {
    let mut scrape = Scrape::default();
    let bucket = format!("{WRITE_SECONDS}_bucket{{");
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let number = || -> Result<u64, String> {
            // Counters are printed as integers, but the format allows floats.
            value
                .parse::<u64>()
                .or_else(|_| value.parse::<f64>().map(|v| v as u64))
                .map_err(|_| format!("not a number in {line:?}"))
        };
        if name == STORED {
            scrape.stored = number()?;
        } else if let Some(labels) = name.strip_prefix(&bucket) {
            let le = labels
                .split(',')
                .find_map(|label| label.strip_prefix("le=\""))
                .and_then(|rest| rest.split('"').next())
                .ok_or_else(|| format!("a bucket without le in {line:?}"))?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse()
                    .map_err(|_| format!("a bucket bound that is not a number in {line:?}"))?
            };
            scrape.write_buckets.push((bound, number()?));
        }
    }
    scrape.write_buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(scrape)
}

/// Fetches `http://{authority}/metrics` (one request, `Connection:
/// close`) and parses it.
pub async fn fetch(authority: &str) -> Result<Scrape, String> {
    let fetching = async {
        let answer =
            http::request(authority, "GET", "/metrics", http::Credential::None, None).await?;
        if answer.status != 200 {
            return Err(format!(
                "/metrics of {authority} answered {:?}",
                answer.status_line()
            ));
        }
        parse(&answer.text())
    };
    tokio::time::timeout(FETCH_TIMEOUT, fetching)
        .await
        .unwrap_or_else(|_| Err(format!("no /metrics from {authority} in {FETCH_TIMEOUT:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# HELP chat_messages_stored_total Messages committed to the history.
# TYPE chat_messages_stored_total counter
chat_messages_stored_total 1000
# TYPE chat_db_write_seconds histogram
chat_db_write_seconds_bucket{le=\"0.001\"} 100
chat_db_write_seconds_bucket{le=\"0.0025\"} 600
chat_db_write_seconds_bucket{le=\"0.005\"} 900
chat_db_write_seconds_bucket{le=\"+Inf\"} 1000
chat_db_write_seconds_sum 2.5
chat_db_write_seconds_count 1000
chat_deliveries_total 5000
";

    #[test]
    fn the_stored_counter_and_the_histogram_are_read() {
        let scrape = parse(PAGE).expect("a valid page");
        assert_eq!(scrape.stored, 1000);
        assert_eq!(
            scrape.write_buckets,
            [
                (0.001, 100),
                (0.0025, 600),
                (0.005, 900),
                (f64::INFINITY, 1000)
            ]
        );
        assert!(parse("chat_messages_stored_total x\n").is_err());
        assert_eq!(parse("").expect("empty").stored, 0);
    }

    #[test]
    fn quantiles_are_interpolated_within_their_bucket() {
        let scrape = parse(PAGE).expect("a valid page");
        // The 10th percentile is the first bucket's bound; the median lies
        // 400 of 500 into the second bucket.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(scrape.write_quantile(0.1).expect("p10"), 0.001));
        assert!(close(
            scrape.write_quantile(0.5).expect("p50"),
            0.001 + 0.0015 * 0.8
        ));
        // In the +Inf bucket: the highest finite bound.
        assert!(close(scrape.write_quantile(0.99).expect("p99"), 0.005));
        assert_eq!(Scrape::default().write_quantile(0.5), None);
    }

    #[test]
    fn a_runs_figures_are_the_difference_of_two_pages() {
        let before = parse(PAGE).expect("a valid page");
        let after = parse(
            &PAGE
                .replace("} 100\n", "} 150\n")
                .replace("} 1000\n", "} 1050\n")
                .replace("total 1000", "total 1050"),
        )
        .expect("a valid page");
        let run = after.since(&before);
        assert_eq!(run.stored, 50);
        assert_eq!(run.write_buckets[0], (0.001, 50));
        assert_eq!(run.write_buckets[3], (f64::INFINITY, 50));
        // All 50 took at most 1 ms.
        assert!(run.write_quantile(0.99).expect("p99") <= 0.001);
    }
}
