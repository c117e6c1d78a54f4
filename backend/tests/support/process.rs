//! The `chat-server` binary as a process on a free loopback port: started
//! with a database or in a cluster, its log kept, stopped with SIGTERM or
//! SIGKILL (and killed when dropped).

use super::broker::Broker;
use super::Endpoint;
use common::api::MessagePage;
use common::ChatMessage;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_chat-server");

/// Longest the binary may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Longest a process may take to exit after SIGTERM.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The binary, with only the environment a test sets: no CHAT_* leaking in.
pub fn chat_server() -> Command {
    let mut command = Command::new(BINARY);
    for (key, _) in std::env::vars() {
        if key.starts_with("CHAT_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "info");
    command
}

/// A running server process, where it listens (its [`Endpoint`]), and
/// what it has logged so far.
pub struct ServerProcess {
    child: Child,
    endpoint: Endpoint,
    log: Arc<Mutex<Vec<String>>>,
    printed: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary on port 0 and reads the address it chose from its log.
    pub fn start(db: &Path) -> Self {
        Self::start_with(db, &[])
    }

    /// Starts the binary with extra flags (and no rate limit: these tests
    /// post as fast as they can).
    pub fn start_with(db: &Path, flags: &[&str]) -> Self {
        Self::start_with_env(db, flags, &[])
    }

    /// Starts the binary with extra flags and environment variables.
    pub fn start_with_env(db: &Path, flags: &[&str], env: &[(&str, &str)]) -> Self {
        let db = db.to_str().expect("UTF-8");
        Self::spawn(&[&["--db", db], flags].concat(), env, true)
    }

    /// Starts the binary on `db` as it is: no reader is added, so a new
    /// database is a first start.
    pub fn start_bare(db: &Path, flags: &[&str]) -> Self {
        let db = db.to_str().expect("UTF-8");
        Self::spawn(&[&["--db", db], flags].concat(), &[], false)
    }

    /// Starts an instance of the cluster that shares `broker`, with extra
    /// flags (and no rate limit unless `flags` set one).
    pub fn in_cluster(broker: &Broker, flags: &[&str]) -> Self {
        Self::spawn(&broker.instance_flags(flags), &[], true)
    }

    fn spawn(args: &[&str], env: &[(&str, &str)], reader: bool) -> Self {
        // A reader for `get_json` and `all_messages`, in the database the
        // process is about to open.
        let db = args
            .iter()
            .position(|arg| *arg == "--db")
            .and_then(|at| args.get(at + 1))
            .and_then(|db| db.parse().ok());
        let reader = db
            .filter(|_| reader)
            .and_then(super::accounts::provision_reader_blocking);
        let mut command = chat_server();
        command.envs(env.iter().copied());
        command.args(["--addr", "127.0.0.1:0"]);
        if !args.iter().any(|arg| arg.starts_with("--rate-limit")) {
            command.args(super::UNLIMITED_RATE);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn chat-server");
        let stderr = child.stderr.take().expect("piped stderr");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, address) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        // Standard output (the first start's setup link), kept apart.
        let printed = Arc::new(Mutex::new(Vec::new()));
        let kept_printed = Arc::clone(&printed);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                kept_printed.lock().expect("stdout lock").push(line);
            }
        });
        // Keep draining stderr for the life of the process, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':'))
                        .collect();
                    if let Some(found) = found.take() {
                        let _ = found.send(addr);
                    }
                }
                kept.lock().expect("log lock").push(line);
            }
        });
        let addr = address
            .recv_timeout(START_TIMEOUT)
            .expect("the server says where it listens");
        let addr = addr.parse().expect("a socket address");
        if let Some(token) = reader {
            super::accounts::register(addr, token);
        }
        Self {
            child,
            endpoint: Endpoint { addr },
            log,
            printed,
        }
    }

    /// What the process printed on standard output so far.
    pub fn printed_lines(&self) -> Vec<String> {
        self.printed.lock().expect("stdout lock").clone()
    }

    /// The line of standard output that contains `text`, waiting up to
    /// [`START_TIMEOUT`] for it.
    pub fn wait_for_printed(&self, text: &str) -> String {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let printed = self.printed_lines();
            if let Some(line) = printed.into_iter().find(|line| line.contains(text)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no line with {text:?} printed; log: {:?}",
                self.log_lines()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit
    /// status and how long it took.
    pub fn terminate(mut self) -> (ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "SIGTERM delivered");
        let deadline = started + EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(Instant::now() < deadline, "the server exits after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The log lines written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill_9(mut self) {
        self.kill_9_in_place();
    }

    pub fn kill_9_in_place(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Every message of `room`, read page by page from the HTTP API.
    pub async fn all_messages(&self, room: &str) -> BTreeMap<u64, ChatMessage> {
        let mut stored = BTreeMap::new();
        let mut before = None;
        loop {
            let query = before
                .map(|id: u64| format!("&before={id}"))
                .unwrap_or_default();
            let url = self.url(&format!("/api/rooms/{room}/messages?limit=200{query}"));
            let page: MessagePage = super::get_json(url).await;
            before = page.messages.first().map(|m| m.id);
            stored.extend(page.messages.into_iter().map(|m| (m.id, m)));
            if !page.has_older {
                return stored;
            }
        }
    }
}

impl std::ops::Deref for ServerProcess {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
