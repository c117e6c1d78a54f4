//! The command line: one clap struct; options also read `CHAT_BENCH_*`
//! environment variables.

use crate::floor;
use crate::scenarios::context::ClusterDb;
use crate::scenarios::NAMES;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Load benchmark of the chat server: real WebSocket clients (protocol v2)
/// against a `chat-server`, with latency, throughput, CPU and memory
/// figures, a JSON report, an SVG plot and a markdown results table.
#[derive(Debug, Parser)]
#[command(name = "chat-bench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every scenario and write the JSON report, the SVG plot and the
    /// markdown table.
    All(RunArgs),
    /// Run the named scenarios only (same outputs).
    Run {
        /// Scenarios to run, in the order given.
        #[arg(required = true, value_parser = clap::builder::PossibleValuesParser::new(NAMES))]
        scenarios: Vec<String>,
        /// How to run them.
        #[command(flatten)]
        args: RunArgs,
    },
    /// List the scenarios with their sizes and goals at a scale.
    List {
        /// Size factor, as for `all`.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Measure what reading one message frame costs the generator: the
    /// fast path against a full serde decode.
    DecodeCost,
    /// Measure the kernel's floor: what bare loopback TCP writes cost the
    /// server's core, with no chat server (rounds of one write to each of N
    /// connections read by a sink on the generator's CPU, then the same
    /// with several frames per writev).
    WriteFloor(FloorArgs),
    /// The reading end of write-floor, which starts it.
    #[command(name = floor::SINK_COMMAND, hide = true)]
    WriteFloorSink {
        /// The writer's port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Connections to open and read to their end.
        #[arg(long)]
        connections: usize,
    },
}

/// How to measure the kernel's floor (`write-floor`).
#[derive(Debug, Clone, Args)]
pub struct FloorArgs {
    /// Loopback connections, each written once per round (default:
    /// big-room's members; each process holds one descriptor per
    /// connection).
    #[arg(long, default_value_t = floor::DEFAULT_CONNECTIONS, value_parser = parse_connections)]
    pub connections: usize,

    /// Bytes of one frame (default: a typical message frame as the server
    /// writes it, WebSocket header included).
    #[arg(long, value_parser = parse_frame_bytes)]
    pub frame_bytes: Option<usize>,

    /// Frames per writev in the second pass (0: no second pass).
    #[arg(long, default_value_t = floor::DEFAULT_BATCH, value_parser = parse_batch)]
    pub batch: usize,

    /// Warm-up rounds per pass, not measured.
    #[arg(long, default_value_t = floor::DEFAULT_WARMUP_ROUNDS)]
    pub warmup: u32,

    /// Measured rounds per pass.
    #[arg(long, default_value_t = floor::DEFAULT_ROUNDS, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Pause after each round, in milliseconds (default: big-room's 5
    /// messages a second), for the sink to drain.
    #[arg(long, default_value_t = floor::DEFAULT_PAUSE_MS, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub pause_ms: u64,

    /// Where the writer (as the server) and the sink (as the load
    /// generator) run.
    #[command(flatten)]
    pub pinning: Pinning,

    /// Also write the figures to this JSON file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// How to run scenarios.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Directory for `results.json`, `latency.svg` and `results.md`.
    #[arg(long, env = "CHAT_BENCH_OUT", default_value = "docs/bench")]
    pub out: PathBuf,

    /// A markdown file whose generated block (between the chat-bench
    /// markers) is replaced by the results table, e.g. docs/BENCHMARKS.md.
    #[arg(long, env = "CHAT_BENCH_DOC")]
    pub doc: Option<PathBuf>,

    /// The chat-server binary to start (one fresh server per scenario,
    /// per run for idle and join-storm).
    #[arg(
        long,
        env = "CHAT_BENCH_SERVER",
        default_value = "target/release/chat-server"
    )]
    pub server: PathBuf,

    /// An extra flag for the started servers, after the benchmark's own
    /// (repeatable; `--server-arg=--trace`).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,

    /// Target a running server instead (`ws://host:port/ws`); the scenarios
    /// needing server flags (fanout-max-memory, big-room) or a cluster of
    /// their own (fanout-cluster, fanout-cluster-1m) then fail, saying so.
    #[arg(long, env = "CHAT_BENCH_URL")]
    pub url: Option<String>,

    /// The pid of the server at --url, for CPU and memory figures.
    #[arg(long, requires = "url")]
    pub server_pid: Option<u32>,

    /// The bot tokens file the clients sign in with (`username token`
    /// lines). Written fresh when missing (and then kept); read when it
    /// exists. Servers the benchmark starts get it as `--bot-tokens`; a
    /// server at --url must have been started with the same file. Default:
    /// a fresh temporary file, removed at exit.
    #[arg(long, env = "CHAT_BENCH_BOT_TOKENS")]
    pub bot_tokens: Option<PathBuf>,

    /// Diagnosis: every client signs in as the same bot account, to tell
    /// what the server keeps per account (against the usual run, one
    /// account per client) from what it keeps per connection.
    #[arg(long)]
    pub one_account: bool,

    /// Size factor for connections, rooms and messages (1 = the issue's
    /// sizes). Below 1, paced runs are shortened in proportion too
    /// (at least 1 s) unless --duration is given.
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    pub scale: f64,

    /// Measured runs per scenario.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,

    /// Warm-up runs per scenario, before the measured ones.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,

    /// Length of each paced run, in seconds (default 5 at full scale).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<f64>,

    /// Where the instances of the cluster scenarios keep their history:
    /// `postgres`, one PostgreSQL server the benchmark starts and gives to
    /// every instance as `--db` (cluster mode keeps its history there, and
    /// requires it); `none`, no `--db`, for a `chat-server` of the earlier
    /// design (history in the broker's streams, which refused one).
    #[arg(long, value_enum, env = "CHAT_BENCH_CLUSTER_DB", default_value_t = ClusterDb::Postgres)]
    pub cluster_db: ClusterDb,

    /// Where started servers and the load generator run.
    #[command(flatten)]
    pub pinning: Pinning,
}

