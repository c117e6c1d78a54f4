//! commit-rate and commit-rate-postgres: how many messages one instance
//! commits to its history per second.
//!
//! Many publishers, each alone in a room of its own (so that the rooms'
//! work goes on side by side and a delivery is one frame, back to its
//! author), post in a closed loop: each keeps up to [`CommitPlan::window`]
//! messages sent and not yet received back, and sends another as soon as
//! one returns, until the run's duration is over; then the last ones come
//! back. The server sends a message to its room only once it is committed,
//! so every message back is a commit, and the window keeps the server's
//! queues and the sockets' buffers short (a burst would fill them with
//! seconds of backlog). The messages are checked as in every scenario
//! (their author's ledger: in order, none lost or duplicated).
//!
//! The committed count is the server's own: `chat_messages_stored_total`
//! of its `/metrics` before and after the run ([`crate::scrape`]), over the
//! window from the first send to the last message back; the commit time
//! is its `chat_db_write_seconds` histogram over the run. On PostgreSQL the
//! write transactions (transaction ids assigned) are read too, giving the
//! store's batch size and the time per commit.

use super::context::{cpu_use, process_figures, Context, Running, Store};
use super::rooms::{CLOSE_SETTLE, CONNECT_CONCURRENCY, SETTLE};
use super::Outcome;
use crate::client::{self, Recorder, Shared};
use crate::figures::RunFigures;
use crate::scrape::{self, Scrape};
use crate::wire::{self, Incoming, Stamp};
use crate::ws::{Frame, WsReader, WsWriter};
use futures_util::stream::{self, StreamExt};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::task::spawn_local;

/// Longest a publisher waits for one of its messages to come back before
/// the run counts as failed (a commit of the slowest disk takes a few
/// hundred milliseconds at most).
pub const BACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The shape of commit-rate.
#[derive(Debug, Clone)]
pub struct CommitPlan {
    /// Publishers, each alone in a room of its own.
    pub publishers: usize,
    /// Messages each may have on their way at once.
    pub window: usize,
    /// How long they keep sending in each run.
    pub duration: Duration,
}

/// A publisher's connection, between runs.
type Connection = (WsReader, WsWriter);

/// Runs commit-rate on a server whose history is in `store`.
pub async fn run(ctx: &Context, name: &str, plan: &CommitPlan, store: Store) -> Outcome {
    let mut outcome = Outcome::default();
    let server = match ctx.start_server(&[], store) {
        Ok(server) => server,
        Err(err) => return outcome.failed(format!("server: {err}")),
    };
    outcome.server_args = server.args.clone();
    outcome.database_args = server.database_args.clone();
    let rooms: Vec<String> = (0..plan.publishers)
        .map(|room| format!("{}-{name}-{room}", ctx.tag))
        .collect();
    let shared: Shared = Rc::new(RefCell::new(Recorder::new(
        ctx.clock,
        rooms.clone(),
        (0..plan.publishers).collect(),
    )));
    let mut connections = match gather(&server, &rooms).await {
        Ok(connections) => connections,
        Err(err) => {
            let log = server.log_tail();
            outcome.notes.extend(server.stop());
            return outcome.failed(format!("set-up: {err}\n--- server log ---\n{log}"));
        }
    };
    let total = ctx.warmups + ctx.runs;
    for run in 0..total {
        let warmup = run < ctx.warmups;
        eprintln!(
            "  {name}: {} {}/{}",
            if warmup { "warm-up" } else { "run" },
            if warmup {
                run + 1
            } else {
                run - ctx.warmups + 1
            },
            if warmup { ctx.warmups } else { ctx.runs }
        );
        match run_once(ctx, &server, &shared, &mut connections, plan, run).await {
            Ok(mut figures) => {
                figures.warmup = warmup;
                let problems = !figures.problems.is_empty();
                outcome.runs.push(figures);
                if problems {
                    break;
                }
            }
            Err(err) => {
                let log = server.log_tail();
                outcome.notes.extend(server.stop());
                return outcome.failed(format!("run {run}: {err}\n--- server log ---\n{log}"));
            }
        }
    }
    shared.borrow_mut().closing = true;
    drop(connections);
    tokio::time::sleep(CLOSE_SETTLE).await;
    outcome.notes.extend(server.stop());
    outcome
}

