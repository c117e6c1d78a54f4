//! A real Redis server for the cluster tests: Debian's `redis-server`
//! (installed by `cargo xtask setup`), on a free loopback port, stopped
//! when dropped. It keeps its data in an append-only file in the test's
//! directory, so a broker started again there has everything back.
//!
//! A cluster's history is in PostgreSQL: the broker of [`Broker::start`]
//! comes with a fresh database on the tests' PostgreSQL server, which every
//! instance of the test gets as its `--db`.

use super::TestServer;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest the broker may take to answer its first PING.
const BROKER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest the broker may take to answer a command of a test.
const BROKER_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `redis-server`, and the database of its cluster.
pub struct Broker {
    child: Child,
    port: u16,
    url: String,
    database: Option<super::postgres::PgDatabase>,
}

impl Broker {
    /// Starts `redis-server` on a free port of 127.0.0.1, working in `dir`.
    /// With a fresh database for the cluster's instances.
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        let mut broker = Self::start_on(dir, port);
        broker.database = Some(super::fresh_database_blocking());
        broker
    }

    /// Starts `redis-server` on `port` (again, after [`Broker::kill`]): the
    /// instances keep the database they were given.
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
        let broker = Self {
            child,
            port,
            url: format!("redis://127.0.0.1:{port}"),
            database: None,
        };
        broker.wait_until_ready();
        broker
    }

    /// An instance of the cluster on this broker, in this process, with
    /// extra flags.
    pub async fn instance(&self, flags: &[&str]) -> TestServer {
        TestServer::start_with(Path::new("unused"), &self.instance_flags(flags)).await
    }

    /// The flags of an instance of this cluster: `--cluster` and `--db`,
    /// then `flags`.
    pub fn instance_flags<'a>(&'a self, flags: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--cluster", self.url_str(), "--db", self.db_url()];
        all.extend_from_slice(flags);
        all
    }

    /// The URL of the cluster's database, for `--db`.
    pub fn db_url(&self) -> &str {
        self.database
            .as_ref()
            .expect("a broker of Broker::start (a restarted one has no database of its own)")
            .url()
    }

    fn url_str(&self) -> &str {
        &self.url
    }

    /// The URL for `--cluster`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every subscription (each instance's bus) and refuses new ones
    /// until [`Broker::allow_subscriptions`]: the instances still post and
    /// read, but hear of no publication, as if their bus were cut off.
    pub fn cut_subscriptions(&self) {
        assert_eq!(self.command("ACL SETUSER default -subscribe"), "+OK");
        assert!(self.command("CLIENT KILL TYPE pubsub").starts_with(':'));
    }

    /// Lets the instances subscribe again (they retry by themselves).
    pub fn allow_subscriptions(&self) {
        assert_eq!(self.command("ACL SETUSER default +subscribe"), "+OK");
    }

    /// Runs an inline command (`HLEN chat:{lobby}:members`); returns the
    /// first line of the answer as the broker wrote it (`:2`).
    pub fn command(&self, command: &str) -> String {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(BROKER_ANSWER_TIMEOUT))
            .expect("a read timeout");
        write!(stream, "{command}\r\n").expect("send a command");
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .expect("an answer");
        answer.trim_end().to_owned()
    }

    /// Kills the broker at once (SIGKILL), as a crash would. The cluster's
    /// database stays, with this value: the instances go on using it.
    pub fn kill(&mut self) {
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

/// A broker (Redis) and two instances on one PostgreSQL database; the
/// directory and the broker live as long as the caller keeps them.
pub async fn two_instances() -> (super::TempDb, Broker, TestServer, TestServer) {
    let dir = super::TempDb::new();
    let broker = Broker::start(dir.dir());
    let a = broker.instance(&[]).await;
    let b = broker.instance(&[]).await;
    (dir, broker, a, b)
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
