//! What every scenario runs against: the server (started per scenario, or
//! per run where runs must not share state, or an external one; for the
//! cluster scenarios, instances sharing a broker), the PostgreSQL server
//! of the `-postgres` variants and of the clusters, the generator's clock,
//! and the probes that read CPU time and memory of every process on the
//! server's side (PostgreSQL's as a whole process tree).

use crate::client::Clock;
use crate::database::{DatabaseProcess, DbStats};
use crate::figures::ProcessFigures;
use crate::procfs::{self, CpuTicks, Memory, Proc, ProcError};
use crate::server::{BrokerProcess, Person, ServerError, ServerProcess, ServerSettings};
use crate::ws::{WsError, WsUrl};
use std::time::Instant;

/// Where the server comes from.
#[derive(Debug, Clone)]
pub enum ServerSource {
    /// The benchmark starts its own servers.
    Spawn(ServerSettings),
    /// A server already running at `url`; `/proc` figures need its `pid`.
    External {
        /// Its WebSocket URL.
        url: String,
        /// Its process id, for CPU and memory figures.
        pid: Option<u32>,
    },
}

/// Where a started server keeps its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Store {
    /// What the scenario's flags say: a fresh SQLite file by default
    /// (`--db :memory:` in the in-memory variant).
    #[default]
    Own,
    /// The benchmark's own PostgreSQL server, started for the scenario
    /// ([`DatabaseProcess`], on the server's CPU, its CPU time counted as
    /// the server side's).
    Postgres,
}

/// Where the instances of a cluster scenario keep their history
/// (`--cluster-db`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ClusterDb {
    /// One PostgreSQL server shared by every instance (`--db` beside
    /// `--cluster`): the cluster mode that keeps history in PostgreSQL.
    #[default]
    Postgres,
    /// No `--db`: for a `chat-server` of the earlier cluster design, whose
    /// history lived in the broker (Redis streams), and which refused
    /// `--db`.
    None,
}

/// Settings shared by all scenarios of one invocation.
pub struct Context {
    /// The time base of every stamp.
    pub clock: Clock,
    /// Clock ticks per second of `/proc/<pid>/stat`.
    pub ticks_per_s: u64,
    /// Where servers come from.
    pub source: ServerSource,
    /// A tag unique to this invocation, put in room names, so that runs
    /// against an external server never meet earlier rooms and histories.
    pub tag: String,
    /// Warm-up runs before the measured ones.
    pub warmups: u32,
    /// Measured runs.
    pub runs: u32,
    /// Where cluster instances keep their history.
    pub cluster_db: ClusterDb,
}

/// The server side a scenario (or run) uses: one server, or the instances
/// of a cluster and their broker.
pub struct Running {
    /// Each instance's WebSocket URL (one, but in the cluster scenarios).
    pub urls: Vec<WsUrl>,
    /// The processes of the server side whose CPU time and memory are the
    /// server's: the instances, then the broker.
    pub parts: Vec<Part>,
    /// How many CPUs the server side may use (for its utilisation).
    pub cpus: f64,
    /// The arguments the (every) instance was started with (empty for an
    /// external server).
    pub args: Vec<String>,
    /// The broker's arguments (cluster scenarios).
    pub broker_args: Vec<String>,
    /// PostgreSQL's arguments (its `-postgres` variants, clusters on it).
    pub database_args: Vec<String>,
    processes: Vec<ServerProcess>,
    broker: Option<BrokerProcess>,
    database: Option<DatabaseProcess>,
}

/// One process of the server side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its name in the figures: `server`, `instance 1`, `broker`,
    /// `database`.
    pub name: String,
    /// Its pid, when known.
    pub pid: Option<u32>,
    /// Whether it is measured with every process below it (PostgreSQL's
    /// postmaster and its backends) rather than alone.
    pub tree: bool,
}

impl Part {
    /// A process measured alone.
    pub fn process(name: impl Into<String>, pid: Option<u32>) -> Self {
        Self {
            name: name.into(),
            pid,
            tree: false,
        }
    }

