//! `chat-bench write-floor`: what bare loopback TCP writes cost the writing
//! core, with no chat server at all — the kernel's floor under the
//! server's figures.
//!
//! Every delivery the server makes is a TCP write on loopback (one `writev`
//! of every frame waiting for that member), and on loopback the writing
//! core also runs the receiving side of TCP: the softirq that queues the
//! bytes on the reader's socket and wakes the reader. `perf` puts about
//! three quarters of the server's time there. When the members of a room
//! get one message per write, as in big-room and many-rooms, that cost per
//! write bounds what one server core can do, whatever the server does
//! around it. This command measures it, so that the claim can be checked.
//!
//! It opens N loopback TCP connections (`TCP_NODELAY`, as the server sets)
//! between itself, the *writer*, pinned to the server's CPU
//! (`--server-cpu`, 0), and a *sink*: `chat-bench` re-executed with the
//! hidden `write-floor-sink` subcommand, pinned to the generator's CPU
//! (`--generator-cpu`, 1), which reads everything, as the generator would.
//! Then rounds: each writes one frame (by default a typical `message` frame
//! as the server sends it, WebSocket header included) to every connection,
//! the fan-out of one message to a room of N, then pauses (200 ms by
//! default, as big-room's 5 messages a second) so that the next round finds
//! the sink drained. Warm-up rounds come first and are not counted.
//!
//! The figures: the writer thread's CPU time per write
//! (`CLOCK_THREAD_CPUTIME_ID` around each measured round's writes; the
//! kernel's share from `getrusage(RUSAGE_THREAD)`), the wall time of a
//! round (median and max) and per write, and what they imply for the one
//! server core of the method ([`Bounds`]): how long one message of
//! big-room at least takes to reach all its members, against its p99 goal,
//! and how many core-seconds per second many-rooms' deliveries at least
//! need (1 or more: the server cannot keep up). The scenarios' sizes and
//! goals come from [`crate::scenarios::catalogue`] ([`Targets`]). A kernel
//! without `CONFIG_IRQ_TIME_ACCOUNTING` (this one) charges softirq time to
//! the task it interrupts, so the receiving side is in the writer's CPU
//! time, as it is in the server's. A second pass writes `--batch` frames in
//! one `writev` to every connection, as the server does for a busy room:
//! if that costs about what a one-frame write does, the cost is per write,
//! not per byte.
//!
//! Two processes rather than one: each end of a connection is a file
//! descriptor, and the open-file limit here is 20,000 per process (raised
//! to the hard limit, as for the scenarios, see
//! [`crate::system::raise_file_limit`]). With the sink apart, each process
//! holds N descriptors plus a few, so N = 19,000 (big-room's members) fits,
//! which one process holding both ends could not.
//!
//! Correctness and time: the sink counts every byte it reads and prints
//! the count when all its connections have closed; the writer checks it
//! against what it wrote and fails otherwise. Every wait is bounded
//! ([`ACCEPT_TIMEOUT`], [`WRITE_TIMEOUT`], [`SINK_REPORT_TIMEOUT`],
//! [`CONNECT_TIMEOUT`]), and the sink is killed when the writer gives up.

use crate::figures::{Bound, Metric};
use crate::report::Machine;
use crate::scenarios::{self, rooms::Load, Kind, Scenario, BIG_ROOM, MANY_ROOMS};
use crate::stats::{self, Spread};
use crate::system::{self, SystemError};
use nix::sys::resource::{getrusage, UsageWho};
use nix::time::{clock_gettime, ClockId};
use serde::Serialize;
use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, IoSlice, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Connections by default: big-room's members, so that a round is the
/// fan-out of one big-room message.
pub const DEFAULT_CONNECTIONS: usize = 19_000;

/// Warm-up rounds by default, not counted: the first writes to a fresh
/// connection grow its buffers and the sink's runtime registers its reads.
pub const DEFAULT_WARMUP_ROUNDS: u32 = 2;

/// Measured rounds by default.
pub const DEFAULT_ROUNDS: u32 = 10;

/// Pause after each round by default, in milliseconds: big-room's 5
/// messages a second. The sink drains every connection meanwhile, so each
/// round writes to empty sockets, as the server does at that rate.
pub const DEFAULT_PAUSE_MS: u64 = 200;

/// Frames per `writev` in the second pass by default: fanout-1m's 1,000
/// messages a second, held for the server's 12 ms batch interval
/// (`hub::room::pacing`), make 12 frames per write to each member.
pub const DEFAULT_BATCH: usize = 12;

/// Most frames per `writev`: Linux's `IOV_MAX`, the most buffers one call
/// takes.
pub const MAX_BATCH: usize = 1024;

/// Largest frame `--frame-bytes` takes: far above any chat frame (beyond
/// it, the command would measure bulk transfer, not deliveries).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Descriptors a process keeps free besides its connections: the
/// listener, stdio, the pipe from the sink, the sink's runtime (epoll,
/// eventfd), with room to spare; as `idle` keeps 100 of the 20,000.
pub const RESERVED_FILES: u64 = 100;

