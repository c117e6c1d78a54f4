//! Benchmark of the chat server under many clients: memory per idle
//! connection, fan-out throughput and latency, and storage throughput.
//!
//! Run it with `cargo bench -p backend --bench fanout` (a release build).
//! It starts the real server in this process on 127.0.0.1 and a free port,
//! each scenario with its own temporary SQLite file, talks to it over real
//! WebSockets, and prints one table per scenario. A wrong result (a message
//! lost, repeated or out of order, a connection dropped) fails the run with
//! a non-zero exit instead of printing a figure.
//!
//! The idle-memory scenario runs first: memory freed by the others stays
//! with the allocator, which would reuse it there and hide part of the growth.
//!
//! Sizes can be changed through the environment (defaults in parentheses):
//! - `BENCH_IDLE` (2000): idle connections, spread over 20 rooms.
//! - `BENCH_RECEIVERS` (200): receivers in the fan-out room.
//! - `BENCH_SENDERS` (4): senders in the fan-out room, members too.
//! - `BENCH_MESSAGES` (2000): messages posted in the fan-out, all senders together.
//! - `BENCH_STORAGE_MESSAGES` (5000): messages posted in the storage scenario.
//! - `BENCH_LOG`: a `RUST_LOG`-style filter for the server's logs on stderr;
//!   `BENCH_LOG=chat_server=info` shows slow-consumer disconnects.
//!
//! For example: `BENCH_RECEIVERS=500 cargo bench -p backend --bench fanout`.

use chat_server::server::{ServerError, SHUTDOWN_GRACE};
use chat_server::Config;
use clap::Parser;
use common::{ClientFrame, DisplayName, MessageText, Nonce, RoomName, ServerFrame};
use futures_util::stream::{self, SplitSink, SplitStream};
use futures_util::{future, SinkExt, StreamExt};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Idle connections opened by default (`BENCH_IDLE`); see [`MAX_CONNECTIONS`].
const DEFAULT_IDLE: usize = 2_000;
/// Receivers in the fan-out room by default (`BENCH_RECEIVERS`).
const DEFAULT_RECEIVERS: usize = 200;
/// Senders in the fan-out room by default (`BENCH_SENDERS`).
const DEFAULT_SENDERS: usize = 4;
/// Messages posted in the fan-out by default, all senders together (`BENCH_MESSAGES`).
const DEFAULT_MESSAGES: usize = 2_000;
/// Messages the lone sender posts by default (`BENCH_STORAGE_MESSAGES`).
const DEFAULT_STORAGE_MESSAGES: usize = 5_000;
/// Most connections a scenario may open. Both ends of each live in this
/// process, so each costs two file descriptors: with the open-file limit
/// of 20,000 here, connections must stay well below 10,000.
const MAX_CONNECTIONS: usize = 8_000;
/// Rooms the idle connections are spread over.
const IDLE_ROOMS: usize = 20;
/// The text of every message: 100 bytes, a typical chat line.
const TEXT: &str = concat!(
    "The quick brown fox jumps over the lazy dog; ",
    "pack my box with five dozen liquor jugs, said a sphinx."
);
/// Connections opened at once: far below the listener's accept backlog,
/// which would otherwise drop SYNs that the kernel retries a second later.
const CONNECT_CONCURRENCY: usize = 64;
/// Longest one scenario's members may take to receive every message.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a client waits for the answer to its join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Time given to idle connections to read their last presence frames, so
/// that RSS is measured at rest.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Sink = SplitSink<Socket, Message>;
/// When each message was written, indexed by the number that is its nonce:
/// a map from nonce to send time that readers use without taking a lock.
type SendTimes = Arc<[OnceLock<Instant>]>;
/// One member's reading of all the posted messages, or why it failed.
type Reading = Result<Received, String>;
/// A table row: label, value, unit.
type Row = (&'static str, String, &'static str);

