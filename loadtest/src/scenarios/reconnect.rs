//! reconnect-5k: thousands of signed-in clients lose their connections at
//! once (a network blip, a proxy restart) and all come back: how long
//! until every one has re-joined its room, signed in again with its token
//! and asking for what it missed with `since`.
//!
//! Each run has a fresh server. Every client joins a small room as its own
//! bot account (see [`crate::bots`]); the first of each room posts a
//! message, which every member reads, so each client knows the last id of
//! its room. Then every connection is dropped at once (the sockets are
//! closed, as a vanished network would end them on both sides), and every
//! client reconnects with its token and joins with `since` set to that id.
//! The clock runs from the drop to the last `joined`; each `joined` must
//! name the client's own account and hold no history (nothing was posted
//! meanwhile).

use super::context::{cpu_use, Context, Running};
use super::rooms::{CLOSE_SETTLE, CONNECT_CONCURRENCY, DRAIN_POLL};
use super::Outcome;
use crate::bots;
use crate::client::{self, ClientError};
use crate::figures::RunFigures;
use crate::stats::Latencies;
use crate::wire::{self, Incoming};
use crate::ws::{Frame, WsReader, WsUrl, WsWriter};
use common::{MessageId, ServerFrame};
use futures_util::stream::{self, StreamExt};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::task::{spawn_local, JoinHandle};

/// Longest the reconnection may take before the clients still waiting
/// count as failures (the goal is 3 s).
pub const RECONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest every member may take to read its room's first message.
pub const SEED_TIMEOUT: Duration = Duration::from_secs(30);

/// Reconnections in flight at once: every client comes back at the same
/// moment, but a burst of thousands of SYNs at once would overflow the
/// listen backlog (`somaxconn`, 4096 here) and measure the kernel's SYN
/// retransmission timer (1 s) instead of the server. Browsers spread
/// their reconnections over a backoff with jitter, which this bounds.
pub const RECONNECT_CONCURRENCY: usize = 512;

/// The shape of the reconnect scenario.
#[derive(Debug, Clone)]
pub struct ReconnectPlan {
    /// Clients, each its own account.
    pub clients: usize,
    /// Clients per room.
    pub per_room: usize,
}

/// One client between its connections.
struct Client {
    name: String,
    room: String,
    /// The last message id it read in its room.
    last_id: Rc<Cell<Option<MessageId>>>,
}

/// What the reconnecting clients report.
#[derive(Default)]
struct Tally {
    joined: u64,
    last_joined: Option<Instant>,
    latencies: Latencies,
    failures: Vec<String>,
}

/// Runs the reconnect scenario.
pub async fn run(ctx: &Context, name: &str, plan: &ReconnectPlan) -> Outcome {
    let mut outcome = Outcome::default();
    for run in 0..ctx.warmups + ctx.runs {
        let server = match ctx.start_numbered_run(name, run) {
            Ok(server) => server,
            Err(err) => return outcome.failed(format!("server: {err}")),
        };
        outcome.server_args = server.args.clone();
        let clients: Vec<Client> = (0..plan.clients)
            .map(|i| Client {
                name: format!("m{i}"),
                room: format!("{}-{name}-{run}-{}", ctx.tag, i / plan.per_room),
                last_id: Rc::new(Cell::new(None)),
            })
            .collect();
        let result = match connect_and_seed(server.url(), &clients, plan).await {
            Ok(connected) => reconnect(ctx, &server, &clients, connected).await,
            Err(err) => Err(err),
        };
        match result {
            Ok((mut figures, failures)) => {
                if !failures.is_empty() {
                    outcome
                        .notes
                        .push(format!("run {run}: {}", failures.join("; ")));
                }
                figures.warmup = run < ctx.warmups;
                outcome.runs.push(figures);
            }
            Err(err) => {
                let log = server.log_tail();
                outcome.notes.extend(server.stop());
                return outcome.failed(format!("run {run}: {err}\n--- server log ---\n{log}"));
            }
        }
        tokio::time::sleep(CLOSE_SETTLE).await;
        outcome.notes.extend(server.stop());
    }
    outcome
}

/// The first connections: every client joined, reading its frames into
/// its `last_id`.
struct Connected {
    tasks: Vec<JoinHandle<()>>,
    writers: Vec<WsWriter>,
}

