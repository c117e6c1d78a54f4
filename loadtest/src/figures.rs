//! The figures of a run, the metrics read from them, and the goals of the
//! issue they are judged by.

use crate::stats::{spread, LatencySummary, Spread};
use serde::Serialize;

/// Everything one run of a scenario measured; a scenario fills the fields
/// that apply to it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFigures {
    /// Whether this was a warm-up run (not summarised).
    pub warmup: bool,
    /// The measured window: first send to last delivery, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Messages the publishers sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_sent: Option<u64>,
    /// Accounted deliveries expected (messages times members).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_deliveries: Option<u64>,
    /// Accounted deliveries received (duplicates included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u64>,
    /// Deliveries that never arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    /// Deliveries that arrived twice or out of order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicated: Option<u64>,
    /// Deliveries that belong to nothing that was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unexpected: Option<u64>,
    /// Deliveries per second over the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries_per_s: Option<f64>,
    /// Deliveries per second the schedule offered (paced scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_deliveries_per_s: Option<f64>,
    /// Delivery latency percentiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySummary>,
    /// 99th percentile of how late publishers sent against their schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_lag_p99_ms: Option<f64>,
    /// Server CPU time (user + system) over the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s: Option<f64>,
    /// Server CPU time per accounted delivery, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Server CPU time over the window, per CPU it may use (1 = saturated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_utilisation: Option<f64>,
    /// The generator's own CPU time over the window (1 = its core is full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_cpu_utilisation: Option<f64>,
    /// Server resident memory at the end of the run, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_rss_kib: Option<u64>,
    /// Server peak resident memory so far, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_peak_rss_kib: Option<u64>,
    /// Connections opened (idle, join-storm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
    /// Clients that failed to connect, join, or stay connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
    /// Server RSS growth per connection, KiB (idle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_per_connection_kib: Option<f64>,
    /// Seconds to open and join every connection (idle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_s: Option<f64>,
    /// Clients whose join was answered with the full history (join-storm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<u64>,
    /// Seconds from the first join sent to the last `joined` received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_joined_s: Option<f64>,
    /// Members that stopped reading (slow-consumer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stalled: Option<u64>,
    /// Stalled members the server dropped within the watch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stalled_dropped: Option<u64>,
    /// Seconds until the last stalled member was dropped (the watch's
    /// length when some never were).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_after_s: Option<f64>,
    /// How the stalled members' connections ended, e.g. `1013 x10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stalled_close: Option<String>,
    /// Server RSS growth while members were stalled, per stalled member, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_kib_per_stalled: Option<f64>,
    /// Password sign-ins per second answered with a session, beside the
    /// load (fanout-100k-sign-ins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_ins_per_s: Option<f64>,
    /// Their answer time's 99th percentile, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_p99_ms: Option<f64>,
    /// Their answer time's median, ms (rooms-200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_p50_ms: Option<f64>,
    /// The time from sending `GET /api/rooms` to its whole answer, median,
    /// ms (rooms-200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_list_p50_ms: Option<f64>,
    /// Its 99th percentile, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_list_p99_ms: Option<f64>,
    /// A sign-in and the room list after it, each pair's two times added
    /// up, median, ms (rooms-200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_and_list_p50_ms: Option<f64>,
    /// Its 99th percentile, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_and_list_p99_ms: Option<f64>,
    /// Rooms of the caller's in each room list, when all lists agreed
    /// (rooms-200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rooms_listed: Option<u64>,
    /// Sign-ins the server refused (`503`: its hashing pool was full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_ins_refused: Option<u64>,
    /// The p99 of this run's twin without sign-ins (ms): the same load on
    /// the same server and connections, run right before or after it
    /// (fanout-100k-sign-ins; see `scenarios::rooms::run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_p99_ms: Option<f64>,
    /// Joins and leaves per second done by churners (many-rooms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn_ops_per_s: Option<f64>,
    /// Messages the server committed to its history over the run
    /// (`chat_messages_stored_total` of its `/metrics`, commit-rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed: Option<u64>,
    /// Those per second over the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed_per_s: Option<f64>,
    /// Median time from handing a message to the store to its commit, ms
    /// (`chat_db_write_seconds`, interpolated within its buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_p50_ms: Option<f64>,
    /// Its 99th percentile, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_p99_ms: Option<f64>,
    /// Write transactions PostgreSQL committed over the run (its
    /// transaction ids assigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_commits: Option<u64>,
    /// Messages committed per write transaction: the store's batch size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_per_commit: Option<f64>,
    /// The window divided by the write transactions, ms: how long one
    /// commit takes when the writer is never idle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms_per_commit: Option<f64>,
    /// Bytes of WAL PostgreSQL wrote over the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wal_bytes: Option<u64>,
    /// Each process of the server side, when it has more than one (the
    /// cluster scenarios: the instances, then the broker); the `server_*`
    /// figures above are theirs added up.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessFigures>,
    /// Correctness problems; any fails the scenario.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One process of a server side made of several, in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcessFigures {
    /// Which: `instance 1`, `broker`.
    pub name: String,
    /// Its CPU time (user + system) over the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<f64>,
    /// Its CPU time per accounted delivery (of the whole room), in
    /// microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_delivery: Option<f64>,
    /// Its CPU time over the window, per CPU the server side may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_utilisation: Option<f64>,
    /// Its resident memory at the end of the run, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_kib: Option<u64>,
    /// Its peak resident memory so far, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_kib: Option<u64>,
}