/// The queue of connections not yet accepted the writer asks for; the
/// kernel caps it at `net.core.somaxconn` (4,096 here, and by default
/// since Linux 5.4).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Longest the sink may take to open every connection (19,000 take a few
/// seconds here), and the writer to accept them.
pub const ACCEPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long accepting sleeps when no connection waits, before checking that
/// the sink still runs and trying again. Short, so that the listen backlog
/// never fills while the sink connects.
const ACCEPT_POLL: Duration = Duration::from_millis(1);

/// Longest the sink may take to connect once (it retries a dropped SYN
/// after a second, so a full backlog costs seconds, not this much).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Longest one write may block (`SO_SNDTIMEO`). A round puts a few KiB at
/// most in each socket, far below its buffer, so a write blocks only when
/// the sink stopped reading; the run then fails instead of hanging.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest the sink may take to report its count and exit once every
/// connection is closed (it has read most bytes during the pauses already).
pub const SINK_REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the writer checks whether the sink has exited, when it waits.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// Bytes the sink reads at once; one buffer serves every connection, as
/// nothing is kept.
const SINK_READ_BUFFER: usize = 64 * 1024;

/// The hidden subcommand that runs the sink (clap's name for
/// [`crate::cli::Command::WriteFloorSink`]).
pub const SINK_COMMAND: &str = "write-floor-sink";

/// How the sink's report line on its stdout starts.
const SINK_REPORT_PREFIX: &str = "write-floor-sink:";

/// Why the floor could not be measured, or was measured wrong.
#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    /// More connections than the open-file limit leaves room for.
    #[error("{connections} connections need {needed} open files in each process, above the limit of {limit} (the hard RLIMIT_NOFILE)")]
    TooManyConnections {
        /// Connections asked for.
        connections: usize,
        /// Files they need with [`RESERVED_FILES`].
        needed: u64,
        /// The open-file limit.
        limit: u64,
    },
    /// Pinning, the file limit or spawning the sink failed.
    #[error(transparent)]
    System(#[from] SystemError),
    /// A socket, pipe or clock call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: io::Error,
    },
    /// The sink exited before it should have.
    #[error("the sink exited early ({0}); its error, if any, is above")]
    SinkExited(String),
    /// Something did not happen in time.
    #[error("timed out after {after:?} {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
    },
    /// The sink's report line was not understood.
    #[error("the sink's report is not understood: {0:?}")]
    BadReport(String),
    /// The sink did not receive what was written.
    #[error("the sink received {received} bytes over {received_connections} connections, but {written} bytes were written over {connections}")]
    Lost {
        /// Bytes written.
        written: u64,
        /// Connections written to.
        connections: usize,
        /// Bytes the sink read.
        received: u64,
        /// Connections the sink read from.
        received_connections: usize,
    },
    /// The scenario catalogue lacks what the bounds are computed from.
    #[error("the scenario catalogue has no {0}")]
    Catalogue(&'static str),
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> FloorError {
    let what = what.into();
    move |source| FloorError::Io { what, source }
}

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorPlan {
    /// Loopback connections, each written once per round.
    pub connections: usize,
    /// Bytes of one frame.
    pub frame_bytes: usize,
    /// Frames per `writev` in the second pass; 0: no second pass.
    pub batch: usize,
    /// Rounds before the measured ones, per pass.
    pub warmup_rounds: u32,
    /// Measured rounds per pass.
    pub rounds: u32,
    /// Pause after each round.
    pub pause: Duration,
    /// CPU of the writer (this process), if pinned.
    pub writer_cpu: Option<usize>,
    /// CPU of the sink, if pinned.
    pub sink_cpu: Option<usize>,
}

/// The bytes of a server-to-client WebSocket frame with a `payload`-byte
/// payload: the unmasked header (2 bytes up to 125, 4 up to 65,535, 10
/// beyond; RFC 6455, 5.2) and the payload.
pub fn server_frame_bytes(payload: usize) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=0xffff => 4,
        _ => 10,
    };
    header + payload
}

/// The sizes and goals of the scenarios the floor bounds, from the
/// catalogue at full scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Targets {
    /// big-room's members.
    pub big_room_members: usize,
    /// big-room's messages per second.
    pub big_room_messages_per_s: f64,
    /// big-room's p99 goal, ms.
    pub big_room_p99_ms: f64,
    /// many-rooms' deliveries per second (messages per second times members
    /// per room): with one message per member per write (each member gets
    /// one every 100 ms), as many writes.
    pub many_rooms_deliveries_per_s: f64,
    /// many-rooms' p99 goal, ms.
    pub many_rooms_p99_ms: f64,
}

impl Targets {
    /// Reads them from [`scenarios::catalogue`] at scale 1.
    pub fn from_catalogue() -> Result<Self, FloorError> {
        let all = scenarios::catalogue(1.0, scenarios::DEFAULT_DURATION);
        let find = |name: &'static str| {
            all.iter()
                .find(|scenario| scenario.name == name)
                .ok_or(FloorError::Catalogue(name))
        };
        let (big, many) = (find(BIG_ROOM)?, find(MANY_ROOMS)?);
        let Kind::Rooms(big_plan) = &big.kind else {
            return Err(FloorError::Catalogue("big-room of rooms"));
        };
        let Kind::Rooms(many_plan) = &many.kind else {
            return Err(FloorError::Catalogue("many-rooms of rooms"));
        };
        let Load::Paced {
            per_s: big_rate, ..
        } = big_plan.load
        else {
            return Err(FloorError::Catalogue("paced big-room"));
        };
        Ok(Self {
            big_room_members: big_plan.members(),
            big_room_messages_per_s: big_rate,
            big_room_p99_ms: p99_goal(big).ok_or(FloorError::Catalogue("big-room p99 goal"))?,
            many_rooms_deliveries_per_s: many_plan
                .offered_deliveries_per_s()
                .ok_or(FloorError::Catalogue("paced many-rooms"))?,
            many_rooms_p99_ms: p99_goal(many)
                .ok_or(FloorError::Catalogue("many-rooms p99 goal"))?,
        })
    }
}