/// Connects each publisher and joins it to its room.
async fn gather(server: &Running, rooms: &[String]) -> Result<Vec<Option<Connection>>, String> {
    let url = server.url();
    eprintln!("  joining {} publishers, one per room", rooms.len());
    let started = Instant::now();
    let mut connections: Vec<Option<Connection>> = (0..rooms.len()).map(|_| None).collect();
    let mut joins = stream::iter(rooms.iter().enumerate())
        .map(|(m, room)| async move { (m, client::join(url, room, &format!("m{m}")).await) })
        .buffer_unordered(CONNECT_CONCURRENCY);
    while let Some((m, joined)) = joins.next().await {
        connections[m] = Some(joined.map_err(|err| format!("publisher {m}: {err}"))?);
    }
    drop(joins);
    eprintln!("  joined in {:.1} s", started.elapsed().as_secs_f64());
    tokio::time::sleep(SETTLE).await;
    Ok(connections)
}

/// One run: every publisher posts for the plan's duration; then the
/// figures.
async fn run_once(
    ctx: &Context,
    server: &Running,
    shared: &Shared,
    connections: &mut [Option<Connection>],
    plan: &CommitPlan,
    run: u32,
) -> Result<RunFigures, String> {
    shared.borrow_mut().begin_run(run, 1);
    let authority = server.url().authority.clone();
    // Read outside the window: each costs the server (and PostgreSQL) work.
    let metrics_before = scrape::fetch(&authority).await?;
    let db_before = server.db_stats();
    let before = server.sample();
    let start = Instant::now();
    let deadline = start + plan.duration;
    let mut tasks = Vec::with_capacity(connections.len());
    for (member, slot) in connections.iter_mut().enumerate() {
        let (reader, writer) = slot
            .take()
            .ok_or_else(|| format!("publisher {member} has no connection"))?;
        let shared = Rc::clone(shared);
        let window = plan.window as u64;
        tasks.push(spawn_local(async move {
            let mut connection = (reader, writer);
            let result = flood(&mut connection, &shared, member, window, deadline).await;
            (member, connection, result)
        }));
    }
    let mut problems = Vec::new();
    for task in tasks {
        let (member, connection, result) = task
            .await
            .map_err(|err| format!("a publisher task failed: {err}"))?;
        connections[member] = Some(connection);
        if let Err(err) = result {
            problems.push(format!("publisher {member}: {err}"));
        }
    }
    let after = server.sample();
    let db_after = server.db_stats();
    let metrics_after = scrape::fetch(&authority).await?;
    let mut figures = figures(
        ctx,
        server,
        shared,
        start,
        (&before, &after),
        &metrics_after.since(&metrics_before),
        db_before.zip(db_after),
    );
    figures.problems.splice(0..0, problems);
    Ok(figures)
}

/// Publisher `member` posts through `connection` until `deadline`, keeping
/// at most `window` messages on their way, then waits for the last ones.
async fn flood(
    connection: &mut Connection,
    shared: &Shared,
    member: usize,
    window: u64,
    deadline: Instant,
) -> Result<(), String> {
    let (reader, writer) = connection;
    let (clock, run, room) = {
        let recorder = shared.borrow();
        (recorder.clock, recorder.run, recorder.rooms[member].clone())
    };
    let (mut sent, mut back) = (0u64, 0u64);
    loop {
        while sent - back < window && Instant::now() < deadline {
            let stamp = Stamp {
                run,
                publisher: 0,
                seq: sent,
                intended_ns: clock.now_ns(),
            };
            let frame = wire::send_frame(&room, &stamp.text()).map_err(|err| err.to_string())?;
            writer
                .send_text(&frame)
                .await
                .map_err(|err| err.to_string())?;
            shared.borrow_mut().sent[member][0] += 1;
            sent += 1;
        }
        if back >= sent {
            // Past the deadline with nothing on its way.
            return Ok(());
        }
        match tokio::time::timeout(BACK_TIMEOUT, reader.fill()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err.to_string()),
            Err(_) => {
                return Err(format!(
                    "{} of its messages not back after {BACK_TIMEOUT:?}",
                    sent - back
                ))
            }
        }
        let now_ns = clock.now_ns();
        let mut recorder = shared.borrow_mut();
        loop {
            match reader.next_frame() {
                Ok(Some(Frame::Text(text))) => {
                    // A refusal answers a send too: the message will not come.
                    if matches!(
                        wire::classify(text),
                        Ok(Incoming::Message(_) | Incoming::Error(_))
                    ) {
                        back += 1;
                    }
                    recorder.on_member_text(member, text, now_ns, false);
                }
                Ok(Some(Frame::Close(code, reason))) => {
                    return Err(format!("closed by the server ({code:?} {reason:?})"))
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(err) => return Err(err.to_string()),
            }
        }
    }
}