    /// Its CPU time so far.
    fn cpu_ticks(&self) -> Option<CpuTicks> {
        let pid = self.pid?;
        if self.tree {
            procfs::tree_cpu_ticks(pid).ok()
        } else {
            procfs::cpu_ticks(Proc::Pid(pid)).ok()
        }
    }

    /// Its memory now.
    fn memory(&self) -> Option<Memory> {
        let pid = self.pid?;
        if self.tree {
            procfs::tree_memory(pid).ok()
        } else {
            procfs::memory(Proc::Pid(pid)).ok()
        }
    }
}

/// Why a server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Starting it failed.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// Its URL is unusable.
    #[error(transparent)]
    Url(#[from] WsError),
    /// Reading `/proc` failed.
    #[error(transparent)]
    Proc(#[from] ProcError),
    /// The scenario needs server flags an external server cannot be given.
    #[error("needs the server flags {0:?}, which an external server (--url) cannot be given")]
    NeedsFlags(Vec<String>),
    /// The scenario signs in as a person made in the database before the
    /// server starts.
    #[error("signs in as a person ({0}) made in the server's database before it starts, which --url cannot do")]
    NeedsPerson(String),
    /// A cluster scenario starts its own broker and instances.
    #[error("starts a cluster of its own (a broker and {0} instances), which --url cannot do")]
    NeedsCluster(usize),
    /// A `-postgres` variant starts its own server and database.
    #[error("starts a server on a PostgreSQL of its own, which --url cannot do")]
    NeedsDatabase,
    /// The chat server refused `--db` beside `--cluster`: it predates
    /// cluster mode on PostgreSQL.
    #[error("this chat-server refuses --db beside --cluster (cluster mode with history in PostgreSQL is not in it yet): run the cluster scenarios with --cluster-db none\n{0}")]
    ClusterRefusesDb(ServerError),
}

impl Context {
    /// Starts a fresh server for run `run` (0-based, warm-ups first) of a
    /// scenario that needs one per run (`idle`, `join-storm`), after saying
    /// which run it is.
    pub fn start_numbered_run(&self, name: &str, run: u32) -> Result<Running, StartError> {
        eprintln!(
            "  {name}: run {} of {} (warm-ups first)",
            run + 1,
            self.warmups + self.runs
        );
        self.start_server(&[], Store::Own)
    }

    /// A server for a scenario that needs `scenario_args`, its history in
    /// `store`.
    pub fn start_server(
        &self,
        scenario_args: &[String],
        store: Store,
    ) -> Result<Running, StartError> {
        self.start_server_as(scenario_args, store, None)
    }

    /// [`Self::start_server`], with `person`'s account made in its
    /// database before it starts, when given.
    pub fn start_server_as(
        &self,
        scenario_args: &[String],
        store: Store,
        person: Option<&Person>,
    ) -> Result<Running, StartError> {
        match &self.source {
            ServerSource::Spawn(settings) => {
                let database = match store {
                    Store::Own => None,
                    Store::Postgres => Some(DatabaseProcess::start(settings.cpu)?),
                };
                let url = database.as_ref().map(|database| database.url.as_str());
                let args = with_database(scenario_args, url);
                let process = ServerProcess::start_with(settings, &args, person)?;
                Running::started(vec![process], None, database)
            }
            ServerSource::External { url, pid } => {
                if !scenario_args.is_empty() {
                    return Err(StartError::NeedsFlags(scenario_args.to_vec()));
                }
                if let Some(person) = person {
                    return Err(StartError::NeedsPerson(person.username.clone()));
                }
                if store == Store::Postgres {
                    return Err(StartError::NeedsDatabase);
                }
                let cpus = match pid {
                    Some(pid) => cpu_list_len(&procfs::allowed_cpus(Proc::Pid(*pid))?).max(1),
                    None => 1,
                } as f64;
                Ok(Running {
                    urls: vec![WsUrl::parse(url)?],
                    parts: vec![Part::process("server", *pid)],
                    cpus,
                    args: Vec::new(),
                    broker_args: Vec::new(),
                    database_args: Vec::new(),
                    processes: Vec::new(),
                    broker: None,
                    database: None,
                })
            }
        }
    }

    /// A cluster for a scenario: a broker (and, with `--cluster-db
    /// postgres`, a PostgreSQL server), then `instances` servers with
    /// `--cluster` (and the same `--db`) and `scenario_args`, all on the
    /// server's CPU.
    pub fn start_cluster(
        &self,
        instances: usize,
        scenario_args: &[String],
    ) -> Result<Running, StartError> {
        let ServerSource::Spawn(settings) = &self.source else {
            return Err(StartError::NeedsCluster(instances));
        };
        let broker = BrokerProcess::start(settings.cpu)?;
        let database = match self.cluster_db {
            ClusterDb::Postgres => Some(DatabaseProcess::start(settings.cpu)?),
            ClusterDb::None => None,
        };
        let url = database.as_ref().map(|database| database.url.as_str());
        let args = cluster_args(&broker.url, scenario_args, url);
        // Started one after the other: a failure stops (drops) the others.
        let processes = (0..instances)
            .map(|_| ServerProcess::start(settings, &args))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| match err {
                ServerError::Startup { ref log, .. }
                    if database.is_some() && refuses_db_beside_cluster(log) =>
                {
                    StartError::ClusterRefusesDb(err)
                }
                err => StartError::Server(err),
            })?;
        Running::started(processes, Some(broker), database)
    }
}