/// A scenario's absolute `p99 ≤ x ms` goal.
fn p99_goal(scenario: &Scenario) -> Option<f64> {
    scenario
        .goals
        .iter()
        .find(|goal| {
            goal.metric == Metric::P99 && goal.bound == Bound::AtMost && goal.relative_to.is_none()
        })
        .map(|goal| goal.value)
}

/// The least time, in ms, one core needs to write one message to each of
/// `members` at `us_per_write` µs a write: when the last member's write
/// can start at the earliest.
pub fn fan_out_ms(members: usize, us_per_write: f64) -> f64 {
    members as f64 * us_per_write / 1e3
}

/// Core-seconds per second that `writes_per_s` writes of `us_per_write` µs
/// each take: at 1 or more, one core cannot keep up.
pub fn core_load(writes_per_s: f64, us_per_write: f64) -> f64 {
    writes_per_s * us_per_write / 1e6
}

/// What the floor implies for the method's one server core, from the
/// one-frame writes' CPU time (the median round's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bounds {
    /// ms of the core one big-room message needs to reach every member.
    pub big_room_fan_out_ms: f64,
    /// Core-seconds per second many-rooms' writes need.
    pub many_rooms_core_load: f64,
}

impl Bounds {
    /// The bounds for `targets` at `us_per_write`.
    pub fn new(targets: &Targets, us_per_write: f64) -> Self {
        Self {
            big_room_fan_out_ms: fan_out_ms(targets.big_room_members, us_per_write),
            many_rooms_core_load: core_load(targets.many_rooms_deliveries_per_s, us_per_write),
        }
    }
}

/// One measured round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Round {
    /// From the first write's start to the last write's end.
    pub wall: Duration,
    /// The writer thread's CPU time meanwhile.
    pub cpu: Duration,
}

/// The figures of one pass: every connection written once per round, each
/// write carrying `frames_per_write` frames. Spreads are over the measured
/// rounds: median [min–max], as the scenarios' figures are over runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassFigures {
    /// Frames per write call: 1 (`write`) or the batch (one `writev`).
    pub frames_per_write: usize,
    /// Write calls measured (connections × measured rounds).
    pub writes: u64,
    /// The writer thread's CPU time per write call in each round, µs.
    pub cpu_us_per_write: Spread,
    /// The median of that per frame, µs.
    pub cpu_us_per_frame: f64,
    /// Share of the writer's CPU time spent in the kernel (tick-sampled).
    pub kernel_share: f64,
    /// Wall time of a round, ms.
    pub round_ms: Spread,
    /// The median round's wall time per write call, µs.
    pub wall_us_per_write: f64,
}

impl PassFigures {
    /// Figures of `rounds` over `connections`, `frames_per_write` frames per
    /// write; `None` without rounds or connections.
    pub fn from_rounds(
        rounds: &[Round],
        connections: usize,
        frames_per_write: usize,
        kernel_share: f64,
    ) -> Option<Self> {
        if connections == 0 || frames_per_write == 0 {
            return None;
        }
        let per_write: Vec<f64> = rounds
            .iter()
            .map(|round| round.cpu.as_secs_f64() * 1e6 / connections as f64)
            .collect();
        let walls: Vec<f64> = rounds
            .iter()
            .map(|round| round.wall.as_secs_f64() * 1e3)
            .collect();
        let cpu_us_per_write = stats::spread(&per_write)?;
        let round_ms = stats::spread(&walls)?;
        Some(Self {
            frames_per_write,
            writes: (connections * rounds.len()) as u64,
            cpu_us_per_write,
            cpu_us_per_frame: cpu_us_per_write.median / frames_per_write as f64,
            kernel_share,
            round_ms,
            wall_us_per_write: round_ms.median * 1e3 / connections as f64,
        })
    }
}

/// Everything `write-floor` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloorFigures {
    /// Connections written to.
    pub connections: usize,
    /// Bytes of one frame.
    pub frame_bytes: usize,
    /// Warm-up rounds per pass.
    pub warmup_rounds: u32,
    /// Measured rounds per pass.
    pub rounds: u32,
    /// Pause after each round, ms.
    pub pause_ms: f64,
    /// Seconds from starting the sink to the last connection accepted.
    pub setup_s: f64,
    /// The writer's CPU.
    pub writer_cpu: Option<usize>,
    /// The sink's CPU.
    pub sink_cpu: Option<usize>,
    /// Bytes written, warm-ups included.
    pub bytes_written: u64,
    /// Bytes the sink read (equal, or the run fails).
    pub bytes_received: u64,
    /// One frame per `write`.
    pub single: PassFigures,
    /// `batch` frames per `writev`, when measured.
    pub batched: Option<PassFigures>,
    /// The scenarios' sizes and goals.
    pub targets: Targets,
    /// What `single` implies for them.
    pub bounds: Bounds,
}