/// The CPUs the server's side and the generator's side are pinned to (the
/// method: one core each).
#[derive(Debug, Clone, clap::Args)]
pub struct Pinning {
    /// CPU to pin the server's side to (started servers, or write-floor's
    /// writer).
    #[arg(long, default_value_t = 0)]
    pub server_cpu: usize,

    /// CPU to pin the load generator's side to (or write-floor's sink).
    #[arg(long, default_value_t = 1)]
    pub generator_cpu: usize,

    /// Do not pin anything to CPUs.
    #[arg(long)]
    pub no_pin: bool,
}

fn parse_scale(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(scale) if scale > 0.0 && scale <= 1.0 => Ok(scale),
        _ => Err("a number above 0 and at most 1 (the idle scenario already uses the whole open-file limit at 1)".into()),
    }
}

fn parse_connections(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err("a number of connections, at least 1".into()),
    }
}

fn parse_frame_bytes(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(bytes) if (1..=floor::MAX_FRAME_BYTES).contains(&bytes) => Ok(bytes),
        _ => Err(format!("bytes, from 1 to {}", floor::MAX_FRAME_BYTES)),
    }
}

fn parse_batch(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(frames) if frames <= floor::MAX_BATCH => Ok(frames),
        _ => Err(format!(
            "frames per writev, from 0 (no such pass) to {} (IOV_MAX)",
            floor::MAX_BATCH
        )),
    }
}

fn parse_duration(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(secs) if (0.1..=3600.0).contains(&secs) => Ok(secs),
        _ => Err("seconds, from 0.1 to 3600".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_has_defaults_and_run_checks_names() {
        let cli = Cli::try_parse_from(["chat-bench", "all"]).expect("parse");
        let Command::All(args) = cli.command else {
            panic!("all");
        };
        assert_eq!((args.runs, args.warmup, args.scale), (5, 1, 1.0));
        assert_eq!(args.server, PathBuf::from("target/release/chat-server"));
        assert_eq!(args.cluster_db, ClusterDb::Postgres);
        assert!(Cli::try_parse_from(["chat-bench", "run", "nonsense"]).is_err());
        let cli = Cli::try_parse_from([
            "chat-bench",
            "run",
            "idle",
            "fanout-max",
            "--scale",
            "0.05",
            "--server-arg",
            "--client-queue-bytes=2097152",
        ])
        .expect("parse");
        let Command::Run { scenarios, args } = cli.command else {
            panic!("run");
        };
        assert_eq!(scenarios, ["idle", "fanout-max"]);
        assert_eq!(args.server_args, ["--client-queue-bytes=2097152"]);
        let cli =
            Cli::try_parse_from(["chat-bench", "all", "--cluster-db", "none"]).expect("parse");
        let Command::All(args) = cli.command else {
            panic!("all");
        };
        assert_eq!(args.cluster_db, ClusterDb::None);
        assert!(Cli::try_parse_from(["chat-bench", "all", "--cluster-db", "redis"]).is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            ["--scale", "0"],
            ["--scale", "2"],
            ["--runs", "0"],
            ["--duration", "0"],
        ] {
            let mut argv = vec!["chat-bench", "all"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
        assert!(Cli::try_parse_from(["chat-bench", "all", "--server-pid", "1"]).is_err());
        for bad in [
            ["--connections", "0"],
            ["--frame-bytes", "0"],
            ["--frame-bytes", "65537"],
            ["--batch", "1025"],
            ["--rounds", "0"],
        ] {
            let mut argv = vec!["chat-bench", "write-floor"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn write_floor_has_defaults_and_its_sink_is_the_named_subcommand() {
        let cli = Cli::try_parse_from(["chat-bench", "write-floor"]).expect("parse");
        let Command::WriteFloor(args) = cli.command else {
            panic!("write-floor");
        };
        assert_eq!(args.connections, floor::DEFAULT_CONNECTIONS);
        assert_eq!(args.frame_bytes, None);
        assert_eq!(
            (args.batch, args.warmup, args.rounds, args.pause_ms),
            (
                floor::DEFAULT_BATCH,
                floor::DEFAULT_WARMUP_ROUNDS,
                floor::DEFAULT_ROUNDS,
                floor::DEFAULT_PAUSE_MS
            )
        );
        assert_eq!(
            (
                args.pinning.server_cpu,
                args.pinning.generator_cpu,
                args.pinning.no_pin
            ),
            (0, 1, false)
        );
        let cli = Cli::try_parse_from([
            "chat-bench",
            floor::SINK_COMMAND,
            "--port",
            "4242",
            "--connections",
            "7",
        ])
        .expect("parse");
        let Command::WriteFloorSink { port, connections } = cli.command else {
            panic!("the sink");
        };
        assert_eq!((port, connections), (4242, 7));
    }
}