/// `scenario_args` with `--db` and the database's URL first, when there is
/// one.
pub fn with_database(scenario_args: &[String], database_url: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = database_url
        .map(|url| vec!["--db".to_string(), url.to_owned()])
        .unwrap_or_default();
    args.extend(scenario_args.iter().cloned());
    args
}

/// The flags of every instance of a cluster: `--cluster` with the
/// broker's URL, `--db` with the database's when there is one, then the
/// scenario's.
pub fn cluster_args(
    broker_url: &str,
    scenario_args: &[String],
    database_url: Option<&str>,
) -> Vec<String> {
    let mut args = vec!["--cluster".to_string(), broker_url.to_owned()];
    args.extend(with_database(scenario_args, database_url));
    args
}

/// Whether a server's log says that it refused `--db` beside `--cluster`
/// (clap's conflict error, as the earlier cluster design declared it).
pub fn refuses_db_beside_cluster(log: &str) -> bool {
    log.contains("cannot be used with") && log.contains("--cluster") && log.contains("--db")
}

impl Running {
    /// The server side made of processes this benchmark started.
    fn started(
        processes: Vec<ServerProcess>,
        broker: Option<BrokerProcess>,
        database: Option<DatabaseProcess>,
    ) -> Result<Self, StartError> {
        let mut cpus = 1;
        for process in &processes {
            cpus = cpus.max(cpu_list_len(&process.allowed_cpus()?));
        }
        let named = processes.len() > 1 || broker.is_some();
        let mut parts: Vec<Part> = processes
            .iter()
            .enumerate()
            .map(|(i, process)| {
                let name = if named {
                    format!("instance {}", i + 1)
                } else {
                    "server".into()
                };
                Part::process(name, Some(process.pid))
            })
            .collect();
        parts.extend(
            broker
                .iter()
                .map(|broker| Part::process("broker", Some(broker.pid))),
        );
        parts.extend(database.iter().map(|database| Part {
            name: "database".into(),
            pid: Some(database.pid),
            tree: true,
        }));
        Ok(Self {
            urls: processes
                .iter()
                .map(|process| WsUrl::parse(&process.url))
                .collect::<Result<_, _>>()?,
            parts,
            cpus: cpus as f64,
            args: processes
                .first()
                .map(|process| process.args.clone())
                .unwrap_or_default(),
            broker_args: broker
                .as_ref()
                .map(|broker| broker.args.clone())
                .unwrap_or_default(),
            database_args: database
                .as_ref()
                .map(|database| database.args.clone())
                .unwrap_or_default(),
            processes,
            broker,
            database,
        })
    }

