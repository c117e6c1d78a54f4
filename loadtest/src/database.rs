//! The PostgreSQL server of the `-postgres` variants and of the cluster
//! scenarios ([`DatabaseProcess`]): Debian's PostgreSQL (`cargo xtask
//! setup` installs it), started by the benchmark in a temporary directory
//! of its own on a free loopback port, pinned to the server's CPU like the
//! broker, with one database ([`DATABASE`]) whose URL the chat servers get
//! as `--db`. It lives for one scenario.
//!
//! Its CPU time is the server side's: the goal compares the CPU per
//! delivery of a chat server on PostgreSQL, database included, with one
//! on SQLite, whose work happens inside the chat server. PostgreSQL is a
//! tree of processes (the postmaster forks a backend per connection, a
//! checkpointer, a WAL writer, autovacuum workers…), so it is measured as
//! one: [`crate::procfs::tree_cpu_ticks`] of the postmaster.
//!
//! Settings: PostgreSQL's defaults but for where it listens
//! ([`postgres_args`]). Durability, which is what the comparison is
//! about, stays at the defaults and is written out so that the report
//! shows it: `fsync = on`, `synchronous_commit = on` (a commit returns
//! once its WAL is flushed to the disk).
//!
//! `initdb` and `postgres` refuse to run as root; as root (CI, this
//! machine) they run as the `postgres` system user of Debian's package,
//! which then owns the temporary directory.

use crate::server::{self, ServerError, Supervised};
use nix::sys::signal::Signal;
use nix::unistd::{Uid, User};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where Debian installs each PostgreSQL version's programs
/// (`/usr/lib/postgresql/15/bin`); the newest complete one is used.
pub const DEBIAN_PG_DIR: &str = "/usr/lib/postgresql";

/// Names another directory holding PostgreSQL's programs; checked before
/// [`DEBIAN_PG_DIR`] and the `PATH`.
pub const BIN_DIR_VARIABLE: &str = "CHAT_BENCH_PG_BIN";

/// The programs the benchmark needs from PostgreSQL's `bin` directory.
const PROGRAMS: [&str; 3] = ["initdb", "postgres", "psql"];

/// The superuser the server is created with (trust authentication, on
/// loopback only).
pub const SUPERUSER: &str = "postgres";

/// The system user that runs PostgreSQL when the benchmark runs as root.
const SYSTEM_USER: &str = "postgres";

/// The database the chat servers use.
pub const DATABASE: &str = "chat";

/// What PostgreSQL logs once it accepts connections.
const READY: &str = "database system is ready to accept connections";

/// The settings given to `postgres` besides its data directory, port and
/// socket directory ([`postgres_args`]). Only where it listens differs
/// from PostgreSQL's defaults; the rest are the defaults, written out
/// because they are what is compared: WAL flushed to the disk at every
/// commit, and the default 128 MB of shared buffers (which `initdb` may
/// lower on a machine short of shared memory).
pub const SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "127.0.0.1"),
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("shared_buffers", "128MB"),
];

/// Longest a `psql` call may take to connect (the server is local; a
/// busy machine may still be slow).
const PSQL_CONNECT_TIMEOUT_S: u32 = 10;

/// Longest path of a Unix socket (`sun_path` holds 108 bytes with its
/// NUL); a directory too deep gets none, and clients use TCP anyway.
const UNIX_SOCKET_PATH_MAX: usize = 107;

/// A running PostgreSQL started by the benchmark. Stopped (SIGINT: a fast
/// shutdown, which ends the sessions and writes a checkpoint) when
/// [`Self::stop`] is called or it is dropped.
pub struct DatabaseProcess {
    process: Supervised,
    /// The URL the chat servers are given as `--db`.
    pub url: String,
    /// The postmaster's pid, the root of its process tree.
    pub pid: u32,
    /// The arguments `postgres` was started with.
    pub args: Vec<String>,
    port: u16,
    bin: PathBuf,
}

/// Figures read from PostgreSQL itself, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbStats {
    /// The next transaction id to be assigned: only transactions that
    /// write get one, so two readings apart are the write transactions in
    /// between (the chat server's commits; reads take none).
    pub next_xid: u64,
    /// Bytes of WAL written since the server's creation.
    pub wal_bytes: u64,
}

