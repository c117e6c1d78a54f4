//! join-storm: thousands of connected clients join one room with a history
//! at the same moment; how long until every one has its `joined` frame
//! with the full history.
//!
//! Each run has a fresh server: a seeding client posts the history and
//! leaves, every storm client connects (not timed), then all join frames
//! are written back to back and the clock runs until the last `joined`.

use super::context::{cpu_use, Context};
use super::rooms::{CONNECT_CONCURRENCY, DRAIN_POLL};
use super::Outcome;
use crate::client::{self, ClientError};
use crate::figures::RunFigures;
use crate::stats::Latencies;
use crate::wire;
use crate::ws::{self, WsReader, WsUrl};
use futures_util::stream::{self, StreamExt};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::task::spawn_local;

/// Longest the storm may take before the clients still waiting count as
/// failures (the goal is 3 s).
pub const STORM_TIMEOUT: Duration = Duration::from_secs(30);

/// The shape of the join-storm scenario.
#[derive(Debug, Clone)]
pub struct StormPlan {
    /// Clients joining at once.
    pub clients: usize,
    /// Messages in the room before the storm; each `joined` must hold them.
    pub history: usize,
}

/// What the storm clients report.
#[derive(Default)]
struct StormTally {
    joined: u64,
    last_joined: Option<Instant>,
    latencies: Latencies,
    failures: Vec<String>,
}

/// Runs the join-storm scenario.
pub async fn run(ctx: &Context, name: &str, plan: &StormPlan) -> Outcome {
    let mut outcome = Outcome::default();
    for run in 0..ctx.warmups + ctx.runs {
        let server = match ctx.start_numbered_run(name, run) {
            Ok(server) => server,
            Err(err) => return outcome.failed(format!("server: {err}")),
        };
        outcome.server_args = server.args.clone();
        let room = format!("{}-{name}-{run}", ctx.tag);
        if let Err(err) = seed(server.url(), &room, plan.history).await {
            outcome.notes.extend(server.stop());
            return outcome.failed(format!("seeding the history: {err}"));
        }
        let mut figures = match storm(ctx, &server, &room, plan).await {
            Ok((figures, failures)) => {
                if !failures.is_empty() {
                    outcome
                        .notes
                        .push(format!("run {run}: {}", failures.join("; ")));
                }
                figures
            }
            Err(err) => {
                outcome.notes.extend(server.stop());
                return outcome.failed(err);
            }
        };
        figures.warmup = run < ctx.warmups;
        outcome.runs.push(figures);
        outcome.notes.extend(server.stop());
    }
    outcome
}

/// Posts `count` messages to `room` and waits for them to come back.
async fn seed(url: &WsUrl, room: &str, count: usize) -> Result<(), ClientError> {
    let (mut reader, mut writer) = client::join(url, room, "seeder").await?;
    for i in 0..count {
        let text = format!("history message {i}");
        writer.send_text(&wire::send_frame(room, &text)?).await?;
    }
    let mut echoed = 0;
    while echoed < count {
        while let Some(frame) = reader.next_frame()? {
            if let ws::Frame::Text(text) = frame {
                if let wire::Incoming::Message(_) = wire::classify(text)? {
                    echoed += 1;
                }
            }
        }
        if echoed < count {
            reader.fill().await?;
        }
    }
    // Closing the connection makes the seeder leave the room.
    Ok(())
}