    /// PostgreSQL's own figures now, when the server side has one (see
    /// [`DatabaseProcess::stats`]: call it outside measured windows).
    pub fn db_stats(&self) -> Option<DbStats> {
        self.database.as_ref()?.stats().ok()
    }

    /// The (first) instance's URL.
    pub fn url(&self) -> &WsUrl {
        &self.urls[0]
    }

    /// Stops the processes this benchmark started, the instances before
    /// their broker and their database; returns a note for each that did
    /// not exit cleanly.
    pub fn stop(self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .processes
            .into_iter()
            .filter_map(ServerProcess::stop)
            .collect();
        notes.extend(self.broker.and_then(BrokerProcess::stop));
        notes.extend(self.database.and_then(DatabaseProcess::stop));
        notes
    }

    /// The server side's resident memory in KiB and its peak (each
    /// process's peak added up), when known; PostgreSQL's is its
    /// processes' PSS (see [`procfs::tree_memory`]).
    pub fn memory(&self) -> Option<Memory> {
        memory_of(&self.parts)
    }

    /// Each process's memory, in the order of [`Self::parts`].
    pub fn part_memory(&self) -> Vec<Option<Memory>> {
        self.parts
            .iter()
            .map(|part| memory_of(std::slice::from_ref(part)))
            .collect()
    }

    /// The end of the logs, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut logs: Vec<(&str, String)> = self
            .parts
            .iter()
            .zip(&self.processes)
            .map(|(part, process)| (part.name.as_str(), process.log_tail()))
            .collect();
        logs.extend(
            self.broker
                .as_ref()
                .map(|broker| ("broker", broker.log_tail())),
        );
        logs.extend(
            self.database
                .as_ref()
                .map(|database| ("database", database.log_tail())),
        );
        match logs.as_slice() {
            [(_, only)] => only.clone(),
            _ => logs
                .iter()
                .map(|(name, log)| format!("--- {name} ---\n{log}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// CPU times of the server side's processes and of this process now.
    pub fn sample(&self) -> Sample {
        Sample {
            at: Instant::now(),
            parts: self.parts.iter().map(Part::cpu_ticks).collect(),
            generator: procfs::cpu_ticks(Proc::Myself).ok(),
        }
    }
}

/// The memory of `parts` added up (peaks too); `None` unless every one
/// could be read.
pub fn memory_of(parts: &[Part]) -> Option<Memory> {
    parts.iter().try_fold(
        Memory {
            rss_kib: 0,
            peak_rss_kib: 0,
        },
        |sum, part| {
            let memory = part.memory()?;
            Some(Memory {
                rss_kib: sum.rss_kib + memory.rss_kib,
                peak_rss_kib: sum.peak_rss_kib + memory.peak_rss_kib,
            })
        },
    )
}

/// CPU times at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When.
    pub at: Instant,
    /// The CPU ticks of each process of the server side, when known.
    pub parts: Vec<Option<CpuTicks>>,
    /// The generator's CPU ticks.
    pub generator: Option<CpuTicks>,
}

/// Fewest server clock ticks from which CPU time per delivery is reported:
/// with 10 ms ticks, fewer would make it mostly rounding (below 10 %).
pub const MIN_TICKS_FOR_RATIO: u64 = 10;

/// The CPU time one process (or the whole server side) used between two
/// samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessCpu {
    /// CPU seconds.
    pub seconds: Option<f64>,
    /// CPU seconds, only when enough ticks passed to divide them by a
    /// count meaningfully (see [`MIN_TICKS_FOR_RATIO`]).
    pub seconds_precise: Option<f64>,
    /// CPU seconds per second per CPU the server side may use.
    pub utilisation: Option<f64>,
}

impl ProcessCpu {
    /// `ticks` over `wall` seconds on `cpus` CPUs.
    fn of(ticks: Option<u64>, ticks_per_s: u64, wall: f64, cpus: f64) -> Self {
        let seconds = ticks.map(|ticks| ticks as f64 / ticks_per_s as f64);
        Self {
            seconds,
            seconds_precise: seconds.filter(|_| ticks.is_some_and(|t| t >= MIN_TICKS_FOR_RATIO)),
            utilisation: seconds.filter(|_| wall > 0.0).map(|s| s / wall / cpus),
        }
    }