impl ProcessFigures {
    /// Its figures as a run's server figures, so that they are summarised
    /// and formatted as those are ([`Metric::CpuPerDelivery`],
    /// [`Metric::ServerCpu`], [`Metric::ServerRss`]).
    pub fn as_run(&self, warmup: bool) -> RunFigures {
        RunFigures {
            warmup,
            server_cpu_s: self.cpu_s,
            server_cpu_us_per_delivery: self.cpu_us_per_delivery,
            server_cpu_utilisation: self.cpu_utilisation,
            server_rss_kib: self.rss_kib,
            server_peak_rss_kib: self.peak_rss_kib,
            ..RunFigures::default()
        }
    }
}

/// A figure that is summarised over runs and may carry a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Deliveries per second.
    DeliveriesPerSec,
    /// Offered deliveries per second.
    OfferedPerSec,
    /// Server CPU µs per delivery.
    CpuPerDelivery,
    /// Latency p50, ms.
    P50,
    /// Latency p99, ms.
    P99,
    /// Latency p99.9, ms.
    P999,
    /// Latency max, ms.
    MaxLatency,
    /// Lost deliveries.
    Lost,
    /// Duplicated deliveries.
    Duplicated,
    /// Server RSS, KiB.
    ServerRss,
    /// RSS per connection, KiB.
    RssPerConnection,
    /// Failed clients.
    Failures,
    /// Seconds until all joined.
    AllJoined,
    /// Seconds until stalled members were dropped.
    DropAfter,
    /// KiB held per stalled member.
    HeldPerStalled,
    /// Server CPU utilisation.
    ServerCpu,
    /// Generator CPU utilisation.
    GeneratorCpu,
    /// Publisher send lag p99, ms.
    SendLag,
    /// Churn operations per second.
    ChurnOps,
    /// Messages committed per second.
    CommittedPerSec,
    /// Store commit time p50, ms.
    CommitP50,
    /// Store commit time p99, ms.
    CommitP99,
    /// Messages per write transaction.
    MessagesPerCommit,
    /// Wall time per write transaction, ms.
    MsPerCommit,
    /// Password sign-ins per second.
    SignInsPerSec,
    /// Sign-in answer time p99, ms.
    SignInP99,
    /// Sign-in answer time p50, ms.
    SignInP50,
    /// Room list answer time p50, ms.
    RoomListP50,
    /// Room list answer time p99, ms.
    RoomListP99,
    /// Sign-in plus room list p50, ms.
    SignInAndListP50,
    /// Sign-in plus room list p99, ms.
    SignInAndListP99,
    /// Sign-ins refused (503).
    SignInsRefused,
    /// The p99 of a run's twin without sign-ins, ms.
    TwinP99,
    /// A run's p99 over its twin's without sign-ins.
    P99OverTwin,
}

