//! The server under test: a `chat-server` process this benchmark starts
//! (pinned to its CPU, on a free port, with a fresh temporary database), or
//! one already running at a given URL; and the `redis-server` that the
//! instances of a cluster scenario share ([`BrokerProcess`]), pinned to the
//! same CPU.
//!
//! Every flag the benchmark passes to a server it starts is built in
//! [`server_args`], from [`BENCH_SERVER_FLAGS`], the scenario's own flags
//! (the in-memory variant's `--db :memory:`, a cluster's `--cluster`) and
//! the user's `--server-arg`s; the broker's in [`broker_args`].

use crate::procfs::{self, Proc, ProcError};
pub use crate::signin::Person;
use crate::system::{self, SystemError};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Flags every server the benchmark starts gets, besides `--addr`, `--db`
/// and `--dist` (set per start, see [`server_args`]).
///
/// They lift the limits meant for untrusted clients that a benchmark would
/// otherwise hit, and change nothing else that is measured: the publishers
/// of fanout-max send as fast as accepted (rate limit), idle holds 19,900
/// connections from 127.0.0.1 (connection caps), and members of big rooms
/// may sit on the server's side of a storm for a while (join timeout).
/// Queues, message limits, ping intervals and the idle timeout stay at
/// their defaults: the generator's WebSocket client answers every ping it
/// reads (see [`crate::ws`]), as a browser does, so members that only
/// listen stay connected, and only slow-consumer's stalled members, which
/// read nothing, go unanswered.
pub const BENCH_SERVER_FLAGS: &[&str] = &[
    "--rate-limit-burst",
    "1000000",
    "--rate-limit-per-second",
    "1000000",
    "--max-connections",
    "20000",
    "--max-connections-per-ip",
    "20000",
    "--join-timeout",
    "10m",
];

/// The broker of the cluster scenarios: Debian's `redis-server`, found on
/// the `PATH` (`cargo xtask setup` installs it, as the cluster tests need it).
pub const BROKER_BINARY: &str = "redis-server";

/// The broker's flags besides its address and directory (see
/// [`broker_args`]): no snapshots and no append-only file. A benchmark's
/// broker lives for one scenario and is never restarted, so nothing it
/// would write could be read back; a production broker keeps an
/// append-only file (`appendonly yes`, docs/SCALING.md), which costs it a
/// `write` of each command batch (and an `fsync` a second with
/// `everysec`), not measured here. It logs to its standard output, which
/// goes to its log file.
pub const BROKER_ARGS: &[&str] = &["--save", "", "--appendonly", "no", "--logfile", ""];

/// What the broker logs once it accepts connections.
const BROKER_READY: &str = "Ready to accept connections";

/// The address a started server listens on: loopback, a port the kernel
/// picks (read back from the server's log).
pub const LISTEN_ADDR: &str = "127.0.0.1:0";

/// The `RUST_LOG` filter a started server runs with: its own info lines
/// (the listening address, slow-consumer disconnects), warnings of others.
pub const SERVER_LOG_FILTER: &str = "warn,chat_server=info";

/// What the server logs once it listens, followed by `http://IP:PORT`.
const LISTENING: &str = "chat server listening on http://";

/// Longest a started server may take to start listening.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a server may take to exit after SIGTERM before it is killed
/// (its own shutdown grace is 10 s).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// How often the log and the process are polled while starting and stopping.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Lines of the server's log shown when it fails.
const LOG_TAIL_LINES: usize = 20;