    /// Microseconds of CPU time per delivery, when precise enough.
    pub fn us_per(&self, deliveries: u64) -> Option<f64> {
        self.seconds_precise
            .filter(|_| deliveries > 0)
            .map(|s| s * 1e6 / deliveries as f64)
    }
}

/// CPU use between two samples.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// The server side's: its processes added up.
    pub server: ProcessCpu,
    /// Each process's, in the order of the samples' parts.
    pub parts: Vec<ProcessCpu>,
    /// Generator CPU seconds per second.
    pub generator_utilisation: Option<f64>,
}

/// The CPU use from `before` to `after`, for a server side that may use
/// `cpus`: its processes share them, so its utilisation is theirs added up.
pub fn cpu_use(before: &Sample, after: &Sample, ticks_per_s: u64, cpus: f64) -> CpuUse {
    let wall = after.at.saturating_duration_since(before.at).as_secs_f64();
    let ticks =
        |a: Option<CpuTicks>, b: Option<CpuTicks>| Some(b?.total().saturating_sub(a?.total()));
    let part_ticks: Vec<Option<u64>> = before
        .parts
        .iter()
        .zip(&after.parts)
        .map(|(a, b)| ticks(*a, *b))
        .collect();
    let total: Option<u64> = part_ticks.iter().copied().sum();
    let generator = ProcessCpu::of(
        ticks(before.generator, after.generator),
        ticks_per_s,
        wall,
        1.0,
    );
    CpuUse {
        server: ProcessCpu::of(total, ticks_per_s, wall, cpus),
        parts: part_ticks
            .into_iter()
            .map(|ticks| ProcessCpu::of(ticks, ticks_per_s, wall, cpus))
            .collect(),
        generator_utilisation: generator.utilisation,
    }
}

/// Each process's figures for a run that made `deliveries`, when the
/// server side has more than one (a cluster): its CPU time as measured by
/// `used` and its memory `memory` at the end, in the order of `parts`.
pub fn process_figures(
    parts: &[Part],
    used: &CpuUse,
    memory: &[Option<Memory>],
    deliveries: u64,
) -> Vec<ProcessFigures> {
    if parts.len() < 2 {
        return Vec::new();
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let cpu = used.parts.get(i).copied().unwrap_or_default();
            let memory = memory.get(i).copied().flatten();
            ProcessFigures {
                name: part.name.clone(),
                cpu_s: cpu.seconds,
                cpu_us_per_delivery: cpu.us_per(deliveries),
                cpu_utilisation: cpu.utilisation,
                rss_kib: memory.map(|m| m.rss_kib),
                peak_rss_kib: memory.map(|m| m.peak_rss_kib),
            }
        })
        .collect()
}