fn main() -> ExitCode {
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        let logs = tracing_subscriber::fmt().with_env_filter(filter);
        logs.with_writer(std::io::stderr).init();
    }
    // Read every setting first, so that a bad one fails before anything runs.
    let idle = setting("BENCH_IDLE", DEFAULT_IDLE);
    let receivers = setting("BENCH_RECEIVERS", DEFAULT_RECEIVERS);
    let senders = setting("BENCH_SENDERS", DEFAULT_SENDERS);
    let messages = setting("BENCH_MESSAGES", DEFAULT_MESSAGES);
    let storage_messages = setting("BENCH_STORAGE_MESSAGES", DEFAULT_STORAGE_MESSAGES);
    if idle.max(receivers + senders) > MAX_CONNECTIONS {
        eprintln!("BENCH_IDLE and BENCH_RECEIVERS + BENCH_SENDERS: {MAX_CONNECTIONS} at most");
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("build the Tokio runtime");
    let started = Instant::now();
    let result = runtime.block_on(async {
        idle_connections(idle).await?;
        fan_out(receivers, senders, messages).await?;
        storage(storage_messages).await
    });
    if let Err(err) = result {
        eprintln!("\nbenchmark FAILED: {err}");
        return ExitCode::FAILURE;
    }
    println!("\ntotal run time: {:.1} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

/// A positive count from the environment variable `var`, or `default`.
fn setting(var: &str, default: usize) -> usize {
    let Ok(value) = std::env::var(var) else {
        return default;
    };
    match value.trim().parse() {
        Ok(count) if count > 0 => count,
        _ => panic!("{var}={value:?}: expected a positive whole number"),
    }
}

/// Scenario 1: the memory of many idle connections, each in a room.
async fn idle_connections(count: usize) -> Result<(), String> {
    let server = Server::start().await;
    let before = rss_kib();
    let opening = Instant::now();
    let sockets: Vec<Socket> = stream::iter(0..count)
        .map(|i| open_idle(&server.url, i))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let opened_in = opening.elapsed();
    let broken = Arc::new(AtomicUsize::new(0));
    let drainer = tokio::spawn(drain(sockets, Arc::clone(&broken)));
    tokio::time::sleep(IDLE_SETTLE).await;
    let after = rss_kib();
    drainer.abort(); // Dropping the sockets closes every connection.
    let _ = drainer.await;
    server.stop().await;
    match broken.load(Ordering::Relaxed) {
        0 => {}
        broken => return Err(format!("{broken} idle connections broke while idle")),
    }
    let growth = after.saturating_sub(before) as f64 / count as f64;
    let title = format!("idle connections: {count}, each joined to one of {IDLE_ROOMS} rooms");
    print_table(
        &title,
        &[
            ("opened and joined in", secs(opened_in), "s"),
            ("RSS before", before.to_string(), "KiB"),
            ("RSS after", after.to_string(), "KiB"),
            ("RSS growth per connection", format!("{growth:.1}"), "KiB"),
        ],
    );
    println!("  note: client and server share this process, so the growth per connection");
    println!("  includes the client's side too: it is an upper bound for the server's cost.");
    Ok(())
}

/// The resident set size of this process, in KiB (Linux only).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
        .expect("a VmRSS line in /proc/self/status")
}

async fn open_idle(url: &str, index: usize) -> Socket {
    let mut ws = connect(url).await;
    let room = room_name(&format!("idle-{}", index % IDLE_ROOMS));
    join(&mut ws, &room, &format!("idle-{index}")).await;
    ws
}

/// Reads what reaches the idle connections (presence frames as others
/// join), as real clients would, and counts those that close or fail.
async fn drain(sockets: Vec<Socket>, broken: Arc<AtomicUsize>) {
    let mut frames = stream::select_all(sockets);
    while let Some(frame) = frames.next().await {
        if let Ok(Message::Close(_)) | Err(_) = frame {
            broken.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Scenario 2: every message to many members.
async fn fan_out(receivers: usize, senders: usize, messages: usize) -> Result<(), String> {
    let server = Server::start().await;
    let (start, mut readings) =
        run_load(&server.url, "bench", receivers, senders, messages).await?;
    server.stop().await;
    // The senders' readings were checked like all others; the figures are
    // the receivers'.
    readings.truncate(receivers);
    let (elapsed, latencies) = summarize(start, readings);
    let rate = messages as f64 / elapsed.as_secs_f64();
    let deliveries = rate * receivers as f64;
    let mut rows = vec![
        ("messages accepted", format!("{rate:.0}"), "msg/s"),
        ("deliveries", format!("{deliveries:.0}"), "msg/s"),
        ("first send to last receipt", secs(elapsed), "s"),
    ];
    rows.extend(latency_rows(&latencies));
    let members = format!("{receivers} receivers + {senders} senders");
    let size = TEXT.len();
    let title = format!("fan-out: {members} in one room, {messages} messages of {size} bytes");
    print_table(&title, &rows);
    println!("  every member got every message exactly once, in increasing id order;");
    println!("  latency includes queueing, as all messages are posted at once.");
    Ok(())
}

/// Scenario 3: one sender alone in its room, so that storage sets the pace.
async fn storage(messages: usize) -> Result<(), String> {
    let server = Server::start().await;
    let (start, readings) = run_load(&server.url, "storage", 0, 1, messages).await?;
    server.stop().await;
    let (elapsed, latencies) = summarize(start, readings);
    let rate = messages as f64 / elapsed.as_secs_f64();
    let mut rows = vec![
        ("messages committed", format!("{rate:.0}"), "msg/s"),
        ("first send to last echo", secs(elapsed), "s"),
    ];
    rows.extend(latency_rows(&latencies));
    let title = format!("storage: 1 sender alone in a room, {messages} messages, synchronous=NORMAL (--durability process)");
    print_table(&title, &rows);
    Ok(())
}

/// What one member received of the posted messages.
struct Received {
    /// From each message's write by its sender to its arrival here.
    latencies: Vec<Duration>,
    /// When the last message arrived.
    last_at: Instant,
}

/// Joins the receivers and senders to `room`, has the senders post
/// `messages` between them, and waits until every member has read them
/// all. Returns when the first was posted, and the readings of the
/// receivers, then of the senders.
async fn run_load(
    url: &str,
    room: &str,
    receivers: usize,
    senders: usize,
    messages: usize,
) -> Result<(Instant, Vec<Received>), String> {
    let room = room_name(room);
    let sent: SendTimes = (0..messages).map(|_| OnceLock::new()).collect();
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    let names = (0..receivers).map(|i| format!("receiver-{i}"));
    let names = names.chain((0..senders).map(|i| format!("sender-{i}")));
    let members: Vec<(Sink, JoinHandle<Reading>)> = stream::iter(names)
        .map(|name| join_member(url, &room, name, Arc::clone(&sent), deadline))
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let (mut sinks, readers): (Vec<Sink>, Vec<_>) = members.into_iter().unzip();
    let start = Instant::now();
    let writers: Vec<JoinHandle<Sink>> = (sinks.split_off(receivers).into_iter().enumerate())
        .map(|(first, sink)| {
            let (room, sent) = (room.clone(), Arc::clone(&sent));
            tokio::spawn(post_every(sink, first, senders, room, sent))
        })
        .collect();
    // The first failure is the one to report: the others may be its effects
    // (receivers time out when a disconnected sender's posts are dropped).
    let readers = readers
        .into_iter()
        .map(|reader| async { reader.await.expect("a reader task does not panic") });
    let readings = future::try_join_all(readers).await?;
    for writer in writers {
        sinks.push(writer.await.expect("a sender task does not panic"));
    }
    drop(sinks); // Closes every member's connection.
    Ok((start, readings))
}

/// Connects and joins one member, then reads its socket in a task of its
/// own from that moment on, so that it never becomes a slow consumer.
async fn join_member(
    url: &str,
    room: &RoomName,
    name: String,
    sent: SendTimes,
    deadline: Instant,
) -> (Sink, JoinHandle<Reading>) {
    let mut ws = connect(url).await;
    join(&mut ws, room, &name).await;
    let (sink, stream) = ws.split();
    let reading = receive(stream, sent, deadline);
    let reader = async move { reading.await.map_err(|err| format!("{name}: {err}")) };
    (sink, tokio::spawn(reader))
}

/// Posts every `stride`-th message from `first` on, as fast as the socket
/// takes them, without waiting for their echoes (its reader gets those).
async fn post_every(
    mut sink: Sink,
    first: usize,
    stride: usize,
    room: RoomName,
    sent: SendTimes,
) -> Sink {
    let text = MessageText::parse(TEXT).expect("a valid message text");
    for index in (first..sent.len()).step_by(stride) {
        let nonce = Nonce::parse(index.to_string()).expect("a valid nonce");
        let (room, text, nonce) = (room.clone(), text.clone(), Some(nonce));
        let frame = Message::text(ClientFrame::Send { room, text, nonce }.encode());
        let _ = sent[index].set(Instant::now());
        if sink.send(frame).await.is_err() {
            break; // The server closed the connection: its reader says why.
        }
    }
    sink
}

/// Reads until every posted message has arrived, checking that each comes
/// exactly once and in strictly increasing id order.
async fn receive(mut stream: SplitStream<Socket>, sent: SendTimes, deadline: Instant) -> Reading {
    let mut seen = vec![false; sent.len()];
    let mut latencies = Vec::with_capacity(sent.len());
    let (mut last_id, mut last_at) = (0, Instant::now());
    while latencies.len() < sent.len() {
        let got = latencies.len();
        let text = match timeout_at(deadline.into(), stream.next()).await {
            Err(_) => return Err(format!("timed out after {got} messages")),
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(end) => return Err(format!("connection ended after {got} messages: {end:?}")),
        };
        let at = Instant::now();
        let message = match ServerFrame::decode(&text) {
            Ok(ServerFrame::Message(message)) => message,
            Ok(ServerFrame::Presence { .. } | ServerFrame::Typing { .. }) => continue,
            other => return Err(format!("unexpected frame: {other:?}")),
        };
        let (id, nonce) = (message.id, message.nonce);
        if id <= last_id {
            return Err(format!("message {id} came after message {last_id}"));
        }
        let Some((index, sent_at)) = send_time(&sent, nonce.as_ref()) else {
            return Err(format!("message {id} has an unknown nonce {nonce:?}"));
        };
        if std::mem::replace(&mut seen[index], true) {
            return Err(format!("message {id} repeats nonce {index}"));
        }
        latencies.push(at.saturating_duration_since(sent_at));
        (last_id, last_at) = (id, at);
    }
    Ok(Received { latencies, last_at })
}

/// The index a message's nonce names in `sent`, and when it was written.
fn send_time(sent: &SendTimes, nonce: Option<&Nonce>) -> Option<(usize, Instant)> {
    let index: usize = nonce?.as_str().parse().ok()?;
    Some((index, *sent.get(index)?.get()?))
}

/// The time from `start` to the last arrival, and all latencies, sorted.
fn summarize(start: Instant, readings: Vec<Received>) -> (Duration, Vec<Duration>) {
    let end = readings.iter().map(|reading| reading.last_at).max();
    let mut latencies: Vec<Duration> = readings.into_iter().flat_map(|r| r.latencies).collect();
    latencies.sort_unstable();
    let elapsed = end.unwrap_or(start).saturating_duration_since(start);
    (elapsed, latencies)
}

/// Percentiles (nearest rank) of `sorted`, which is not empty, as rows.
fn latency_rows(sorted: &[Duration]) -> Vec<Row> {
    let at = |percent: f64| {
        let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
        let latency = sorted[rank.clamp(1, sorted.len()) - 1];
        format!("{:.2}", latency.as_secs_f64() * 1e3)
    };
    vec![
        ("latency p50", at(50.0), "ms"),
        ("latency p90", at(90.0), "ms"),
        ("latency p99", at(99.0), "ms"),
        ("latency max", at(100.0), "ms"),
    ]
}

/// Prints `rows` under `title`: labels left-aligned, values right-aligned.
fn print_table(title: &str, rows: &[Row]) {
    let label_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|row| row.1.len()).max().unwrap_or(0);
    println!("\n{title}");
    println!("  {}", "-".repeat(label_width + value_width + 8));
    for (label, value, unit) in rows {
        println!("  {label:<label_width$}  {value:>value_width$} {unit}");
    }
}

fn secs(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn room_name(room: &str) -> RoomName {
    RoomName::parse(room).expect("a valid room name")
}

/// Opens a WebSocket with Nagle's algorithm off (as the server and browsers
/// do) and the server's read chunk size instead of tungstenite's 128 KiB
/// buffer, so that the client's side does not swamp the memory figure.
async fn connect(url: &str) -> Socket {
    let buffer = chat_server::connection::READ_CHUNK_BYTES;
    let config = WebSocketConfig::default().read_buffer_size(buffer);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .expect("WebSocket handshake with the server");
    ws
}

/// Joins `room` as `name` and waits for `joined`, skipping the presence
/// frames of members joining meanwhile.
async fn join(ws: &mut Socket, room: &RoomName, name: &str) {
    let name = DisplayName::parse(name).expect("a valid display name");
    let (room, since) = (room.clone(), None);
    let frame = Message::text(ClientFrame::Join { room, name, since }.encode());
    ws.send(frame).await.expect("send a join frame");
    loop {
        let message = timeout(JOIN_TIMEOUT, ws.next())
            .await
            .expect("the join is answered in time")
            .expect("the connection stays open while joining")
            .expect("a well-formed WebSocket frame");
        let Message::Text(text) = message else {
            continue;
        };
        match ServerFrame::decode(&text) {
            Ok(ServerFrame::Joined { .. }) => return,
            Ok(ServerFrame::Presence { .. }) => continue,
            other => panic!("expected joined, got {other:?}"),
        }
    }
}

/// The chat server, running in this process on 127.0.0.1 and a free port.
struct Server {
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
    /// Holds the database; deleted when dropped, after the server stopped.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server on a fresh database with default settings, but for
    /// the limits meant for untrusted clients that a benchmark would hit:
    /// every client comes from 127.0.0.1, and senders post as fast as they
    /// can.
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let (db, dist) = (dir.path().join("chat.db"), dir.path().join("no-dist"));
        let db = db.to_str().expect("a UTF-8 temporary path");
        // Only /ws is used: there is no web client to serve.
        let dist = dist.to_str().expect("a UTF-8 temporary path");
        let args = [
            "chat-server",
            "--db",
            db,
            "--dist",
            dist,
            "--max-connections-per-ip",
            "100000",
            "--rate-limit-burst",
            "1000000",
            "--rate-limit-per-second",
            "1000000",
        ];
        let config = Config::try_parse_from(args).expect("valid server flags");
        let listener = TcpListener::bind("127.0.0.1:0").await;
        let listener = listener.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        Self {
            url: format!("ws://{addr}/ws"),
            stop,
            task: tokio::spawn(chat_server::run(listener, config, shutdown)),
            _dir: dir,
        }
    }

    /// Shuts the server down through its shutdown future; fails unless it
    /// stops cleanly.
    async fn stop(self) {
        let _ = self.stop.send(());
        let stopped = timeout(SHUTDOWN_GRACE + JOIN_TIMEOUT, self.task)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic");
        stopped.expect("the server stops cleanly");
    }
}
