//! A real PostgreSQL server for the tests: the `initdb`, `pg_ctl` and
//! `postgres` of Debian's `postgresql` (`cargo xtask setup` installs it), in
//! a directory under `target/tmp/pg-test/`, listening on a free port of
//! 127.0.0.1 only, with `trust` authentication for the superuser `postgres`.
//! `fsync` stays on: the store's durability is part of what is tested.
//! `cluster` runs one server's programs; this module decides which server
//! a test gets, and its databases.
//!
//! # One server per test run, one database per test
//!
//! nextest runs every test in a process of its own, so a server per process
//! would mean an `initdb` per test. Measured on a busy 2-core machine (load
//! 6): `initdb --no-sync` takes 1.2–1.4 s (3.9 s with its final sync), and
//! `pg_ctl start` 0.1 s more (3 s after a crash: recovery ends with a
//! checkpoint); whereas finding the running server takes 0.05 s, `CREATE
//! DATABASE` 0.1–0.25 s and `DROP DATABASE` 0.2 s. So the first test of a
//! run that wants a database starts one shared server, and every other
//! test, in whichever process, finds it and creates a database of its own
//! in it ([`fresh_database`]):
//!
//! - an exclusive `flock` on `pg-test/start.lock` serializes the
//!   check-and-start, so two processes never start two servers;
//! - `pg-test/shared.state` names the port and programs of the running
//!   server and the harness's settings ([`SETTINGS_VERSION`]). A process
//!   reuses that server when its postmaster (from `postmaster.pid`) is alive
//!   on that port and `pg_isready` answers; otherwise (stopped, killed,
//!   another PostgreSQL version, older settings) it removes what is left and
//!   starts a new server from a fresh `initdb`;
//! - each test's database is dropped (`WITH (FORCE)`) when its
//!   [`PgDatabase`] is dropped.
//!
//! The shared server outlives the test processes (`pg_ctl` starts it in a
//! session of its own, so nextest's clean-up of a test's process group does
//! not reach it): `cargo xtask test` stops it when the tests end, passed or
//! not, and after a plain `cargo nextest run` it waits for the next run,
//! which reuses it. A test killed before its clean-up leaves its database
//! behind until the next fresh start (at the latest, the next
//! `cargo xtask test`). A server that stopped itself when idle would need a
//! watchdog process of its own; the stop at the end of the run is simpler
//! and enough.
//!
//! # Private servers, for fault tests
//!
//! A test that stops the database must not stop everybody's:
//! [`PgServer::start_private`] starts a server for that test alone (its own
//! data directory and port), which [`PgServer::stop`] and [`PgServer::kill`]
//! take down and [`PgServer::start`] brings back on the same port with the
//! same data, so every URL handed out stays valid. Dropping it stops it and
//! removes its directory; what a killed test process left is removed by the
//! next [`PgServer::start_private`] of the run, or at the end of
//! `cargo xtask test`.
//!
//! # Root
//!
//! `initdb`, `pg_ctl` and `postgres` refuse to run as root. Tests running as
//! root (as in CI) run them as the `postgres` system user that Debian's
//! package creates, owning the server's directory; otherwise they run as the
//! current user.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_postgres::{Client, NoTls};

mod cluster;

// For postgres_harness.rs, which tests how the programs are found.
#[allow(unused_imports)]
pub use cluster::find_bin_dir;
use cluster::{alive, bin_dir, run_as, Cluster};

/// Where the tests keep their PostgreSQL servers (`target/tmp/pg-test`);
/// `cargo xtask test` stops whatever still runs there when the tests end.
pub const PG_TEST_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/pg-test");

/// The superuser every test server is created with, whoever runs it, so
/// that the URLs do not depend on the machine's user names.
pub const SUPERUSER: &str = "postgres";

/// The system user that runs PostgreSQL when the tests run as root.
const SYSTEM_USER: &str = "postgres";

/// Where Debian installs each PostgreSQL version's programs
/// (`/usr/lib/postgresql/15/bin`).
const DEBIAN_PG_DIR: &str = "/usr/lib/postgresql";

/// Names another directory holding `initdb` and `pg_ctl` (a PostgreSQL not
/// from Debian); checked before [`DEBIAN_PG_DIR`] and the `PATH`.
pub const BIN_DIR_VARIABLE: &str = "TEST_PG_BIN";

/// The programs a test server needs from PostgreSQL's `bin` directory.
const PROGRAMS: [&str; 4] = ["initdb", "pg_ctl", "postgres", "pg_isready"];

/// Changed whenever the settings below change, so that a run never reuses a
/// shared server started with other settings.
const SETTINGS_VERSION: u32 = 1;

/// Connection slots of a server: nextest runs a test process per core, and
/// each chat server under test holds a pool of connections.
const MAX_CONNECTIONS: u32 = 200;

