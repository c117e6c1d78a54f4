//! One PostgreSQL server of the tests as processes: who runs its programs
//! (`postgres` when the tests run as root), where they are, and its data
//! directory, started and stopped with `initdb` and `pg_ctl`. What the
//! tests ask of it (the shared server, private ones, databases) is the
//! parent module's.

use super::*;

/// Who runs PostgreSQL's programs.
#[derive(Clone, Copy, Debug)]
pub(super) enum RunAs {
    CurrentUser,
    /// The tests run as root: the `postgres` system user.
    SystemUser {
        uid: u32,
        gid: u32,
    },
}

pub(super) fn run_as() -> Result<RunAs, String> {
    static RUN_AS: OnceLock<Result<RunAs, String>> = OnceLock::new();
    RUN_AS
        .get_or_init(|| {
            if id(&["-u"])? != 0 {
                return Ok(RunAs::CurrentUser);
            }
            let not_found = |_| {
                format!(
                    "the tests run as root, where initdb and postgres refuse to run, so they \
                     run them as the `{SYSTEM_USER}` user, and there is none: install Debian's \
                     `postgresql` (`cargo xtask setup` does), which creates it, or run the \
                     tests as another user"
                )
            };
            Ok(RunAs::SystemUser {
                uid: id(&["-u", SYSTEM_USER]).map_err(not_found)?,
                gid: id(&["-g", SYSTEM_USER]).map_err(not_found)?,
            })
        })
        .clone()
}

/// A number that `id` prints (`id -u`, `id -g postgres`).
pub(super) fn id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|err| format!("cannot run id: {err}"))?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("id {} failed: {}", args.join(" "), describe(&output)))
}

/// PostgreSQL's `bin` directory on this machine.
pub(super) fn bin_dir() -> Result<PathBuf, String> {
    find_bin_dir(
        std::env::var_os(BIN_DIR_VARIABLE).map(PathBuf::from),
        Path::new(DEBIAN_PG_DIR),
        std::env::var_os("PATH"),
    )
}

/// The directory named by `overridden` ([`BIN_DIR_VARIABLE`]), else the
/// newest version's under `debian` (`/usr/lib/postgresql/<version>/bin`),
/// else the directory on `path` that holds `initdb`; each must hold all of
/// [`PROGRAMS`].
pub fn find_bin_dir(
    overridden: Option<PathBuf>,
    debian: &Path,
    path: Option<OsString>,
) -> Result<PathBuf, String> {
    let complete = |dir: &Path| PROGRAMS.iter().all(|program| dir.join(program).is_file());
    if let Some(dir) = overridden {
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "{BIN_DIR_VARIABLE}={} lacks one of {}",
                dir.display(),
                PROGRAMS.join(", ")
            ))
        };
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(debian)
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
    if let Some(dir) = path
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| complete(dir))
    {
        return Ok(dir);
    }
    Err(format!(
        "PostgreSQL's initdb and pg_ctl are not installed (looked in {}/*/bin and on the \
         PATH): the tests run a real PostgreSQL server. Install Debian's `postgresql` \
         (`cargo xtask setup` does), or set {BIN_DIR_VARIABLE} to the directory that holds {}",
        debian.display(),
        PROGRAMS.join(", ")
    ))
}

/// One PostgreSQL server: its directory (data, log, socket), programs and
/// port.
#[derive(Clone, Debug)]
pub(super) struct Cluster {
    pub(super) dir: PathBuf,
    pub(super) bin: PathBuf,
    pub(super) port: u16,
    pub(super) run_as: RunAs,
}