impl DbStats {
    /// The query that reads them, as one line `next_xid|wal_bytes`; it
    /// writes nothing, so it takes no transaction id itself.
    pub const QUERY: &'static str = "SELECT pg_snapshot_xmax(pg_current_snapshot()), \
         pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint";

    /// Parses the answer to [`Self::QUERY`] (`psql -At`).
    pub fn parse(text: &str) -> Option<Self> {
        let (xid, wal) = text.trim().split_once('|')?;
        Some(Self {
            next_xid: xid.trim().parse().ok()?,
            wal_bytes: wal.trim().parse().ok()?,
        })
    }
}

impl DatabaseProcess {
    /// Creates a PostgreSQL server in a temporary directory (`initdb`),
    /// starts it on a free loopback port pinned to `cpu`, and creates
    /// [`DATABASE`] in it.
    pub fn start(cpu: Option<usize>) -> Result<Self, ServerError> {
        let bin = bin_dir().map_err(ServerError::Database)?;
        let run_as = run_as().map_err(ServerError::Database)?;
        let dir = server::temp_dir()?;
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(|err| {
                    ServerError::Database(format!(
                        "cannot hand {} to `{SYSTEM_USER}`: {err}",
                        dir.path().display()
                    ))
                })?;
        }
        let data = dir.path().join("data");
        let output = program(&bin, "initdb", run_as.as_ref())
            .arg("--pgdata")
            .arg(&data)
            .args(["--auth=trust", "--username", SUPERUSER])
            .args(["--encoding=UTF8", "--no-locale"])
            // Its final sync of the new files only guards against the
            // machine crashing during the benchmark; the server keeps
            // fsync on.
            .arg("--no-sync")
            .output();
        check("initdb", output)?;
        let port = server::free_port()?;
        let command = program(&bin, "postgres", run_as.as_ref());
        let (mut process, args) = Supervised::spawn_in(
            dir,
            "database",
            command,
            |dir| postgres_args(&dir.join("data"), port, dir),
            cpu,
            Signal::SIGINT,
        )?;
        process.wait_ready(|log| log.contains(READY).then_some(()))?;
        let database = Self {
            pid: process.pid(),
            process,
            url: url(port, DATABASE),
            args,
            port,
            bin,
        };
        database.query("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
        Ok(database)
    }

    /// Runs `sql` in `database` with `psql`; returns its unaligned,
    /// tuples-only output.
    pub fn query(&self, database: &str, sql: &str) -> Result<String, ServerError> {
        let output = program(&self.bin, "psql", None)
            .env("PGCONNECT_TIMEOUT", PSQL_CONNECT_TIMEOUT_S.to_string())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--username", SUPERUSER, "--dbname", database])
            .args(["--no-psqlrc", "--no-align", "--tuples-only", "--quiet"])
            .args(["--set", "ON_ERROR_STOP=1", "--command", sql])
            .output();
        check("psql", output)
    }

    /// Reads [`DbStats`] now. It costs a `psql` process and a backend, so
    /// it is called outside the measured windows.
    pub fn stats(&self) -> Result<DbStats, ServerError> {
        let text = self.query(DATABASE, DbStats::QUERY)?;
        DbStats::parse(&text)
            .ok_or_else(|| ServerError::Database(format!("unexpected statistics {text:?}")))
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

/// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
pub fn url(port: u16, database: &str) -> String {
    format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{database}")
}

/// The arguments of `postgres`: its data directory, `port`, its Unix
/// socket in `socket_dir` (none when that path is too long for a socket),
/// and [`SETTINGS`], each as `-c name=value`.
pub fn postgres_args(data: &Path, port: u16, socket_dir: &Path) -> Vec<String> {
    let socket = socket_dir.join(".s.PGSQL.65535");
    let socket_dir = if socket.as_os_str().len() <= UNIX_SOCKET_PATH_MAX {
        socket_dir.to_string_lossy().into_owned()
    } else {
        String::new()
    };
    let mut args: Vec<String> = vec![
        "-D".into(),
        data.to_string_lossy().into_owned(),
        "-p".into(),
        port.to_string(),
        "-c".into(),
        format!("unix_socket_directories={socket_dir}"),
    ];
    for (name, value) in SETTINGS {
        args.extend(["-c".into(), format!("{name}={value}")]);
    }
    args
}

/// The system user PostgreSQL runs as: `None` (the current user) unless
/// the benchmark runs as root.
fn run_as() -> Result<Option<User>, String> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    match User::from_name(SYSTEM_USER) {
        Ok(Some(user)) => Ok(Some(user)),
        _ => Err(format!(
            "the benchmark runs as root, where initdb and postgres refuse to run, so it runs \
             them as the `{SYSTEM_USER}` user, and there is none: install Debian's `postgresql` \
             (`cargo xtask setup` does), which creates it"
        )),
    }
}

/// The directory of PostgreSQL's programs: [`BIN_DIR_VARIABLE`], else the
/// newest of [`DEBIAN_PG_DIR`], else the `PATH`.
fn bin_dir() -> Result<PathBuf, String> {
    let complete = |dir: &Path| PROGRAMS.iter().all(|name| dir.join(name).is_file());
    if let Some(dir) = std::env::var_os(BIN_DIR_VARIABLE) {
        let dir = PathBuf::from(dir);
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "{BIN_DIR_VARIABLE}={} does not hold {}",
                dir.display(),
                PROGRAMS.join(", ")
            ))
        };
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(DEBIAN_PG_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| complete(dir))
        .ok_or_else(|| {
            format!(
                "no {} in {DEBIAN_PG_DIR}/*/bin or on the PATH: the -postgres variants and the \
                 cluster scenarios start a PostgreSQL server (cargo xtask setup installs Debian's \
                 postgresql), or set {BIN_DIR_VARIABLE}",
                PROGRAMS.join(", ")
            )
        })
}

