//! A real Redis server for the cluster tests: Debian's `redis-server`
//! (installed by `cargo xtask setup`), on a free loopback port, stopped
//! when dropped. It keeps its data in an append-only file in the test's
//! directory, so a broker started again there has everything back.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest the broker may take to answer its first PING.
const BROKER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`.
pub struct Broker {
    child: Child,
    port: u16,
}

impl Broker {
    /// Starts `redis-server` on a free port of 127.0.0.1, working in `dir`.
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        Self::start_on(dir, port)
    }

    /// Starts `redis-server` on `port` (again, after [`Broker::kill`]).
    pub fn start_on(dir: &Path, port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (cargo xtask setup installs it)");
        let broker = Self { child, port };
        broker.wait_until_ready();
        broker
    }

    /// The URL for `--cluster`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs one command with `redis-cli` (installed with `redis-server`) and
    /// returns its raw output, to look at what the servers keep there.
    pub fn command(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli is installed with redis-server");
        assert!(output.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Kills the broker at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + BROKER_START_TIMEOUT;
        loop {
            if ping(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server answers PING in time"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Whether a Redis server on `port` answers PING.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}