/// Why the server could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The binary does not exist.
    #[error("no server binary at {0} (build it with `cargo build --release -p backend`, or pass --server)")]
    NoBinary(PathBuf),
    /// A temporary directory could not be made, or the log read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The process could not be spawned.
    #[error(transparent)]
    Spawn(#[from] SystemError),
    /// No `redis-server` to start as the broker of a cluster scenario.
    #[error("no {BROKER_BINARY} on the PATH for the cluster scenarios (cargo xtask setup installs it: Debian's redis-server)")]
    NoBroker,
    /// The PostgreSQL server of a `-postgres` variant could not be set up
    /// or asked (see [`crate::database`]).
    #[error("PostgreSQL: {0}")]
    Database(String),
    /// The server, the broker or the database exited or was not ready in
    /// time.
    #[error("the {what} did not start: {reason}\n--- its log (last lines) ---\n{log}")]
    Startup {
        /// Which process: `server`, `broker`, `database`.
        what: &'static str,
        /// What happened.
        reason: String,
        /// The end of its log.
        log: String,
    },
    /// Its `/proc` files could not be read.
    #[error(transparent)]
    Proc(#[from] ProcError),
}

/// How to start servers.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The `chat-server` binary.
    pub binary: PathBuf,
    /// The CPU to pin it to, if any.
    pub cpu: Option<usize>,
    /// Extra flags from the command line (`--server-arg`), passed last.
    pub extra_args: Vec<String>,
    /// The bot tokens file every server gets as `--bot-tokens` (see
    /// [`crate::bots`]).
    pub bot_tokens: Option<PathBuf>,
}

/// The full argument list of a started server; see [`BENCH_SERVER_FLAGS`].
///
/// `scenario_args` and `extra_args` may set `--db` themselves (the
/// in-memory variant passes `--db :memory:`); the temporary database is
/// left out then, since the server refuses a flag given twice, and when
/// they set `--cluster` (a cluster scenario's instances).
pub fn server_args(dir: &Path, scenario_args: &[String], extra_args: &[String]) -> Vec<String> {
    let sets = |flag: &str| {
        scenario_args
            .iter()
            .chain(extra_args)
            .any(|arg| arg == flag || arg.starts_with(&format!("{flag}=")))
    };
    let mut args: Vec<String> = Vec::new();
    if !sets("--addr") {
        args.extend(["--addr".into(), LISTEN_ADDR.into()]);
    }
    // A cluster instance keeps its history in the shared PostgreSQL whose
    // `--db` the scenario gives (or, with `--cluster-db none`, a server of
    // the earlier design, in the broker): never in a file of its own.
    if !sets("--db") && !sets("--cluster") {
        args.extend(["--db".into(), path_arg(&dir.join("chat.db"))]);
    }
    if !sets("--dist") {
        // Only /ws is used: no web client to serve.
        args.extend(["--dist".into(), path_arg(&dir.join("no-dist"))]);
    }
    // Flag and value pairs; one the scenario or the user sets is theirs.
    for pair in BENCH_SERVER_FLAGS.chunks(2) {
        if !sets(pair[0]) {
            args.extend(pair.iter().map(|part| part.to_string()));
        }
    }
    args.extend(scenario_args.iter().cloned());
    args.extend(extra_args.iter().cloned());
    args
}

/// Makes `person`'s account in the database of a server about to start
/// with `args`, in `dir`: `chat-server admin create-user`, the password on
/// its standard input.
fn create_person(
    binary: &Path,
    dir: &Path,
    args: &[String],
    person: &Person,
) -> Result<(), ServerError> {
    use std::io::Write as _;
    let db = args
        .iter()
        .position(|arg| arg == "--db")
        .and_then(|at| args.get(at + 1))
        .ok_or_else(|| ServerError::Startup {
            what: "server",
            reason: "a person's account needs --db".into(),
            log: String::new(),
        })?;
    let mut child = Command::new(binary)
        .args(["admin", "--db", db, "create-user", "--username"])
        .args([&person.username, "--display-name", &person.username])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{}", person.password)?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(ServerError::Startup {
            what: "server",
            reason: format!("chat-server admin create-user {} failed", person.username),
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(())
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A process this benchmark started (a server or a broker), writing its
/// output to a log in a temporary directory of its own, which is also its
/// working directory. Stopped (SIGTERM, then SIGKILL) when
/// [`Self::terminate`] is called or it is dropped.
pub(crate) struct Supervised {
    /// What it is, in messages and its log's name: `server`, `broker`,
    /// `database`.
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
    /// What asks it to stop (SIGTERM, but SIGINT for PostgreSQL, whose
    /// SIGTERM waits for its clients to leave).
    stop_signal: Signal,
    /// Holds its files and its log; deleted after it stopped.
    _dir: tempfile::TempDir,
}

/// A fresh temporary directory for a started process.
pub(crate) fn temp_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("chat-bench-").tempdir()
}