/// Joins every client, has the first of each room post, and waits until
/// every client read its room's message.
async fn connect_and_seed(
    url: &WsUrl,
    clients: &[Client],
    plan: &ReconnectPlan,
) -> Result<Connected, String> {
    eprintln!(
        "  joining {} clients, {} a room",
        clients.len(),
        plan.per_room
    );
    let mut joins = stream::iter(clients.iter().enumerate())
        .map(|(i, client)| async move { (i, client::join(url, &client.room, &client.name).await) })
        .buffer_unordered(CONNECT_CONCURRENCY);
    let mut writers: Vec<Option<WsWriter>> = (0..clients.len()).map(|_| None).collect();
    let mut tasks = Vec::with_capacity(clients.len());
    while let Some((i, joined)) = joins.next().await {
        let (reader, writer) = joined.map_err(|err| format!("client {i}: {err}"))?;
        tasks.push(spawn_local(track(reader, Rc::clone(&clients[i].last_id))));
        writers[i] = Some(writer);
    }
    drop(joins);
    let mut writers: Vec<WsWriter> = writers.into_iter().flatten().collect();
    for (i, writer) in writers.iter_mut().enumerate() {
        if i % plan.per_room == 0 {
            let frame = wire::send_frame(&clients[i].room, "before the blip")
                .map_err(|err| err.to_string())?;
            writer
                .send_text(&frame)
                .await
                .map_err(|err| format!("client {i}: {err}"))?;
        }
    }
    let deadline = Instant::now() + SEED_TIMEOUT;
    while clients.iter().any(|client| client.last_id.get().is_none()) {
        if Instant::now() > deadline {
            let missing = clients.iter().filter(|c| c.last_id.get().is_none()).count();
            return Err(format!(
                "{missing} clients did not read their room's message within {SEED_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    Ok(Connected { tasks, writers })
}

/// Reads a connection until it ends, keeping the last message id seen.
async fn track(mut reader: WsReader, last_id: Rc<Cell<Option<MessageId>>>) {
    loop {
        loop {
            match reader.next_frame() {
                Ok(Some(Frame::Text(text))) => {
                    if let Ok(Incoming::Message(delivery)) = wire::classify(text) {
                        last_id.set(Some(delivery.id));
                    }
                }
                Ok(Some(Frame::Close(..))) | Err(_) => return,
                Ok(Some(_)) => {}
                Ok(None) => break,
            }
        }
        if reader.fill().await.is_err() {
            return;
        }
    }
}

/// Drops every connection at once, then reconnects and re-joins every
/// client; returns the figures and the first failures.
async fn reconnect(
    ctx: &Context,
    server: &Running,
    clients: &[Client],
    connected: Connected,
) -> Result<(RunFigures, Vec<String>), String> {
    let url = server.url();
    let before = server.sample();
    let start = Instant::now();
    // Aborting a task drops its reader; with the writer gone too, the
    // socket is closed.
    let Connected { tasks, writers } = connected;
    for task in &tasks {
        task.abort();
    }
    drop(writers);
    let tally = Rc::new(RefCell::new(Tally::default()));
    let stop = Rc::new(Cell::new(false));
    let mut kept = Vec::with_capacity(clients.len());
    let mut rejoins = stream::iter(clients.iter().enumerate())
        .map(|(i, client)| {
            let since = client.last_id.get();
            async move {
                let result = client::join_since(url, &client.room, &client.name, since).await;
                (i, result)
            }
        })
        .buffer_unordered(RECONNECT_CONCURRENCY);
    let deadline = start + RECONNECT_TIMEOUT;
    loop {
        let next = tokio::time::timeout_at(deadline.into(), rejoins.next()).await;
        let Ok(Some((i, result))) = next else { break };
        let now = Instant::now();
        let verdict = result.map_err(|err: ClientError| err.to_string()).and_then(
            |(reader, writer, joined)| {
                check_rejoined(&clients[i], &joined)?;
                Ok((reader, writer))
            },
        );
        let mut tally = tally.borrow_mut();
        match verdict {
            Ok((reader, writer)) => {
                tally.joined += 1;
                tally.last_joined = Some(now);
                let waited = now.saturating_duration_since(start).as_nanos() as u64;
                tally.latencies.record_ns(waited);
                // Keep reading, so that no client becomes a slow consumer.
                let task = spawn_local(client::drain(reader, None, Rc::clone(&stop)));
                kept.push((task, writer));
            }
            Err(err) => tally.failures.push(format!("client {i}: {err}")),
        }
    }
    drop(rejoins);
    let after = server.sample();
    let memory = server.memory();
    stop.set(true);
    for (task, _) in &kept {
        task.abort();
    }
    drop(kept);
    let tally = tally.borrow();
    let used = cpu_use(&before, &after, ctx.ticks_per_s, server.cpus);
    let total = clients.len() as u64;
    let mut failures: Vec<String> = tally.failures.iter().take(5).cloned().collect();
    let unanswered = total - tally.joined - tally.failures.len() as u64;
    if unanswered > 0 {
        failures.push(format!(
            "{unanswered} clients had not re-joined within {RECONNECT_TIMEOUT:?}"
        ));
    }
    if tally.failures.len() > 5 {
        failures.push(format!(
            "... {} failed clients in all",
            tally.failures.len()
        ));
    }
    let all = tally.joined == total;
    let figures = RunFigures {
        connections: Some(total),
        joined: Some(tally.joined),
        failures: Some(total - tally.joined),
        // Until the last re-joined; the whole timeout when some never did.
        all_joined_s: Some(match (all, tally.last_joined) {
            (true, Some(last)) => last.saturating_duration_since(start).as_secs_f64(),
            _ => RECONNECT_TIMEOUT.as_secs_f64(),
        }),
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

/// Checks a re-join's answer: the client's own account, and no history
/// (nothing was posted after its `since`).
fn check_rejoined(client: &Client, joined: &ServerFrame) -> Result<(), String> {
    let ServerFrame::Joined { you, history, .. } = joined else {
        return Err(format!("unexpected {joined:?}"));
    };
    let bot = bots::bot_for(&client.name).map_err(|err| err.to_string())?;
    if you.username.as_str() != bot.username {
        return Err(format!(
            "joined as {} instead of {}",
            you.username, bot.username
        ));
    }
    if !history.is_empty() {
        return Err(format!(
            "{} messages after since={:?}, none expected",
            history.len(),
            client.last_id.get()
        ));
    }
    Ok(())
}
