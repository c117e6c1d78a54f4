//! Metrics in the Prometheus text format, served at `GET /metrics`.
//!
//! Every server has its own registry (no process-wide state), so tests can
//! run several servers in one process. Counters are handles created once
//! and bumped with one atomic add; per-message paths add once per batch or
//! broadcast, never once per recipient.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use crate::hub::client::CloseReason;

/// Upper bounds (seconds) of the database write latency histogram: from a
/// group commit on a fast disk to a stalled one.
const DB_WRITE_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The server's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    connections: IntGauge,
    connections_refused: IntCounterVec,
    disconnects: IntCounterVec,
    frames_received: FrameCounters,
    rate_limited: IntCounterVec,
    messages_stored: IntCounter,
    messages_failed: IntCounter,
    duplicates: IntCounter,
    deliveries: IntCounter,
    rooms: IntGauge,
    members: IntGauge,
    db_write_seconds: Histogram,
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let inner = Inner {
            connections: register(
                &registry,
                IntGauge::new("chat_connections", "WebSocket connections open now."),
            ),
            connections_refused: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "chat_connections_refused_total",
                        "WebSocket requests refused before the upgrade, by reason.",
                    ),
                    &["reason"],
                ),
            ),
            disconnects: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "chat_disconnects_total",
                        "WebSocket connections ended, by reason.",
                    ),
                    &["reason"],
                ),
            ),
            frames_received: FrameCounters::new(register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "chat_frames_received_total",
                        "Frames received from clients, by type (`invalid`: not a valid frame).",
                    ),
                    &["type"],
                ),
            )),
            rate_limited: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "chat_rate_limited_total",
                        "Requests refused by a connection's rate limit, by frame type.",
                    ),
                    &["type"],
                ),
            ),
            messages_stored: register(
                &registry,
                IntCounter::new(
                    "chat_messages_stored_total",
                    "Messages committed to the history.",
                ),
            ),
            messages_failed: register(
                &registry,
                IntCounter::new(
                    "chat_messages_failed_total",
                    "Messages the history could not store (the author was told).",
                ),
            ),
            duplicates: register(
                &registry,
                IntCounter::new(
                    "chat_duplicate_sends_total",
                    "Repeated sends (same room, name and nonce) answered without storing again.",
                ),
            ),
            deliveries: register(
                &registry,
                IntCounter::new(
                    "chat_deliveries_total",
                    "Message frames queued to members (one per recipient).",
                ),
            ),
            rooms: register(
                &registry,
                IntGauge::new("chat_rooms", "Rooms with members or pending work now."),
            ),
            members: register(
                &registry,
                IntGauge::new("chat_members", "Room memberships now, over all rooms."),
            ),
            db_write_seconds: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "chat_db_write_seconds",
                        "Time from handing a message to the database to its commit.",
                    )
                    .buckets(DB_WRITE_BUCKETS.to_vec()),
                ),
            ),
            registry,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A WebSocket connection opened.
    pub fn connection_opened(&self) {
        self.inner.connections.inc();
    }

    /// A WebSocket connection ended for `reason` (a [`CloseReason::label`]).
    pub fn connection_closed(&self, reason: &str) {
        self.inner.connections.dec();
        self.inner.disconnects.with_label_values(&[reason]).inc();
    }

    /// A WebSocket request was refused before the upgrade.
    pub fn connection_refused(&self, reason: &str) {
        self.inner
            .connections_refused
            .with_label_values(&[reason])
            .inc();
    }

    /// A frame of `kind` arrived.
    pub fn frame_received(&self, kind: FrameKind) {
        self.inner.frames_received.by_kind[kind as usize].inc();
    }

    /// A request of `kind` was refused by the rate limit.
    pub fn rate_limited(&self, kind: FrameKind) {
        self.inner
            .rate_limited
            .with_label_values(&[kind.label()])
            .inc();
    }

    /// A message was committed, `latency` after it was handed to the database.
    pub fn message_stored(&self, latency: Duration) {
        self.inner.messages_stored.inc();
        self.inner.db_write_seconds.observe(latency.as_secs_f64());
    }

    /// A message could not be stored.
    pub fn message_failed(&self) {
        self.inner.messages_failed.inc();
    }

    /// A repeated send was answered with the original message.
    pub fn duplicate_send(&self) {
        self.inner.duplicates.inc();
    }

    /// A message frame was queued to `recipients` members.
    pub fn delivered(&self, recipients: usize) {
        self.inner.deliveries.inc_by(recipients as u64);
    }

    /// Renders every metric in the Prometheus text format, after setting
    /// the gauges that are read off the hub (`rooms`, `members`).
    pub fn render(&self, rooms: usize, members: usize) -> String {
        self.inner.rooms.set(gauge_value(rooms));
        self.inner.members.set(gauge_value(members));
        let mut text = Vec::new();
        // Encoding our own well-formed families into a Vec cannot fail.
        if let Err(err) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut text) {
            tracing::error!(error = %err, "cannot encode metrics");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The kinds of frames a client sends, as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `join`
    Join,
    /// `send`
    Send,
    /// `leave`
    Leave,
    /// `typing`
    Typing,
    /// Not a valid frame (bad JSON, a broken rule, a binary frame).
    Invalid,
}

impl FrameKind {
    const ALL: [Self; 5] = [
        Self::Join,
        Self::Send,
        Self::Leave,
        Self::Typing,
        Self::Invalid,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Send => "send",
            Self::Leave => "leave",
            Self::Typing => "typing",
            Self::Invalid => "invalid",
        }
    }
}

/// `chat_frames_received_total`, one counter handle per kind, resolved
/// once: frames arrive often enough that a label lookup each time shows.
struct FrameCounters {
    by_kind: [IntCounter; FrameKind::ALL.len()],
}

impl FrameCounters {
    fn new(vec: IntCounterVec) -> Self {
        Self {
            by_kind: FrameKind::ALL.map(|kind| vec.with_label_values(&[kind.label()])),
        }
    }
}

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Registers a metric built from constant, valid options. Both steps fail
/// only for invalid names or duplicates, which are programming errors that
/// every test run would catch at once.
fn register<M>(registry: &Registry, metric: prometheus::Result<M>) -> M
where
    M: prometheus::core::Collector + Clone + 'static,
{
    let metric = metric.expect("metric options are valid");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_counters_and_gauges() {
        let metrics = Metrics::new();
        metrics.connection_opened();
        metrics.connection_opened();
        metrics.connection_closed("slow_consumer");
        metrics.delivered(250);
        metrics.message_stored(Duration::from_millis(3));
        let text = metrics.render(4, 9);
        for line in [
            "chat_connections 1",
            "chat_disconnects_total{reason=\"slow_consumer\"} 1",
            "chat_deliveries_total 250",
            "chat_messages_stored_total 1",
            "chat_rooms 4",
            "chat_members 9",
            "chat_db_write_seconds_bucket{le=\"0.005\"} 1",
            "chat_db_write_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