impl Metric {
    /// Its value in a run, if the run has it.
    pub fn of(self, run: &RunFigures) -> Option<f64> {
        let latency = |pick: fn(&LatencySummary) -> f64| run.latency.as_ref().map(pick);
        let count = |value: Option<u64>| value.map(|v| v as f64);
        match self {
            Self::DeliveriesPerSec => run.deliveries_per_s,
            Self::OfferedPerSec => run.offered_deliveries_per_s,
            Self::CpuPerDelivery => run.server_cpu_us_per_delivery,
            Self::P50 => latency(|l| l.p50_ms),
            Self::P99 => latency(|l| l.p99_ms),
            Self::P999 => latency(|l| l.p999_ms),
            Self::MaxLatency => latency(|l| l.max_ms),
            Self::Lost => count(run.lost),
            Self::Duplicated => count(run.duplicated),
            Self::ServerRss => count(run.server_rss_kib),
            Self::RssPerConnection => run.rss_per_connection_kib,
            Self::Failures => count(run.failures),
            Self::AllJoined => run.all_joined_s,
            Self::DropAfter => run.drop_after_s,
            Self::HeldPerStalled => run.held_kib_per_stalled,
            Self::ServerCpu => run.server_cpu_utilisation,
            Self::GeneratorCpu => run.generator_cpu_utilisation,
            Self::SendLag => run.send_lag_p99_ms,
            Self::ChurnOps => run.churn_ops_per_s,
            Self::CommittedPerSec => run.committed_per_s,
            Self::CommitP50 => run.commit_p50_ms,
            Self::CommitP99 => run.commit_p99_ms,
            Self::MessagesPerCommit => run.messages_per_commit,
            Self::MsPerCommit => run.ms_per_commit,
            Self::SignInsPerSec => run.sign_ins_per_s,
            Self::SignInP99 => run.sign_in_p99_ms,
            Self::SignInP50 => run.sign_in_p50_ms,
            Self::RoomListP50 => run.room_list_p50_ms,
            Self::RoomListP99 => run.room_list_p99_ms,
            Self::SignInAndListP50 => run.sign_in_and_list_p50_ms,
            Self::SignInAndListP99 => run.sign_in_and_list_p99_ms,
            Self::SignInsRefused => count(run.sign_ins_refused),
            Self::TwinP99 => run.twin_p99_ms,
            Self::P99OverTwin => match (latency(|l| l.p99_ms), run.twin_p99_ms) {
                (Some(p99), Some(twin)) if twin > 0.0 => Some(p99 / twin),
                _ => None,
            },
        }
    }