impl Cluster {
    pub(super) fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub(super) fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    pub(super) fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `dir` with a new data directory in it (`initdb`) and the
    /// tests' settings; not started yet.
    pub(super) fn init(dir: PathBuf, bin: PathBuf, run_as: RunAs) -> Result<Self, String> {
        fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        if let RunAs::SystemUser { uid, gid } = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|err| {
                format!("cannot hand {} to `{SYSTEM_USER}`: {err}", dir.display())
            })?;
        }
        let cluster = Self {
            dir,
            bin,
            port: 0,
            run_as,
        };
        let output = cluster
            .program("initdb")
            .arg("--pgdata")
            .arg(cluster.data())
            .args(["--auth=trust", "--username", SUPERUSER])
            .args(["--encoding=UTF8", "--no-locale"])
            // The final sync of the new files only guards against the
            // machine crashing, which would end the test run anyway; the
            // server itself keeps fsync on.
            .arg("--no-sync")
            .output();
        cluster.check("initdb", output)?;
        cluster.write_settings()?;
        Ok(cluster)
    }

    /// Appends the tests' settings to `postgresql.conf` (the port is given
    /// at each start, see [`Cluster::start`]).
    pub(super) fn write_settings(&self) -> Result<(), String> {
        let socket = self.dir.join(".s.PGSQL.65535");
        let socket_dir = if socket.as_os_str().len() <= UNIX_SOCKET_PATH_MAX {
            self.dir.to_string_lossy().replace('\'', "''")
        } else {
            String::new()
        };
        let settings = format!(
            "\n# The tests' settings (backend/tests/support/postgres.rs).\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{socket_dir}'\n\
             max_connections = {MAX_CONNECTIONS}\n\
             fsync = on\n"
        );
        let conf = self.data().join("postgresql.conf");
        fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(|err| format!("cannot write {}: {err}", conf.display()))
    }

    /// `pg_ctl start` on [`Cluster::port`], waiting until the server accepts
    /// connections.
    pub(super) fn start(&self) -> Result<(), String> {
        let log_start = self.log_len();
        let output = self
            .program("pg_ctl")
            .arg("start")
            .arg("--pgdata")
            .arg(self.data())
            .arg("--log")
            .arg(self.log_path())
            .args(["--wait", "--timeout", &START_TIMEOUT.as_secs().to_string()])
            .args(["-o", &format!("-p {}", self.port)])
            .output();
        self.check("pg_ctl start", output).map_err(|err| {
            format!(
                "{err}\nserver log ({}):\n{}",
                self.log_path().display(),
                self.log_tail(log_start)
            )
        })
    }

    /// Starts on a free port, trying another when one was taken first.
    pub(super) fn start_on_free_port(&mut self) -> Result<(), String> {
        let mut failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            self.port = free_port()?;
            let log_start = self.log_len();
            match self.start() {
                Ok(()) => return Ok(()),
                Err(err) if self.log_tail(log_start).contains("could not bind") => failure = err,
                Err(err) => return Err(err),
            }
        }
        Err(format!(
            "no free port after {PORT_ATTEMPTS} tries: {failure}"
        ))
    }

    /// `pg_ctl stop -m <mode>`, waiting until the server has exited.
    pub(super) fn stop(&self, mode: &str) -> Result<(), String> {
        let output = self
            .program("pg_ctl")
            .arg("stop")
            .arg("--pgdata")
            .arg(self.data())
            .args(["--mode", mode])
            .args(["--wait", "--timeout", &STOP_TIMEOUT.as_secs().to_string()])
            .output();
        self.check(&format!("pg_ctl stop -m {mode}"), output)
    }

    /// Whether this server runs, on its port, and accepts connections.
    pub(super) fn works(&self) -> bool {
        let pid_file = fs::read_to_string(self.data().join("postmaster.pid")).unwrap_or_default();
        let mut lines = pid_file.lines();
        let pid = lines.next().unwrap_or_default();
        // postmaster.pid: the pid, the data directory, the start time, the port…
        let port = lines.nth(2).unwrap_or_default();
        port.trim() == self.port.to_string()
            && alive(pid.trim())
            && self
                .program("pg_isready")
                .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
                .args(["--username", SUPERUSER])
                .args(["--timeout", &READY_TIMEOUT.as_secs().to_string()])
                .output()
                .is_ok_and(|output| output.status.success())
    }

    /// Stops the server at once if it runs, and removes its directory.
    pub(super) fn remove(&self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.stop("immediate");
        }
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// A command for one of PostgreSQL's programs, run by the right user in
    /// the server's directory, without the caller's `PG*` variables (which
    /// would point it at other servers).
    pub(super) fn program(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                command.env_remove(key);
            }
        }
        command.current_dir(&self.dir).stdin(Stdio::null());
        if let RunAs::SystemUser { uid, gid } = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Turns a program's outcome into an error naming it, with its output.
    pub(super) fn check(&self, what: &str, output: std::io::Result<Output>) -> Result<(), String> {
        let output = output
            .map_err(|err| format!("cannot run {what} (in {}): {err}", self.bin.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let mut message = format!("{what} failed: {}", describe(&output));
        if let RunAs::SystemUser { .. } = self.run_as {
            message.push_str(&format!(
                "\n(the tests run as root, so PostgreSQL runs as `{SYSTEM_USER}`, which must be \
                 able to reach {})",
                self.dir.display()
            ));
        }
        Err(message)
    }

    pub(super) fn log_len(&self) -> u64 {
        fs::metadata(self.log_path()).map_or(0, |meta| meta.len())
    }

    /// The last [`LOG_TAIL_LINES`] lines the server logged after byte `from`.
    pub(super) fn log_tail(&self, from: u64) -> String {
        let log = fs::read(self.log_path()).unwrap_or_default();
        let from = usize::try_from(from).unwrap_or(0).min(log.len());
        let log = String::from_utf8_lossy(&log[from..]);
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

/// Whether the process `pid` (decimal) exists. Linux's `/proc`, which the
/// tests' machines have.
pub(super) fn alive(pid: &str) -> bool {
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && Path::new("/proc").join(pid).exists()
}

/// A port of 127.0.0.1 nobody listens on now.
pub(super) fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|err| format!("no free port: {err}"))
}

/// A finished program's status and output, for error messages.
pub(super) fn describe(output: &Output) -> String {
    format!(
        "{}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
