//! idle: many connections, each joined to a room, doing nothing; the
//! server's memory per connection.
//!
//! Each run has a server of its own (memory the allocator kept from an
//! earlier run would hide growth), measures its RSS once it listens, opens
//! and joins every connection, lets the presence frames of the joins be
//! read, and measures again.

use super::context::Context;
use super::rooms::{CLOSE_SETTLE, CONNECT_CONCURRENCY};
use super::Outcome;
use crate::client;
use crate::figures::RunFigures;
use futures_util::stream::{self, StreamExt};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::task::spawn_local;

/// Time given to the connections to read the last presence frames and the
/// server to settle before its memory is read.
pub const IDLE_SETTLE: Duration = Duration::from_secs(2);

/// The shape of the idle scenario.
#[derive(Debug, Clone)]
pub struct IdlePlan {
    /// Connections.
    pub connections: usize,
    /// Connections per room (rooms are small, as most chat rooms are).
    pub per_room: usize,
}

/// Runs the idle scenario.
pub async fn run(ctx: &Context, name: &str, plan: &IdlePlan) -> Outcome {
    let mut outcome = Outcome::default();
    for run in 0..ctx.warmups + ctx.runs {
        let server = match ctx.start_numbered_run(name, run) {
            Ok(server) => server,
            Err(err) => return outcome.failed(format!("server: {err}")),
        };
        outcome.server_args = server.args.clone();
        let Some(rss_before) = server.memory() else {
            outcome
                .notes
                .push("no server pid: no memory figures".into());
            outcome.notes.extend(server.stop());
            return outcome;
        };
        let stop = Rc::new(Cell::new(false));
        let started = Instant::now();
        let mut failures = 0u64;
        let mut first_failure = None;
        let mut held = Vec::with_capacity(plan.connections);
        let mut joins = stream::iter(0..plan.connections)
            .map(|i| {
                let room = format!("{}-{name}-{run}-{}", ctx.tag, i / plan.per_room);
                let url = server.url();
                async move { client::join(url, &room, &format!("m{i}")).await }
            })
            .buffer_unordered(CONNECT_CONCURRENCY);
        while let Some(result) = joins.next().await {
            match result {
                Ok((reader, writer)) => {
                    let task = spawn_local(client::drain(reader, None, Rc::clone(&stop)));
                    held.push((task, writer));
                }
                Err(err) => {
                    failures += 1;
                    first_failure.get_or_insert_with(|| err.to_string());
                }
            }
        }
        drop(joins);
        let setup = started.elapsed();
        tokio::time::sleep(IDLE_SETTLE).await;
        let rss_after = server.memory();
        // A drain task that finished has seen its connection end.
        let ended = held.iter().filter(|(task, _)| task.is_finished()).count() as u64;
        stop.set(true);
        for (task, _) in &held {
            task.abort();
        }
        let connected = held.len() as u64;
        drop(held);
        let figures = RunFigures {
            warmup: run < ctx.warmups,
            connections: Some(connected),
            failures: Some(failures + ended),
            setup_s: Some(setup.as_secs_f64()),
            server_rss_kib: rss_after.map(|m| m.rss_kib),
            server_peak_rss_kib: rss_after.map(|m| m.peak_rss_kib),
            rss_per_connection_kib: rss_after.filter(|_| connected > 0).map(|after| {
                after.rss_kib.saturating_sub(rss_before.rss_kib) as f64 / connected as f64
            }),
            ..RunFigures::default()
        };
        if let Some(first) = first_failure {
            outcome.notes.push(format!(
                "run {run}: {failures} clients failed; first: {first}"
            ));
        }
        if ended > 0 {
            outcome.notes.push(format!(
                "run {run}: {ended} idle connections were closed by the server"
            ));
        }
        outcome.runs.push(figures);
        tokio::time::sleep(CLOSE_SETTLE).await;
        outcome.notes.extend(server.stop());
    }
    outcome
}