    /// A short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::DeliveriesPerSec => "deliveries/s",
            Self::OfferedPerSec => "offered/s",
            Self::CpuPerDelivery => "server CPU/delivery",
            Self::P50 => "p50",
            Self::P99 => "p99",
            Self::P999 => "p99.9",
            Self::MaxLatency => "max",
            Self::Lost => "lost",
            Self::Duplicated => "duplicated",
            Self::ServerRss => "server RSS",
            Self::RssPerConnection => "RSS/connection",
            Self::Failures => "failures",
            Self::AllJoined => "all joined in",
            Self::DropAfter => "stalled dropped after",
            Self::HeldPerStalled => "held per stalled",
            Self::ServerCpu => "server CPU",
            Self::GeneratorCpu => "generator CPU",
            Self::SendLag => "send lag p99",
            Self::ChurnOps => "joins+leaves/s",
            Self::CommittedPerSec => "committed/s",
            Self::CommitP50 => "commit p50",
            Self::CommitP99 => "commit p99",
            Self::MessagesPerCommit => "messages/commit",
            Self::MsPerCommit => "time/commit",
            Self::SignInsPerSec => "sign-ins/s",
            Self::SignInP99 => "sign-in p99",
            Self::SignInP50 => "sign-in p50",
            Self::RoomListP50 => "room list p50",
            Self::RoomListP99 => "room list p99",
            Self::SignInAndListP50 => "sign-in + room list p50",
            Self::SignInAndListP99 => "sign-in + room list p99",
            Self::SignInsRefused => "sign-ins refused (503)",
            Self::TwinP99 => "p99 without sign-ins (twin runs)",
            Self::P99OverTwin => "p99 ÷ twin's",
        }
    }

    /// Formats a value of this metric with its unit.
    pub fn format(self, value: f64) -> String {
        match self {
            Self::DeliveriesPerSec
            | Self::OfferedPerSec
            | Self::ChurnOps
            | Self::CommittedPerSec
            | Self::SignInsPerSec => rate(value),
            Self::CpuPerDelivery => format!("{value:.3} µs"),
            Self::P50
            | Self::P99
            | Self::P999
            | Self::MaxLatency
            | Self::SendLag
            | Self::CommitP50
            | Self::CommitP99
            | Self::MsPerCommit
            | Self::SignInP99
            | Self::SignInP50
            | Self::RoomListP50
            | Self::RoomListP99
            | Self::SignInAndListP50
            | Self::SignInAndListP99
            | Self::TwinP99 => format!("{} ms", significant(value)),
            Self::P99OverTwin => format!("{value:.2} ×"),
            Self::MessagesPerCommit => significant(value),
            Self::Lost | Self::Duplicated | Self::Failures | Self::SignInsRefused => {
                format!("{value:.0}")
            }
            Self::ServerRss => format!("{:.1} MiB", value / 1024.0),
            Self::RssPerConnection | Self::HeldPerStalled => format!("{} KiB", significant(value)),
            Self::AllJoined | Self::DropAfter => format!("{} s", significant(value)),
            Self::ServerCpu | Self::GeneratorCpu => format!("{:.0} %", value * 100.0),
        }
    }

    /// The number alone, without unit, for a min–max range.
    pub fn format_bare(self, value: f64) -> String {
        let full = self.format(value);
        match full.rsplit_once(' ') {
            Some((number, _unit))
                if !matches!(
                    self,
                    Self::DeliveriesPerSec
                        | Self::OfferedPerSec
                        | Self::ChurnOps
                        | Self::CommittedPerSec
                        | Self::SignInsPerSec
                ) =>
            {
                number.to_owned()
            }
            _ => full,
        }
    }
}

/// A rate with a k/M suffix: `1.70 M/s`, `95.0 k/s`.
pub fn rate(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Three significant digits, at most three decimals.
pub fn significant(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// How a value compares to a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The value must not exceed the goal.
    AtMost,
    /// The value must reach the goal.
    AtLeast,
}

/// A goal from the issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Goal {
    /// What is judged.
    pub metric: Metric,
    /// Which way.
    pub bound: Bound,
    /// The limit; for a relative goal, a factor of the other scenario's median.
    pub value: f64,
    /// For a relative goal: the scenario whose median (of the same
    /// metric) `value` multiplies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_to: Option<&'static str>,
    /// For a relative goal judged on the other scenario: the roles of the
    /// two medians are swapped (the other one must be within the bound of
    /// this one's median times `value`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub judges_other: bool,
}

impl Goal {
    /// `metric` at most `value`.
    pub fn at_most(metric: Metric, value: f64) -> Self {
        Self {
            metric,
            bound: Bound::AtMost,
            value,
            relative_to: None,
            judges_other: false,
        }
    }

    /// `metric` at least `value`.
    pub fn at_least(metric: Metric, value: f64) -> Self {
        Self {
            metric,
            bound: Bound::AtLeast,
            ..Self::at_most(metric, value)
        }
    }

    /// This scenario's `metric` within `bound` of `factor` times `other`'s.
    pub fn relative(metric: Metric, bound: Bound, factor: f64, other: &'static str) -> Self {
        Self {
            metric,
            bound,
            value: factor,
            relative_to: Some(other),
            judges_other: false,
        }
    }

    /// `other`'s `metric` within `bound` of `factor` times this scenario's.
    pub fn judging(metric: Metric, bound: Bound, factor: f64, other: &'static str) -> Self {
        Self {
            judges_other: true,
            ..Self::relative(metric, bound, factor, other)
        }
    }