impl Supervised {
    /// Spawns `command` (`args` given later, from the directory) pinned to
    /// `cpu`, with its output in the log of a fresh temporary directory.
    fn spawn(
        name: &'static str,
        command: Command,
        args: impl FnOnce(&Path) -> Vec<String>,
        cpu: Option<usize>,
    ) -> Result<(Self, Vec<String>), ServerError> {
        Self::spawn_in(temp_dir()?, name, command, args, cpu, Signal::SIGTERM)
    }

    /// [`Self::spawn`] in `dir`, which the caller prepared, stopped by
    /// `stop_signal`.
    pub(crate) fn spawn_in(
        dir: tempfile::TempDir,
        name: &'static str,
        mut command: Command,
        args: impl FnOnce(&Path) -> Vec<String>,
        cpu: Option<usize>,
        stop_signal: Signal,
    ) -> Result<(Self, Vec<String>), ServerError> {
        let args = args(dir.path());
        let log = dir.path().join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log)?;
        command
            .args(&args)
            // Whatever it writes beside a relative path (the `--db
            // :memory:` variant's lock file) stays in its directory.
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let child = system::spawn_pinned(&mut command, cpu)?;
        let process = Self {
            name,
            child: Some(child),
            log,
            stop_signal,
            _dir: dir,
        };
        Ok((process, args))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Polls the log until `ready` finds what it looks for in it; fails if
    /// the process exits first or [`STARTUP_TIMEOUT`] passes.
    pub(crate) fn wait_ready<T>(
        &mut self,
        ready: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ServerError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let text = std::fs::read_to_string(&self.log)?;
            if let Some(found) = ready(&text) {
                return Ok(found);
            }
            if let Some(child) = &mut self.child {
                if let Some(status) = child.try_wait()? {
                    return Err(self.startup_error(format!("it exited with {status}")));
                }
            }
            if Instant::now() > deadline {
                return Err(self.startup_error(format!("not ready in {STARTUP_TIMEOUT:?}")));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn startup_error(&self, reason: String) -> ServerError {
        ServerError::Startup {
            what: self.name,
            reason,
            log: self.log_tail(),
        }
    }

    /// The last lines of its log.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// Stops it with its stop signal (a graceful shutdown), or SIGKILL
    /// after [`STOP_TIMEOUT`]. Returns a description of an unclean exit.
    pub(crate) fn terminate(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        let name = self.name;
        let pid = Pid::from_raw(i32::try_from(child.id()).ok()?);
        let _ = kill(pid, self.stop_signal);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return None,
                Ok(Some(status)) => {
                    return Some(format!(
                        "the {name} exited with {status}:\n{}",
                        self.log_tail()
                    ))
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
                Ok(None) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Some(format!(
                        "the {name} did not stop within {STOP_TIMEOUT:?}; killed"
                    ));
                }
            }
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// A running `chat-server` started by the benchmark. Stopped (SIGTERM,
/// then SIGKILL) when [`Self::stop`] is called or it is dropped.
pub struct ServerProcess {
    process: Supervised,
    /// Its WebSocket URL, `ws://127.0.0.1:PORT/ws`.
    pub url: String,
    /// Its process id.
    pub pid: u32,
    /// The arguments it was started with.
    pub args: Vec<String>,
}

impl ServerProcess {
    /// Starts a server with `scenario_args` and waits until it listens.
    pub fn start(settings: &ServerSettings, scenario_args: &[String]) -> Result<Self, ServerError> {
        Self::start_with(settings, scenario_args, None)
    }

    /// [`Self::start`], with `person`'s account made in its database first
    /// (`chat-server admin create-user`, which needs a database file or
    /// PostgreSQL: not `--db :memory:`).
    pub fn start_with(
        settings: &ServerSettings,
        scenario_args: &[String],
        person: Option<&Person>,
    ) -> Result<Self, ServerError> {
        if !settings.binary.is_file() {
            return Err(ServerError::NoBinary(settings.binary.clone()));
        }
        // Absolute, as the server runs in its temporary directory.
        let binary = std::fs::canonicalize(&settings.binary)?;
        let dir = temp_dir()?;
        let mut own = scenario_args.to_vec();
        if let Some(file) = &settings.bot_tokens {
            own.extend(["--bot-tokens".to_string(), path_arg(file)]);
        }
        let args = server_args(dir.path(), &own, &settings.extra_args);
        if let Some(person) = person {
            create_person(&binary, dir.path(), &args, person)?;
        }
        let mut command = Command::new(binary);
        command.env("RUST_LOG", SERVER_LOG_FILTER);
        let (mut process, args) = Supervised::spawn_in(
            dir,
            "server",
            command,
            |_| args,
            settings.cpu,
            Signal::SIGTERM,
        )?;
        let addr = process.wait_ready(|log| listening_addr(log).map(str::to_owned))?;
        Ok(Self {
            pid: process.pid(),
            process,
            url: format!("ws://{addr}/ws"),
            args,
        })
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// The CPUs the kernel lets it run on (to confirm the pinning).
    pub fn allowed_cpus(&self) -> Result<String, ProcError> {
        procfs::allowed_cpus(Proc::Pid(self.pid))
    }

    /// Stops it with SIGTERM (a graceful shutdown), or SIGKILL after
    /// [`STOP_TIMEOUT`]. Returns a description of an unclean exit.
    pub fn stop(mut self) -> Option<String> {
        self.process.terminate()
    }
}

/// A running `redis-server` started by the benchmark as the broker of a
/// cluster scenario (see [`BROKER_ARGS`]). Stopped like a server.
pub struct BrokerProcess {
    process: Supervised,
    /// The URL the instances are given, `redis://127.0.0.1:PORT`.
    pub url: String,
    /// Its process id.
    pub pid: u32,
    /// The arguments it was started with.
    pub args: Vec<String>,
}

impl BrokerProcess {
    /// Starts `redis-server` on a free loopback port, pinned to `cpu`, and
    /// waits until it accepts connections.
    pub fn start(cpu: Option<usize>) -> Result<Self, ServerError> {
        let port = free_port()?;
        let spawned = Supervised::spawn(
            "broker",
            Command::new(BROKER_BINARY),
            |dir| broker_args(dir, port),
            cpu,
        );
        let (mut process, args) = match spawned {
            Err(ServerError::Spawn(SystemError::Spawn { source, .. }))
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(ServerError::NoBroker);
            }
            other => other?,
        };
        process.wait_ready(|log| log.contains(BROKER_READY).then_some(()))?;
        Ok(Self {
            pid: process.pid(),
            process,
            url: format!("redis://127.0.0.1:{port}"),
            args,
        })
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Stops it; returns a description of an unclean exit.
    pub fn stop(mut self) -> Option<String> {
        self.process.terminate()
    }
}

/// The arguments of the broker: on `port` of 127.0.0.1, working in `dir`,
/// with [`BROKER_ARGS`].
pub fn broker_args(dir: &Path, port: u16) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--bind".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--dir".into(),
        path_arg(dir),
    ];
    args.extend(BROKER_ARGS.iter().map(|arg| arg.to_string()));
    args
}

/// A loopback port nobody listens on now (the broker and PostgreSQL,
/// unlike the server, cannot be told to pick one and say which).
pub(crate) fn free_port() -> Result<u16, ServerError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `IP:PORT` of the listening line in a server log, if it is there.
pub fn listening_addr(log: &str) -> Option<&str> {
    log.lines().find_map(|line| {
        let after = &line[line.find(LISTENING)? + LISTENING.len()..];
        let addr = after.split_whitespace().next()?;
        // Plain logs may quote fields after it; an address has no quote.
        addr.contains(':')
            .then(|| addr.trim_end_matches(['"', ',']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_address_is_read_from_the_log() {
        let log = "2026-11-21T06:00:00.000000Z  INFO chat_server::server: chat server listening on http://127.0.0.1:41234 db=/tmp/x/chat.db dist=/tmp/x/no-dist\n";
        assert_eq!(listening_addr(log), Some("127.0.0.1:41234"));
        assert_eq!(listening_addr("starting\n"), None);
    }

    #[test]
    fn a_started_server_gets_a_fresh_database_unless_the_scenario_sets_one() {
        let dir = Path::new("/tmp/bench-x");
        let args = server_args(dir, &[], &["--trace".into()]);
        let mut expected: Vec<String> = [
            "--addr",
            LISTEN_ADDR,
            "--db",
            "/tmp/bench-x/chat.db",
            "--dist",
            "/tmp/bench-x/no-dist",
        ]
        .map(String::from)
        .to_vec();
        expected.extend(BENCH_SERVER_FLAGS.iter().map(|flag| flag.to_string()));
        expected.push("--trace".into());
        assert_eq!(args, expected);
        // A flag the user sets replaces the benchmark's own.
        let own = server_args(dir, &[], &["--rate-limit-burst".into(), "5".into()]);
        assert_eq!(
            own.iter()
                .filter(|arg| *arg == "--rate-limit-burst")
                .count(),
            1
        );
        assert!(own.ends_with(&["--rate-limit-burst".into(), "5".into()]));
        let memory = server_args(dir, &["--db".into(), ":memory:".into()], &[]);
        assert_eq!(memory.iter().filter(|arg| *arg == "--db").count(), 1);
        assert!(memory.ends_with(&["--db".into(), ":memory:".into()]));
        let cluster = server_args(
            dir,
            &["--cluster".into(), "redis://127.0.0.1:1".into()],
            &[],
        );
        assert!(!cluster.contains(&"--db".to_string()), "{cluster:?}");
        assert!(cluster.ends_with(&["--cluster".into(), "redis://127.0.0.1:1".into()]));
        let user_addr = server_args(dir, &[], &["--addr=127.0.0.1:9000".into()]);
        assert!(!user_addr.contains(&LISTEN_ADDR.to_string()));
    }

    #[test]
    fn the_broker_keeps_nothing_on_disk_and_listens_on_loopback() {
        let args = broker_args(Path::new("/tmp/bench-x"), 6390);
        let pairs: Vec<&[String]> = args.chunks(2).collect();
        for pair in [
            ["--bind", "127.0.0.1"],
            ["--port", "6390"],
            ["--dir", "/tmp/bench-x"],
            ["--save", ""],
            ["--appendonly", "no"],
        ] {
            assert!(
                pairs.contains(&&pair.map(String::from)[..]),
                "{pair:?} in {args:?}"
            );
        }
    }

    #[test]
    fn a_started_broker_answers_and_stops_cleanly() {
        use std::io::{Read, Write};
        let broker = BrokerProcess::start(None).expect("redis-server starts");
        let port = broker.url.rsplit(':').next().expect("a port");
        let mut stream =
            std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream.write_all(b"PING\r\n").expect("write");
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer).expect("read");
        assert_eq!(&answer, b"+PONG\r\n");
        drop(stream);
        assert_eq!(broker.stop(), None);
    }

    #[test]
    fn a_missing_binary_is_a_clear_error() {
        let settings = ServerSettings {
            binary: PathBuf::from("/nonexistent/chat-server"),
            cpu: None,
            extra_args: Vec::new(),
            bot_tokens: None,
        };
        let err = ServerProcess::start(&settings, &[])
            .err()
            .expect("an error");
        assert!(err.to_string().contains("cargo build --release -p backend"));
    }
}