/// Connects every client, then has them all join at once. Returns the
/// figures and the first failures, word for word.
async fn storm(
    ctx: &Context,
    server: &super::context::Running,
    room: &str,
    plan: &StormPlan,
) -> Result<(RunFigures, Vec<String>), String> {
    let url = server.url();
    let connections: Vec<_> = stream::iter(0..plan.clients)
        .map(|i| async move { client::connect_as(url, &format!("m{i}")).await })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let tally = Rc::new(RefCell::new(StormTally::default()));
    let stop = Rc::new(Cell::new(false));
    let storm_start: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
    let mut writers = Vec::with_capacity(plan.clients);
    let mut tasks = Vec::with_capacity(plan.clients);
    for (i, connection) in connections.into_iter().enumerate() {
        match connection {
            Ok((reader, writer)) => {
                let (tally, stop, start) =
                    (Rc::clone(&tally), Rc::clone(&stop), Rc::clone(&storm_start));
                tasks.push(spawn_local(member(
                    reader,
                    i,
                    plan.history,
                    start,
                    tally,
                    stop,
                )));
                writers.push((i, writer));
            }
            Err(err) => tally
                .borrow_mut()
                .failures
                .push(format!("client {i}: connect: {err}")),
        }
    }
    let before = server.sample();
    let start = Instant::now();
    storm_start.set(Some(start));
    for (i, writer) in &mut writers {
        let frame = wire::join_frame(room).map_err(|err| err.to_string())?;
        if let Err(err) = writer.send_text(&frame).await {
            tally
                .borrow_mut()
                .failures
                .push(format!("client {i}: join: {err}"));
        }
    }
    let sent_in = start.elapsed();
    let deadline = start + STORM_TIMEOUT;
    loop {
        let done = {
            let tally = tally.borrow();
            tally.joined + tally.failures.len() as u64 >= plan.clients as u64
        };
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let after = server.sample();
    let memory = server.memory();
    stop.set(true);
    for task in &tasks {
        task.abort();
    }
    drop(writers);
    let tally = tally.borrow();
    let used = cpu_use(&before, &after, ctx.ticks_per_s, server.cpus);
    let all_joined = tally.joined == plan.clients as u64;
    let mut failures: Vec<String> = tally.failures.iter().take(5).cloned().collect();
    let unanswered = plan.clients as u64 - tally.joined - tally.failures.len() as u64;
    if unanswered > 0 {
        failures.push(format!(
            "{unanswered} clients had no answer within {STORM_TIMEOUT:?}"
        ));
    }
    if tally.failures.len() > 5 {
        failures.push(format!(
            "... {} failed clients in all",
            tally.failures.len()
        ));
    }
    let figures = RunFigures {
        connections: Some(plan.clients as u64),
        joined: Some(tally.joined),
        failures: Some(plan.clients as u64 - tally.joined),
        // Until the last joined; the whole timeout when some never did.
        all_joined_s: Some(match (all_joined, tally.last_joined) {
            (true, Some(last)) => last.saturating_duration_since(start).as_secs_f64(),
            _ => STORM_TIMEOUT.as_secs_f64(),
        }),
        window_s: Some(sent_in.as_secs_f64()),
        latency: tally.latencies.summary(),
        server_cpu_s: used.server.seconds,
        server_cpu_utilisation: used.server.utilisation,
        generator_cpu_utilisation: used.generator_utilisation,
        server_rss_kib: memory.map(|m| m.rss_kib),
        server_peak_rss_kib: memory.map(|m| m.peak_rss_kib),
        ..RunFigures::default()
    };
    Ok((figures, failures))
}

/// One storm client: waits for its `joined` (checking the history) and
/// records how long after the storm's start it came, then keeps reading
/// so that it never becomes a slow consumer.
async fn member(
    mut reader: WsReader,
    index: usize,
    history: usize,
    storm_start: Rc<Cell<Option<Instant>>>,
    tally: Rc<RefCell<StormTally>>,
    stop: Rc<Cell<bool>>,
) {
    let joined = client::wait_joined_history_len(&mut reader).await;
    let now = Instant::now();
    let verdict = match joined {
        Ok(got) if got == history => Ok(()),
        Ok(got) => Err(format!("a history of {got} messages instead of {history}")),
        Err(err) => Err(err.to_string()),
    };
    {
        let mut tally = tally.borrow_mut();
        match verdict {
            Ok(()) => {
                tally.joined += 1;
                tally.last_joined = Some(tally.last_joined.map_or(now, |last| last.max(now)));
                if let Some(start) = storm_start.get() {
                    let waited = now.saturating_duration_since(start).as_nanos() as u64;
                    tally.latencies.record_ns(waited);
                }
            }
            Err(err) => tally.failures.push(format!("client {index}: {err}")),
        }
    }
    let _ = client::drain(reader, None, stop).await;
}