/// Longest `pg_ctl start` waits for the server to accept connections (the
/// machine may be busy compiling).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest `pg_ctl stop` waits for the server to exit (`-m fast` ends with
/// a checkpoint).
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest `pg_isready` waits for an answer when a run checks whether the
/// shared server it found still works.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest a test waits for another test process that is starting the
/// shared server (an `initdb` and a start, on a busy machine).
const START_LOCK_TIMEOUT: Duration = Duration::from_secs(180);

/// How often a test waiting for that start looks again.
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Longest a client may take to connect and log in.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest dropping a test's database may take; after that it is left to
/// the next fresh start.
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// Ports a start tries: another process may bind the port found free
/// before the server does.
const PORT_ATTEMPTS: usize = 5;

/// Longest path of a Unix socket (`sun_path` holds 108 bytes with its NUL);
/// a directory too deep for one gets none, and clients use TCP anyway.
const UNIX_SOCKET_PATH_MAX: usize = 107;

/// Lines of the server's log that a failure message quotes.
const LOG_TAIL_LINES: usize = 30;

/// The shared server of this process, attached once (see the module doc).
static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// Numbers this process's databases and private servers.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A PostgreSQL server of the tests: the run's shared one
/// ([`PgServer::shared`]) or a test's private one
/// ([`PgServer::start_private`]).
pub struct PgServer {
    cluster: Cluster,
    /// Only a private server may be stopped, and is removed when dropped.
    private: bool,
}

impl PgServer {
    /// The server this test run shares, started if no test has yet.
    pub async fn shared() -> &'static PgServer {
        let shared = blocking(|| {
            SHARED.get_or_init(|| {
                attach_shared().map(|cluster| PgServer {
                    cluster,
                    private: false,
                })
            })
        })
        .await;
        match shared {
            Ok(server) => server,
            Err(message) => panic!("no PostgreSQL server for the tests: {message}"),
        }
    }

    /// Starts a server for the calling test alone, on a free port; it is
    /// stopped and removed when dropped.
    pub async fn start_private() -> PgServer {
        match blocking(start_private).await {
            Ok(cluster) => PgServer {
                cluster,
                private: true,
            },
            Err(message) => panic!("cannot start a private PostgreSQL server: {message}"),
        }
    }

    /// The port the server listens on (on 127.0.0.1), the same across
    /// [`PgServer::stop`] and [`PgServer::start`].
    pub fn port(&self) -> u16 {
        self.cluster.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/database`.
    pub fn url(&self, database: &str) -> String {
        self.cluster.url(database)
    }

    /// A new, empty database on this server, for the calling test only.
    pub async fn fresh_database(&self) -> PgDatabase {
        let name = unique_name("t");
        let admin_url = self.url("postgres");
        let admin = connect(&admin_url).await.unwrap_or_else(|err| {
            panic!(
                "cannot connect to the test PostgreSQL on port {}: {err}\n{}",
                self.port(),
                self.log()
            )
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|err| panic!("CREATE DATABASE {name} failed: {err}"));
        PgDatabase {
            url: self.url(&name),
            name,
            admin_url,
            // A private server takes its databases with it.
            drop_when_done: !self.private,
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`: connections are ended, work
    /// is written out). Clients then fail until [`PgServer::start`].
    pub async fn stop(&self) {
        self.take_down("fast").await;
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no
    /// shutdown checkpoint; the next start recovers from the log).
    pub async fn kill(&self) {
        self.take_down("immediate").await;
    }

    /// Starts the stopped server again, on the same port and data.
    pub async fn start(&self) {
        self.assert_private("start");
        let cluster = self.cluster.clone();
        if let Err(message) = blocking(move || cluster.start()).await {
            panic!("cannot start the private PostgreSQL server again: {message}");
        }
    }

    /// The end of the server's log, for failure messages.
    pub fn log(&self) -> String {
        self.cluster.log_tail(0)
    }

    async fn take_down(&self, mode: &'static str) {
        self.assert_private("stop");
        let cluster = self.cluster.clone();
        if let Err(message) = blocking(move || cluster.stop(mode)).await {
            panic!("cannot stop the private PostgreSQL server: {message}");
        }
    }

    fn assert_private(&self, what: &str) {
        assert!(
            self.private,
            "only a private PostgreSQL server (PgServer::start_private) may {what}: \
             other tests are using the shared one"
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.private {
            self.cluster.remove();
        }
    }
}

/// A new, empty database on the run's shared server, for the calling test
/// only; dropped (best effort) with the handle.
pub async fn fresh_database() -> PgDatabase {
    PgServer::shared().await.fresh_database().await
}

/// A test's own database (see [`PgServer::fresh_database`]).
pub struct PgDatabase {
    name: String,
    url: String,
    /// The server's `postgres` database, from which this one is dropped.
    admin_url: String,
    drop_when_done: bool,
}

impl PgDatabase {
    /// `postgres://postgres@127.0.0.1:PORT/NAME`, e.g. for `--db`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client connected to this database.
    pub async fn client(&self) -> Client {
        connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to {}: {err}", self.url))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if !self.drop_when_done {
            return;
        }
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // `drop` cannot await and may run on a runtime's thread, where
        // another runtime may not block: a thread and a runtime of its own.
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let _ = tokio::time::timeout(DROP_TIMEOUT, async {
                    if let Ok(admin) = connect(&admin_url).await {
                        let _ = admin.batch_execute(&statement).await;
                    }
                })
                .await;
            });
        });
        let _ = dropping.join();
    }
}