/// The JSON file of `write-floor --json`.
#[derive(Debug, Clone, Serialize)]
pub struct FloorReport {
    /// The machine.
    pub machine: Machine,
    /// The command line.
    pub command: String,
    /// The 1-minute load average when the command started.
    pub load_average_1m: Option<f64>,
    /// The figures.
    pub figures: FloorFigures,
}

/// Refuses more connections than the open-file `limit` leaves room for.
pub fn check_file_limit(connections: usize, limit: u64) -> Result<(), FloorError> {
    let needed = connections as u64 + RESERVED_FILES;
    if needed > limit {
        return Err(FloorError::TooManyConnections {
            connections,
            needed,
            limit,
        });
    }
    Ok(())
}

/// Measures the floor: pins this thread, starts the sink (`exe`, normally
/// this very binary, with [`SINK_COMMAND`]), accepts its connections, runs
/// the passes, closes the connections and checks the sink's count.
pub fn measure(plan: &FloorPlan, exe: &Path) -> Result<FloorFigures, FloorError> {
    let targets = Targets::from_catalogue()?;
    if let Some(cpu) = plan.writer_cpu {
        // Before the sink's reader thread exists; it idles until the end.
        system::pin_current_thread(cpu)?;
    }
    let limit = system::raise_file_limit()?;
    check_file_limit(plan.connections, limit.after)?;
    let listener = listen_on_loopback()?;
    let port = listener
        .local_addr()
        .map_err(io_error("reading the listener's port"))?
        .port();
    let setup_start = Instant::now();
    let mut sink = Sink::spawn(exe, port, plan.connections, plan.sink_cpu)?;
    let mut connections = accept_all(&listener, plan.connections, &mut sink.child, ACCEPT_TIMEOUT)?;
    let setup = setup_start.elapsed();
    drop(listener);
    let frame = vec![b'x'; plan.frame_bytes];
    let mut written = 0;
    let single = run_pass(&mut connections, &frame, 1, plan, &mut written)?;
    let batched = match plan.batch {
        0 => None,
        batch => Some(run_pass(
            &mut connections,
            &frame,
            batch,
            plan,
            &mut written,
        )?),
    };
    // Closing sends every connection's FIN after its data: the sink reads
    // to the end of each and then reports.
    drop(connections);
    let report = sink.finish(SINK_REPORT_TIMEOUT)?;
    check_received(written, plan.connections, report)?;
    let bounds = Bounds::new(&targets, single.cpu_us_per_write.median);
    Ok(FloorFigures {
        connections: plan.connections,
        frame_bytes: plan.frame_bytes,
        warmup_rounds: plan.warmup_rounds,
        rounds: plan.rounds,
        pause_ms: plan.pause.as_secs_f64() * 1e3,
        setup_s: setup.as_secs_f64(),
        writer_cpu: plan.writer_cpu,
        sink_cpu: plan.sink_cpu,
        bytes_written: written,
        bytes_received: report.bytes,
        single,
        batched,
        targets,
        bounds,
    })
}

/// A listener on 127.0.0.1, on a port the kernel picks, with a queue of
/// [`LISTEN_BACKLOG`] connections not yet accepted. The sink connects far
/// faster than the writer's polling accepts at times; with std's queue of
/// 128, a few of its SYNs overflowed it and were retried a second later
/// each, which made setting up 19,000 connections take 10 to 17 s here
/// (about 4 s without).
pub fn listen_on_loopback() -> Result<TcpListener, FloorError> {
    let socket =
        tokio::net::TcpSocket::new_v4().map_err(io_error("opening the listening socket"))?;
    socket
        .bind((Ipv4Addr::LOCALHOST, 0).into())
        .map_err(io_error("binding to 127.0.0.1"))?;
    // std's listener cannot be given a queue length and tokio's listens
    // only within a runtime; this one lives just long enough for that, and
    // `into_std` takes the socket back out of it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(io_error("building a runtime to listen"))?;
    let _entered = runtime.enter();
    socket
        .listen(LISTEN_BACKLOG)
        .and_then(tokio::net::TcpListener::into_std)
        .map_err(io_error("listening"))
}

/// Accepts `count` connections on `listener` within `timeout`, failing
/// early if `sink`, which makes them, exits. Each is made blocking, with
/// `TCP_NODELAY` and [`WRITE_TIMEOUT`].
pub fn accept_all(
    listener: &TcpListener,
    count: usize,
    sink: &mut Child,
    timeout: Duration,
) -> Result<Vec<TcpStream>, FloorError> {
    // Non-blocking, so that a sink that died or hangs is noticed.
    listener
        .set_nonblocking(true)
        .map_err(io_error("making the listener non-blocking"))?;
    let deadline = Instant::now() + timeout;
    let mut connections = Vec::with_capacity(count);
    while connections.len() < count {
        match listener.accept() {
            Ok((stream, _)) => connections.push(prepare(stream)?),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if let Some(status) = sink.try_wait().map_err(io_error("checking the sink"))? {
                    return Err(FloorError::SinkExited(format!(
                        "{status}, after {} of {count} connections",
                        connections.len()
                    )));
                }
                if Instant::now() >= deadline {
                    return Err(FloorError::Timeout {
                        what: format!(
                            "waiting for the sink's connections ({} of {count})",
                            connections.len()
                        ),
                        after: timeout,
                    });
                }
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(io_error("accepting")(err)),
        }
    }
    Ok(connections)
}