/// The figures of a finished run: `cpu` the samples around it, `metrics`
/// the server's counters over it, `db` PostgreSQL's before and after.
fn figures(
    ctx: &Context,
    server: &Running,
    shared: &Shared,
    start: Instant,
    cpu: (&super::context::Sample, &super::context::Sample),
    metrics: &Scrape,
    db: Option<(crate::database::DbStats, crate::database::DbStats)>,
) -> RunFigures {
    let recorder = shared.borrow();
    let tally = recorder.tally();
    let end = recorder.clock.instant(recorder.last_delivery_ns);
    let window = end.saturating_duration_since(start).as_secs_f64();
    let window = (window > 0.0).then_some(window);
    let used = cpu_use(cpu.0, cpu.1, ctx.ticks_per_s, server.cpus);
    let delivered = recorder.delivered;
    let memory = server.memory();
    let mut problems = recorder.problems.clone();
    if recorder.problem_count > problems.len() as u64 {
        problems.push(format!("... {} problems in all", recorder.problem_count));
    }
    if !tally.is_exact() {
        problems.insert(
            0,
            format!(
                "{} messages lost, {} duplicated or out of order, {} unexpected (of {} sent)",
                tally.lost,
                tally.duplicated,
                tally.unexpected,
                recorder.messages_sent()
            ),
        );
    }
    let committed = metrics.stored;
    if committed != recorder.messages_sent() {
        problems.push(format!(
            "the server counted {committed} messages committed of {} sent",
            recorder.messages_sent()
        ));
    }
    let db_commits = db.map(|(before, after)| after.next_xid.saturating_sub(before.next_xid));
    let ms = |seconds: f64| seconds * 1e3;
    RunFigures {
        window_s: window,
        messages_sent: Some(recorder.messages_sent()),
        expected_deliveries: Some(recorder.expected()),
        deliveries: Some(delivered),
        lost: Some(tally.lost),
        duplicated: Some(tally.duplicated),
        unexpected: Some(tally.unexpected),
        deliveries_per_s: window.map(|w| delivered as f64 / w),
        latency: recorder.latencies.summary(),
        server_cpu_s: used.server.seconds,
        server_cpu_us_per_delivery: used.server.us_per(delivered),
        server_cpu_utilisation: used.server.utilisation,
        generator_cpu_utilisation: used.generator_utilisation,
        server_rss_kib: memory.map(|m| m.rss_kib),
        server_peak_rss_kib: memory.map(|m| m.peak_rss_kib),
        committed: Some(committed),
        committed_per_s: window.map(|w| committed as f64 / w),
        commit_p50_ms: metrics.write_quantile(0.5).map(ms),
        commit_p99_ms: metrics.write_quantile(0.99).map(ms),
        db_commits,
        messages_per_commit: db_commits
            .filter(|&commits| commits > 0)
            .map(|commits| committed as f64 / commits as f64),
        ms_per_commit: db_commits
            .filter(|&commits| commits > 0)
            .zip(window)
            .map(|(commits, w)| ms(w) / commits as f64),
        wal_bytes: db.map(|(before, after)| after.wal_bytes.saturating_sub(before.wal_bytes)),
        processes: process_figures(&server.parts, &used, &server.part_memory(), delivered),
        problems,
        ..RunFigures::default()
    }
}