/// A command for one of PostgreSQL's programs, run as `user` when given,
/// without the caller's `PG*` variables (which would point it elsewhere).
fn program(bin: &Path, name: &str, user: Option<&User>) -> Command {
    let mut command = Command::new(bin.join(name));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(key);
        }
    }
    command.stdin(Stdio::null());
    if let Some(user) = user {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    command
}

/// A program's standard output, or an error naming it with its output.
fn check(what: &str, output: std::io::Result<Output>) -> Result<String, ServerError> {
    let output =
        output.map_err(|err| ServerError::Database(format!("cannot run {what}: {err}")))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(ServerError::Database(format!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_listens_on_loopback_and_keeps_its_durability() {
        let args = postgres_args(Path::new("/tmp/b/data"), 5999, Path::new("/tmp/b"));
        let pairs: Vec<&[String]> = args.chunks(2).collect();
        for pair in [
            ["-D", "/tmp/b/data"],
            ["-p", "5999"],
            ["-c", "unix_socket_directories=/tmp/b"],
            ["-c", "listen_addresses=127.0.0.1"],
            ["-c", "fsync=on"],
            ["-c", "synchronous_commit=on"],
        ] {
            assert!(
                pairs.contains(&&pair.map(String::from)[..]),
                "{pair:?} in {args:?}"
            );
        }
        let deep = Path::new("/tmp").join("d".repeat(120));
        let args = postgres_args(&deep.join("data"), 5999, &deep);
        assert!(args.contains(&"unix_socket_directories=".to_string()));
        assert_eq!(
            url(5999, DATABASE),
            "postgres://postgres@127.0.0.1:5999/chat"
        );
    }

    #[test]
    fn statistics_are_parsed_from_psql() {
        assert_eq!(
            DbStats::parse("742|24385632\n"),
            Some(DbStats {
                next_xid: 742,
                wal_bytes: 24_385_632
            })
        );
        assert_eq!(DbStats::parse(""), None);
        assert_eq!(DbStats::parse("x|1"), None);
    }

    #[test]
    fn a_started_database_answers_and_its_tree_is_measured() {
        let database = DatabaseProcess::start(None).expect("PostgreSQL starts");
        assert!(database.url.ends_with("/chat"));
        let before = database.stats().expect("statistics");
        database
            .query(DATABASE, "CREATE TABLE t (x INT); INSERT INTO t VALUES (1)")
            .expect("a write");
        let after = database.stats().expect("statistics");
        assert!(after.next_xid > before.next_xid, "{before:?} {after:?}");
        assert!(after.wal_bytes > before.wal_bytes);
        // The postmaster and its children (checkpointer, WAL writer…).
        let entries = crate::procfs::all_stat_entries().expect("/proc");
        assert!(crate::procfs::tree_pids(database.pid, &entries).len() > 3);
        assert!(
            crate::procfs::tree_memory(database.pid)
                .expect("PSS")
                .rss_kib
                > 0
        );
        assert_eq!(database.stop(), None);
    }
}