/// Sets up an accepted connection for the writes.
fn prepare(stream: TcpStream) -> Result<TcpStream, FloorError> {
    // Linux's accept does not pass the listener's O_NONBLOCK on, but say it.
    stream
        .set_nonblocking(false)
        .map_err(io_error("making a connection blocking"))?;
    // As the server: each write goes out at once.
    stream
        .set_nodelay(true)
        .map_err(io_error("setting TCP_NODELAY"))?;
    stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(io_error("setting the write timeout"))?;
    Ok(stream)
}

/// Runs the warm-up and measured rounds of one pass, adding the bytes
/// written to `written`.
fn run_pass(
    connections: &mut [TcpStream],
    frame: &[u8],
    frames_per_write: usize,
    plan: &FloorPlan,
    written: &mut u64,
) -> Result<PassFigures, FloorError> {
    let template = vec![IoSlice::new(frame); frames_per_write];
    let mut slices = Vec::with_capacity(frames_per_write);
    let mut rounds = Vec::with_capacity(plan.rounds as usize);
    let mut usage_start = None;
    for round in 0..plan.warmup_rounds + plan.rounds {
        if round == plan.warmup_rounds {
            usage_start = Some(thread_usage()?);
        }
        let cpu_start = thread_cpu()?;
        let start = Instant::now();
        for (index, connection) in connections.iter_mut().enumerate() {
            let result = if frames_per_write == 1 {
                connection.write_all(frame)
            } else {
                slices.clear();
                slices.extend_from_slice(&template);
                write_all_vectored(connection, &mut slices)
            };
            result.map_err(io_error(format!(
                "writing to connection {index} in round {round} (a timeout means the sink stopped reading)"
            )))?;
            *written += (frame.len() * frames_per_write) as u64;
        }
        let wall = start.elapsed();
        let cpu = thread_cpu()?.saturating_sub(cpu_start);
        if round >= plan.warmup_rounds {
            rounds.push(Round { wall, cpu });
        }
        std::thread::sleep(plan.pause);
    }
    let kernel_share = match usage_start {
        Some(start) => thread_usage()?.kernel_share_since(start),
        None => 0.0,
    };
    PassFigures::from_rounds(&rounds, connections.len(), frames_per_write, kernel_share).ok_or(
        FloorError::Io {
            what: "measuring".into(),
            source: io::Error::other("no measured round or no connection"),
        },
    )
}

/// Writes every byte of `slices` with as few `writev` calls as the kernel
/// allows (one, unless the socket buffer fills).
pub fn write_all_vectored(out: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The calling thread's CPU time, exact to the nanosecond
/// (`CLOCK_THREAD_CPUTIME_ID` brings the scheduler's count up to date,
/// which `getrusage` does not between ticks).
fn thread_cpu() -> Result<Duration, FloorError> {
    let time = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_err(|errno| io_error("reading the thread's CPU time")(errno.into()))?;
    let secs = u64::try_from(time.tv_sec()).unwrap_or(0);
    let nanos = u32::try_from(time.tv_nsec()).unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

/// The calling thread's user and kernel time, as `getrusage` splits them
/// (by sampling at each tick, so only as a share).
#[derive(Debug, Clone, Copy)]
struct ThreadUsage {
    user: Duration,
    system: Duration,
}

impl ThreadUsage {
    /// The kernel's share of the time used since `start`.
    fn kernel_share_since(self, start: Self) -> f64 {
        let user = self.user.saturating_sub(start.user).as_secs_f64();
        let system = self.system.saturating_sub(start.system).as_secs_f64();
        if user + system > 0.0 {
            system / (user + system)
        } else {
            0.0
        }
    }
}

fn thread_usage() -> Result<ThreadUsage, FloorError> {
    let usage = getrusage(UsageWho::RUSAGE_THREAD)
        .map_err(|errno| io_error("reading the thread's resource usage")(errno.into()))?;
    let duration = |time: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(time.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(time.tv_usec()).unwrap_or(0))
    };
    Ok(ThreadUsage {
        user: duration(usage.user_time()),
        system: duration(usage.system_time()),
    })
}

/// What the sink read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkReport {
    /// Connections it read to the end.
    pub connections: usize,
    /// Bytes it read from all of them.
    pub bytes: u64,
}

impl SinkReport {
    /// The line the sink prints on its stdout.
    pub fn line(&self) -> String {
        format!(
            "{SINK_REPORT_PREFIX} connections={} bytes={}",
            self.connections, self.bytes
        )
    }

    /// Reads [`Self::line`] back.
    pub fn parse(line: &str) -> Result<Self, FloorError> {
        let bad = || FloorError::BadReport(line.to_owned());
        let mut fields = line
            .trim_end()
            .strip_prefix(SINK_REPORT_PREFIX)
            .ok_or_else(bad)?
            .split_whitespace();
        let mut field = |name: &str| -> Option<u64> {
            fields
                .next()?
                .strip_prefix(name)?
                .strip_prefix('=')?
                .parse()
                .ok()
        };
        let connections = field("connections").ok_or_else(bad)?;
        let bytes = field("bytes").ok_or_else(bad)?;
        if fields.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            connections: usize::try_from(connections).map_err(|_| bad())?,
            bytes,
        })
    }
}