/// How many CPUs a kernel CPU list (`0`, `0-3`, `0,2-3`) names.
pub fn cpu_list_len(list: &str) -> usize {
    list.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('-') {
            Some((low, high)) => match (low.parse::<usize>(), high.parse::<usize>()) {
                (Ok(low), Ok(high)) if high >= low => high - low + 1,
                _ => 0,
            },
            None => usize::from(part.parse::<usize>().is_ok()),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instances_get_the_shared_database_beside_the_cluster_and_their_flags() {
        let pg = "postgres://postgres@127.0.0.1:5999/chat";
        let own = ["--stall-timeout".to_string(), "30s".to_string()];
        assert_eq!(
            cluster_args("redis://127.0.0.1:6390", &own, Some(pg)),
            [
                "--cluster",
                "redis://127.0.0.1:6390",
                "--db",
                pg,
                "--stall-timeout",
                "30s"
            ]
        );
        // --cluster-db none: the earlier cluster design, no --db.
        assert_eq!(
            cluster_args("redis://127.0.0.1:6390", &[], None),
            ["--cluster", "redis://127.0.0.1:6390"]
        );
        assert_eq!(
            with_database(&own, Some(pg)),
            ["--db", pg, "--stall-timeout", "30s"]
        );
        assert_eq!(with_database(&own, None), own);
        // The server then adds no temporary SQLite file of its own.
        let args = crate::server::server_args(
            std::path::Path::new("/tmp/x"),
            &cluster_args("redis://127.0.0.1:6390", &[], Some(pg)),
            &[],
        );
        assert_eq!(args.iter().filter(|arg| *arg == "--db").count(), 1);
    }

    #[test]
    fn a_server_that_refuses_db_beside_cluster_is_recognised() {
        let log = "error: the argument '--cluster <CLUSTER>' cannot be used with '--db <DB>'\n\nUsage: chat-server …";
        assert!(refuses_db_beside_cluster(log));
        assert!(!refuses_db_beside_cluster(
            "error: connection refused (--db postgres://…)"
        ));
    }

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(cpu_list_len("0"), 1);
        assert_eq!(cpu_list_len("0-1"), 2);
        assert_eq!(cpu_list_len("0,2-3\n"), 3);
        assert_eq!(cpu_list_len(""), 0);
    }

    #[test]
    fn cpu_use_is_ticks_over_wall_time() {
        let at = Instant::now();
        let ticks = |user, system| Some(CpuTicks { user, system });
        let before = Sample {
            at,
            parts: vec![ticks(100, 50)],
            generator: ticks(10, 0),
        };
        let after = Sample {
            at: at + Duration::from_secs(2),
            parts: vec![ticks(250, 100)],
            generator: ticks(110, 0),
        };
        let used = cpu_use(&before, &after, 100, 1.0);
        assert_eq!(used.server.seconds, Some(2.0));
        assert_eq!(used.server.seconds_precise, Some(2.0));
        assert_eq!(used.server.utilisation, Some(1.0));
        assert_eq!(used.generator_utilisation, Some(0.5));
        let unknown = Sample {
            parts: vec![None],
            ..after.clone()
        };
        assert_eq!(cpu_use(&before, &unknown, 100, 1.0).server.seconds, None);
        let few = Sample {
            parts: vec![ticks(101, 50)],
            ..after
        };
        let used = cpu_use(&before, &few, 100, 1.0);
        assert_eq!(
            (used.server.seconds, used.server.seconds_precise),
            (Some(0.01), None)
        );
    }

    #[test]
    fn a_clusters_processes_add_up_and_keep_their_own_figures() {
        let at = Instant::now();
        let ticks = |user| Some(CpuTicks { user, system: 0 });
        let before = Sample {
            at,
            parts: vec![ticks(0), ticks(0), ticks(0)],
            generator: ticks(0),
        };
        let after = Sample {
            at: at + Duration::from_secs(1),
            parts: vec![ticks(40), ticks(30), ticks(5)],
            generator: ticks(50),
        };
        // All three on one CPU: 75 % of it in all.
        let used = cpu_use(&before, &after, 100, 1.0);
        assert_eq!(used.server.seconds, Some(0.75));
        assert_eq!(used.server.utilisation, Some(0.75));
        let part = |name: &str, pid| Part::process(name, Some(pid));
        let parts = [
            part("instance 1", 1),
            part("instance 2", 2),
            part("broker", 3),
        ];
        let memory = |rss_kib| {
            Some(Memory {
                rss_kib,
                peak_rss_kib: rss_kib + 1,
            })
        };
        let figures = process_figures(&parts, &used, &[memory(100), memory(200), None], 100_000);
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["instance 1", "instance 2", "broker"]);
        assert_eq!(figures[0].cpu_us_per_delivery, Some(4.0));
        assert_eq!(figures[1].cpu_utilisation, Some(0.3));
        assert_eq!(figures[1].rss_kib, Some(200));
        // Five ticks are too few to divide, and the broker's memory was not read.
        assert_eq!(
            (figures[2].cpu_s, figures[2].cpu_us_per_delivery),
            (Some(0.05), None)
        );
        assert_eq!(figures[2].rss_kib, None);
        // One server alone has no breakdown.
        assert!(process_figures(&parts[..1], &used, &[], 1).is_empty());
    }
}