    /// Judges `value` (this scenario's median) given the median of the
    /// scenario a relative goal refers to. `None` when it cannot be
    /// judged (a relative goal whose other scenario did not run).
    pub fn judge(&self, value: f64, other: Option<f64>) -> Option<bool> {
        let (subject, limit) = match (self.relative_to, self.judges_other) {
            (None, _) => (value, self.value),
            (Some(_), false) => (value, other? * self.value),
            (Some(_), true) => (other?, value * self.value),
        };
        Some(match self.bound {
            Bound::AtMost => subject <= limit,
            Bound::AtLeast => subject >= limit,
        })
    }

    /// The goal as a person reads it: `≤ 12 ms`, `≥ 1.70M deliveries/s`,
    /// `≤ 110 % of fanout-100k`.
    pub fn describe(&self) -> String {
        let sign = match self.bound {
            Bound::AtMost => "≤",
            Bound::AtLeast => "≥",
        };
        match (self.relative_to, self.judges_other) {
            (None, _) if self.bound == Bound::AtMost && self.value == 0.0 => {
                format!("{} = 0", self.metric.label())
            }
            (None, _) => format!(
                "{} {sign} {}",
                self.metric.label(),
                self.metric.format(self.value)
            ),
            (Some(other), false) => format!(
                "{} {sign} {:.0} % of {other}'s",
                self.metric.label(),
                self.value * 100.0
            ),
            (Some(other), true) => format!(
                "{other}'s {} {sign} {:.0} % of this",
                self.metric.label(),
                self.value * 100.0
            ),
        }
    }
}

/// The median and spread of `metric` over `runs` (warm-ups excluded).
pub fn summarise(metric: Metric, runs: &[RunFigures]) -> Option<Spread> {
    let values: Vec<f64> = runs
        .iter()
        .filter(|run| !run.warmup)
        .filter_map(|run| metric.of(run))
        .collect();
    spread(&values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_goals_are_judged_by_their_bound() {
        let cpu = Goal::at_most(Metric::CpuPerDelivery, 0.35);
        assert_eq!(cpu.judge(0.35, None), Some(true));
        assert_eq!(cpu.judge(0.36, None), Some(false));
        let rate = Goal::at_least(Metric::DeliveriesPerSec, 1.7e6);
        assert_eq!(rate.judge(1.8e6, None), Some(true));
        assert_eq!(rate.judge(1.6e6, None), Some(false));
        assert_eq!(cpu.describe(), "server CPU/delivery ≤ 0.350 µs");
    }

    #[test]
    fn relative_goals_need_the_other_scenario() {
        let p99 = Goal::relative(Metric::P99, Bound::AtMost, 1.10, "fanout-100k");
        assert_eq!(p99.judge(10.9, Some(10.0)), Some(true));
        assert_eq!(p99.judge(11.1, Some(10.0)), Some(false));
        assert_eq!(p99.judge(1.0, None), None);
        // The in-memory variant judges fanout-max: SQLite at least 90 % of it.
        let memory = Goal::judging(Metric::DeliveriesPerSec, Bound::AtLeast, 0.9, "fanout-max");
        assert_eq!(memory.judge(1_000.0, Some(950.0)), Some(true));
        assert_eq!(memory.judge(1_000.0, Some(850.0)), Some(false));
    }

    #[test]
    fn summaries_skip_warmups_and_runs_without_the_figure() {
        let run = |warmup, rate| RunFigures {
            warmup,
            deliveries_per_s: rate,
            ..RunFigures::default()
        };
        let runs = [
            run(true, Some(1.0)),
            run(false, Some(10.0)),
            run(false, None),
            run(false, Some(30.0)),
            run(false, Some(20.0)),
        ];
        let s = summarise(Metric::DeliveriesPerSec, &runs).expect("figures");
        assert_eq!((s.median, s.min, s.max, s.runs), (20.0, 10.0, 30.0, 3));
        assert_eq!(summarise(Metric::P99, &runs), None);
    }

    #[test]
    fn values_are_formatted_with_their_units() {
        assert_eq!(Metric::DeliveriesPerSec.format(1_700_000.0), "1.70M");
        assert_eq!(Metric::DeliveriesPerSec.format(95_000.0), "95.0k");
        assert_eq!(Metric::P99.format(12.345), "12.3 ms");
        assert_eq!(Metric::P99.format_bare(0.5), "0.500");
        assert_eq!(Metric::ServerCpu.format(0.93), "93 %");
    }
}