/// Fails unless the sink read every byte written, on every connection.
pub fn check_received(
    written: u64,
    connections: usize,
    report: SinkReport,
) -> Result<(), FloorError> {
    if report.bytes != written || report.connections != connections {
        return Err(FloorError::Lost {
            written,
            connections,
            received: report.bytes,
            received_connections: report.connections,
        });
    }
    Ok(())
}

/// The sink process, killed when dropped unless it has exited.
struct Sink {
    child: Child,
    /// Its report line, read by a thread of its own so that waiting for it
    /// can time out.
    report: mpsc::Receiver<io::Result<String>>,
}

impl Sink {
    fn spawn(
        exe: &Path,
        port: u16,
        connections: usize,
        cpu: Option<usize>,
    ) -> Result<Self, FloorError> {
        let mut command = Command::new(exe);
        command
            .args([SINK_COMMAND, "--port", &port.to_string()])
            .args(["--connections", &connections.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut child = system::spawn_pinned(&mut command, cpu)?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io_error("reading the sink's output")(io::Error::other(
                "no pipe",
            )));
        };
        let (sender, report) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            // The receiver is gone only when the writer gave up already.
            let _ = sender.send(read);
        });
        Ok(Self { child, report })
    }

    /// Waits for the report and the exit, within `timeout`.
    fn finish(mut self, timeout: Duration) -> Result<SinkReport, FloorError> {
        let deadline = Instant::now() + timeout;
        let timed_out = || FloorError::Timeout {
            what: "waiting for the sink's count".into(),
            after: timeout,
        };
        let line = match self.report.recv_timeout(timeout) {
            Ok(read) => read.map_err(io_error("reading the sink's output"))?,
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(timed_out()),
            Err(mpsc::RecvTimeoutError::Disconnected) => String::new(),
        };
        let status = wait_until(&mut self.child, deadline)?.ok_or_else(timed_out)?;
        if line.is_empty() || !status.success() {
            return Err(FloorError::SinkExited(status.to_string()));
        }
        SinkReport::parse(&line)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Waits for `child` to exit until `deadline`; `None` if it has not.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>, FloorError> {
    loop {
        if let Some(status) = child.try_wait().map_err(io_error("waiting for the sink"))? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(EXIT_POLL);
    }
}

/// The sink (`chat-bench write-floor-sink`): opens `connections`
/// connections to `port` on loopback, reads each to its end, and returns
/// what it read. One current-thread Tokio runtime, as the generator: its
/// reads and wake-ups are what a client's side costs.
pub fn run_sink(port: u16, connections: usize) -> Result<SinkReport, FloorError> {
    system::raise_file_limit()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_error("building the sink's runtime"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let buffer = Rc::new(RefCell::new(vec![0u8; SINK_READ_BUFFER]));
        let mut readers = Vec::with_capacity(connections);
        for index in 0..connections {
            let connect = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port));
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                .await
                .map_err(|_| FloorError::Timeout {
                    what: format!("connecting (connection {index})"),
                    after: CONNECT_TIMEOUT,
                })?
                .map_err(io_error(format!("connecting (connection {index})")))?;
            readers.push(tokio::task::spawn_local(drain(stream, Rc::clone(&buffer))));
        }
        let mut bytes = 0;
        for (index, reader) in readers.into_iter().enumerate() {
            let read = reader
                .await
                .map_err(|err| io_error("a reader task")(io::Error::other(err)))?;
            bytes += read.map_err(io_error(format!("reading connection {index}")))?;
        }
        Ok(SinkReport { connections, bytes })
    })
}

/// Reads `stream` to its end into the shared `buffer`; the bytes read.
async fn drain(stream: tokio::net::TcpStream, buffer: Rc<RefCell<Vec<u8>>>) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        stream.readable().await?;
        // The buffer is borrowed for the read only, never across an await.
        let read = stream.try_read(&mut buffer.borrow_mut()[..]);
        match read {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => return Err(err),
        }
    }
}