/// Connects a client to `url` within [`CONNECT_TIMEOUT`]; its connection
/// runs on a task of the current runtime until the client is dropped or the
/// server goes away.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config.connect_timeout(CONNECT_TIMEOUT);
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        // Its error (the server went away) reaches the client's calls.
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs blocking work (processes, locks) off the runtime's threads, so that
/// a chat server in the same runtime keeps serving meanwhile.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("the PostgreSQL harness does not panic")
}

/// Finds the run's shared server, or starts it (see the module doc).
fn attach_shared() -> Result<Cluster, String> {
    let root = Path::new(PG_TEST_DIR);
    fs::create_dir_all(root).map_err(|err| format!("cannot create {PG_TEST_DIR}: {err}"))?;
    let lock_path = root.join("start.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| format!("cannot open {}: {err}", lock_path.display()))?;
    lock_within(&lock, START_LOCK_TIMEOUT)
        .map_err(|err| format!("cannot lock {}: {err}", lock_path.display()))?;
    // Held until this function returns (the lock goes with `lock`).
    let bin = bin_dir()?;
    let run_as = run_as()?;
    let state_path = root.join("shared.state");
    let mut cluster = Cluster {
        dir: root.join("shared"),
        bin,
        port: 0,
        run_as,
    };
    if let Some(port) = read_state(&state_path, &cluster.bin) {
        cluster.port = port;
        if cluster.works() {
            return Ok(cluster);
        }
    }
    let _ = fs::remove_file(&state_path);
    cluster.remove();
    if cluster.dir.exists() {
        return Err(format!(
            "cannot remove the old server in {}: remove it by hand",
            cluster.dir.display()
        ));
    }
    let mut cluster = Cluster::init(cluster.dir, cluster.bin, run_as)?;
    cluster.start_on_free_port()?;
    let state = format!(
        "settings={SETTINGS_VERSION}\nbin={}\nport={}\n",
        cluster.bin.display(),
        cluster.port
    );
    let written = state_path.with_extension("new");
    fs::write(&written, state)
        .and_then(|()| fs::rename(&written, &state_path))
        .map_err(|err| format!("cannot write {}: {err}", state_path.display()))?;
    Ok(cluster)
}

/// The port in the state file, if that server has this harness's settings
/// and these programs.
fn read_state(path: &Path, bin: &Path) -> Option<u16> {
    let state = fs::read_to_string(path).ok()?;
    let field = |name: &str| {
        state
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
    };
    let current =
        field("settings")? == SETTINGS_VERSION.to_string() && Path::new(field("bin")?) == bin;
    current.then(|| field("port")?.parse().ok()).flatten()
}

/// Takes an exclusive lock on `file`, waiting at most `timeout`.
fn lock_within(file: &File, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(LOCK_POLL_INTERVAL);
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another test process held it for over {}s",
                    timeout.as_secs()
                ))
            }
            Err(fs::TryLockError::Error(err)) => return Err(err.to_string()),
        }
    }
}

/// A new private server in `pg-test/private/<pid>_<n>_<time>`, after removing the
/// ones of test processes that are gone.
fn start_private() -> Result<Cluster, String> {
    let bin = bin_dir()?;
    let run_as = run_as()?;
    let private = Path::new(PG_TEST_DIR).join("private");
    for entry in fs::read_dir(&private).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = name.split('_').next().unwrap_or_default();
        if !alive(owner) {
            let left = Cluster {
                dir: entry.path(),
                bin: bin.clone(),
                port: 0,
                run_as,
            };
            left.remove();
        }
    }
    let dir = private.join(unique_name(&std::process::id().to_string()));
    let mut cluster = Cluster::init(dir, bin, run_as)?;
    if let Err(err) = cluster.start_on_free_port() {
        cluster.remove();
        return Err(err);
    }
    Ok(cluster)
}

/// `<prefix>_<pid>_<n>_<time>`: unique among the processes of a run and
/// across runs (a shared server may keep a database a killed test left).
fn unique_name(prefix: &str) -> String {
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    format!(
        "{prefix}_{}_{}_{time:x}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}