/// The lines `write-floor` prints.
pub fn lines(figures: &FloorFigures) -> Vec<String> {
    let single = &figures.single;
    let targets = &figures.targets;
    let bounds = &figures.bounds;
    let cpu = |cpu: Option<usize>| cpu.map_or("unpinned".to_owned(), |cpu| format!("on CPU {cpu}"));
    let range = |spread: &Spread, digits: usize| {
        format!(
            "{:.digits$} [{:.digits$}–{:.digits$}]",
            spread.median, spread.min, spread.max
        )
    };
    let mut lines = vec![format!(
        "write-floor: {} loopback TCP connections (set up in {:.1} s), frames of {} B, {} measured rounds per pass after {} warm-up, {:.0} ms apart; writer {}, sink {}; median [min–max] over the rounds",
        figures.connections,
        figures.setup_s,
        figures.frame_bytes,
        figures.rounds,
        figures.warmup_rounds,
        figures.pause_ms,
        cpu(figures.writer_cpu),
        cpu(figures.sink_cpu),
    )];
    for pass in std::iter::once(single).chain(&figures.batched) {
        let what = match pass.frames_per_write {
            1 => "write of 1 frame".to_owned(),
            frames => format!("writev of {frames} frames"),
        };
        let versus = match pass.frames_per_write {
            1 => String::new(),
            _ => format!(
                ", {:.2} × a 1-frame write, {:.2} µs per frame",
                pass.cpu_us_per_write.median / single.cpu_us_per_write.median,
                pass.cpu_us_per_frame
            ),
        };
        lines.push(format!(
            "{what}: writer CPU {} µs per call ({:.0} % in the kernel){versus}",
            range(&pass.cpu_us_per_write, 2),
            pass.kernel_share * 100.0
        ));
        lines.push(format!(
            "{what}: a round of {} calls takes {} ms; {:.2} µs per call",
            figures.connections,
            range(&pass.round_ms, 1),
            pass.wall_us_per_write
        ));
    }
    lines.push(format!(
        "sink read {} bytes, every byte written (0 lost)",
        figures.bytes_received
    ));
    lines.push(format!(
        "big-room floor: one message to {} members needs at least {:.0} ms of the server's core ({} × {:.2} µs), against p99 ≤ {:.0} ms",
        targets.big_room_members,
        bounds.big_room_fan_out_ms,
        targets.big_room_members,
        single.cpu_us_per_write.median,
        targets.big_room_p99_ms
    ));
    lines.push(format!(
        "many-rooms floor: {:.0} deliveries/s, one write each, need at least {:.2} core-seconds per second ({}); p99 goal ≤ {:.0} ms",
        targets.many_rooms_deliveries_per_s,
        bounds.many_rooms_core_load,
        if bounds.many_rooms_core_load < 1.0 {
            "below 1: one core can keep up"
        } else {
            "1 or more: one core cannot keep up"
        },
        targets.many_rooms_p99_ms
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_are_the_scenarios_and_the_defaults_match_big_room() {
        let targets = Targets::from_catalogue().expect("targets");
        assert_eq!(targets.big_room_members, 19_000);
        assert_eq!(targets.big_room_p99_ms, 60.0);
        assert_eq!(targets.many_rooms_deliveries_per_s, 190_000.0);
        assert_eq!(targets.many_rooms_p99_ms, 20.0);
        // A round is one big-room message, and rounds come at its rate.
        assert_eq!(DEFAULT_CONNECTIONS, targets.big_room_members);
        let pause_s = DEFAULT_PAUSE_MS as f64 / 1e3;
        assert!((pause_s * targets.big_room_messages_per_s - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_bounds_scale_with_the_cost_of_a_write() {
        assert_eq!(fan_out_ms(19_000, 8.0), 152.0);
        assert_eq!(fan_out_ms(1_000, 0.5), 0.5);
        assert!((core_load(190_000.0, 8.0) - 1.52).abs() < 1e-12);
        assert!(core_load(190_000.0, 5.0) < 1.0);
        let targets = Targets::from_catalogue().expect("targets");
        let bounds = Bounds::new(&targets, 4.0);
        assert_eq!(bounds.big_room_fan_out_ms, 76.0);
        assert!((bounds.many_rooms_core_load - 0.76).abs() < 1e-12);
        // The cost per write at which big-room's fan-out alone fills its
        // p99 goal: 60 ms / 19,000.
        let at_goal = targets.big_room_p99_ms * 1e3 / targets.big_room_members as f64;
        let bounds = Bounds::new(&targets, at_goal);
        assert!((bounds.big_room_fan_out_ms - targets.big_room_p99_ms).abs() < 1e-9);
    }

    #[test]
    fn pass_figures_are_per_write_and_per_frame() {
        let ms = Duration::from_millis;
        let rounds = [
            Round {
                wall: ms(30),
                cpu: ms(20),
            },
            Round {
                wall: ms(10),
                cpu: ms(8),
            },
            Round {
                wall: ms(20),
                cpu: ms(10),
            },
        ];
        let figures = PassFigures::from_rounds(&rounds, 1_000, 4, 0.9).expect("figures");
        assert_eq!(figures.writes, 3_000);
        // The median round's 10 ms over 1,000 writes, and the range.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let cpu = figures.cpu_us_per_write;
        assert!(close(cpu.median, 10.0) && close(cpu.min, 8.0) && close(cpu.max, 20.0));
        assert!(close(figures.cpu_us_per_frame, 2.5));
        let wall = figures.round_ms;
        assert!(close(wall.median, 20.0) && close(wall.min, 10.0) && close(wall.max, 30.0));
        assert!(close(figures.wall_us_per_write, 20.0));
        assert_eq!(figures.kernel_share, 0.9);
        assert_eq!(PassFigures::from_rounds(&[], 1_000, 1, 0.0), None);
        assert_eq!(PassFigures::from_rounds(&rounds, 0, 1, 0.0), None);
    }

    #[test]
    fn the_default_frame_is_a_message_frame_with_its_header() {
        assert_eq!(server_frame_bytes(0), 2);
        assert_eq!(server_frame_bytes(125), 127);
        assert_eq!(server_frame_bytes(126), 130);
        assert_eq!(server_frame_bytes(65_535), 65_539);
        assert_eq!(server_frame_bytes(65_536), 65_546);
        let json = crate::wire::typical_message_frame().expect("frame");
        assert!(json.len() > crate::wire::TEXT_BYTES, "{json}");
        assert_eq!(server_frame_bytes(json.len()), json.len() + 4);
    }

    #[test]
    fn the_sink_report_round_trips_and_rejects_garbage() {
        let report = SinkReport {
            connections: 19_000,
            bytes: 123_456_789,
        };
        assert_eq!(
            SinkReport::parse(&(report.line() + "\n")).expect("parse"),
            report
        );
        for bad in [
            "",
            "connections=1 bytes=2",
            "write-floor-sink: connections=1",
            "write-floor-sink: bytes=2 connections=1",
            "write-floor-sink: connections=1 bytes=x",
            "write-floor-sink: connections=1 bytes=2 more=3",
        ] {
            assert!(SinkReport::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_count_that_differs_is_a_loss() {
        let report = |connections, bytes| SinkReport { connections, bytes };
        check_received(1_000, 10, report(10, 1_000)).expect("all received");
        for wrong in [report(10, 999), report(10, 1_001), report(9, 1_000)] {
            let err = check_received(1_000, 10, wrong).expect_err("a loss");
            assert!(matches!(err, FloorError::Lost { .. }), "{err}");
        }
    }

    #[test]
    fn the_file_limit_must_leave_room() {
        check_file_limit(19_000, 20_000).expect("big-room fits");
        check_file_limit(19_900, 20_000).expect("idle's count fits");
        assert!(check_file_limit(19_901, 20_000).is_err());
    }

    /// Takes at most `max` bytes per call, as a full socket buffer would.
    struct Trickle {
        out: Vec<u8>,
        max: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let mut taken = 0;
            for buf in bufs {
                let n = buf.len().min(self.max - taken);
                self.out.extend_from_slice(&buf[..n]);
                taken += n;
                if taken == self.max {
                    break;
                }
            }
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_writes_finish_after_partial_writes() {
        let frames: [&[u8]; 3] = [b"abcde", b"fgh", b"ijklmnop"];
        let mut slices: Vec<IoSlice> = frames.iter().map(|f| IoSlice::new(f)).collect();
        let mut out = Trickle {
            out: Vec::new(),
            max: 4,
            calls: 0,
        };
        write_all_vectored(&mut out, &mut slices).expect("write");
        assert_eq!(out.out, b"abcdefghijklmnop");
        assert_eq!(out.calls, 4);
        // A writer that takes everything needs one call.
        let mut slices: Vec<IoSlice> = frames.iter().map(|f| IoSlice::new(f)).collect();
        let mut out = Trickle {
            out: Vec::new(),
            max: usize::MAX,
            calls: 0,
        };
        write_all_vectored(&mut out, &mut slices).expect("write");
        assert_eq!(out.calls, 1);
    }

    #[test]
    fn accepting_stops_when_the_sink_exits_or_time_runs_out() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        // A "sink" that exits at once, having connected nothing.
        let mut gone = Command::new("true").spawn().expect("spawn true");
        let started = Instant::now();
        let err = accept_all(&listener, 3, &mut gone, Duration::from_secs(30))
            .expect_err("the sink is gone");
        assert!(matches!(err, FloorError::SinkExited(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // A "sink" that stays but connects nothing.
        let mut idle = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let timeout = Duration::from_millis(100);
        let result = accept_all(&listener, 3, &mut idle, timeout);
        let _ = idle.kill();
        let _ = idle.wait();
        let err = result.expect_err("nothing connects");
        assert!(matches!(err, FloorError::Timeout { .. }), "{err}");
        // One that connects is accepted, blocking and with TCP_NODELAY.
        let port = listener.local_addr().expect("addr").port();
        let _client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        let mut idle = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let result = accept_all(&listener, 1, &mut idle, Duration::from_secs(10));
        let _ = idle.kill();
        let _ = idle.wait();
        let accepted = result.expect("accepted");
        assert_eq!(accepted.len(), 1);
        assert!(accepted[0].nodelay().expect("nodelay"));
        assert_eq!(
            accepted[0].write_timeout().expect("timeout"),
            Some(WRITE_TIMEOUT)
        );
    }

    #[test]
    fn the_listener_is_on_loopback_and_accepts() {
        let listener = listen_on_loopback().expect("listen");
        let address = listener.local_addr().expect("address");
        assert_eq!(address.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(address.port(), 0);
        // More connections than std's queue of 128 wait at once.
        let clients: Vec<TcpStream> = (0..300)
            .map(|_| TcpStream::connect(address).expect("connect"))
            .collect();
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let result = accept_all(
            &listener,
            clients.len(),
            &mut sleeper,
            Duration::from_secs(20),
        );
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert_eq!(result.expect("accept").len(), clients.len());
    }

    #[test]
    fn thread_cpu_time_grows_with_work() {
        let before = thread_cpu().expect("cpu");
        let mut sum = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(20) {
            sum = std::hint::black_box(sum.wrapping_add(1));
        }
        let spent = thread_cpu().expect("cpu").saturating_sub(before);
        // Busy for 20 ms of wall time; at least some of it on the CPU.
        assert!(spent > Duration::from_millis(1), "{spent:?}");
        let usage = thread_usage().expect("usage");
        assert!(usage.user + usage.system > Duration::ZERO);
    }
}
