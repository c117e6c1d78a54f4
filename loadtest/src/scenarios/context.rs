//! What every scenario runs against: the server (started per scenario, or
//! per run where runs must not share state, or an external one), the
//! generator's clock, and the probes that read CPU time and memory.

use crate::client::Clock;
use crate::procfs::{self, CpuTicks, Proc, ProcError};
use crate::server::{ServerError, ServerProcess, ServerSettings};
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
}

/// A server a scenario (or run) uses.
pub struct Running {
    /// Its WebSocket URL.
    pub url: WsUrl,
    /// Its pid, when known.
    pub pid: Option<u32>,
    /// How many CPUs it may use (for its utilisation).
    pub cpus: f64,
    /// The arguments it was started with (empty for an external server).
    pub args: Vec<String>,
    process: Option<ServerProcess>,
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
        self.start_server(&[])
    }

    /// A server for a scenario that needs `scenario_args`.
    pub fn start_server(&self, scenario_args: &[String]) -> Result<Running, StartError> {
        match &self.source {
            ServerSource::Spawn(settings) => {
                let process = ServerProcess::start(settings, scenario_args)?;
                let cpus = cpu_list_len(&process.allowed_cpus()?).max(1) as f64;
                Ok(Running {
                    url: WsUrl::parse(&process.url)?,
                    pid: Some(process.pid),
                    cpus,
                    args: process.args.clone(),
                    process: Some(process),
                })
            }
            ServerSource::External { url, pid } => {
                if !scenario_args.is_empty() {
                    return Err(StartError::NeedsFlags(scenario_args.to_vec()));
                }
                let cpus = match pid {
                    Some(pid) => cpu_list_len(&procfs::allowed_cpus(Proc::Pid(*pid))?).max(1),
                    None => 1,
                } as f64;
                Ok(Running {
                    url: WsUrl::parse(url)?,
                    pid: *pid,
                    cpus,
                    args: Vec::new(),
                    process: None,
                })
            }
        }
    }
}

impl Running {
    /// Stops a server this benchmark started; returns a note if it did not
    /// exit cleanly.
    pub fn stop(self) -> Option<String> {
        self.process.and_then(ServerProcess::stop)
    }

    /// The server's resident memory in KiB and its peak, when known.
    pub fn memory(&self) -> Option<procfs::Memory> {
        self.pid.and_then(|pid| procfs::memory(Proc::Pid(pid)).ok())
    }

    /// The end of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.process
            .as_ref()
            .map(ServerProcess::log_tail)
            .unwrap_or_default()
    }

    /// CPU times of the server and of this process now.
    pub fn sample(&self) -> Sample {
        Sample {
            at: Instant::now(),
            server: self
                .pid
                .and_then(|pid| procfs::cpu_ticks(Proc::Pid(pid)).ok()),
            generator: procfs::cpu_ticks(Proc::Myself).ok(),
        }
    }
}

/// CPU times at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When.
    pub at: Instant,
    /// The server's CPU ticks, when known.
    pub server: Option<CpuTicks>,
    /// The generator's CPU ticks.
    pub generator: Option<CpuTicks>,
}

/// Fewest server clock ticks from which CPU time per delivery is reported:
/// with 10 ms ticks, fewer would make it mostly rounding (below 10 %).
pub const MIN_TICKS_FOR_RATIO: u64 = 10;

/// CPU use between two samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// Server CPU seconds.
    pub server_s: Option<f64>,
    /// Server CPU seconds, only when enough ticks passed to divide them
    /// by a count meaningfully (see [`MIN_TICKS_FOR_RATIO`]).
    pub server_s_precise: Option<f64>,
    /// Server CPU seconds per second per CPU it may use.
    pub server_utilisation: Option<f64>,
    /// Generator CPU seconds per second.
    pub generator_utilisation: Option<f64>,
}

/// The CPU use from `before` to `after`, for a server that may use `cpus`.
pub fn cpu_use(before: &Sample, after: &Sample, ticks_per_s: u64, cpus: f64) -> CpuUse {
    let wall = after.at.saturating_duration_since(before.at).as_secs_f64();
    let seconds = |a: Option<CpuTicks>, b: Option<CpuTicks>| {
        Some(b?.total().saturating_sub(a?.total()) as f64 / ticks_per_s as f64)
    };
    let server_s = seconds(before.server, after.server);
    let server_ticks = match (before.server, after.server) {
        (Some(a), Some(b)) => b.total().saturating_sub(a.total()),
        _ => 0,
    };
    let generator_s = seconds(before.generator, after.generator);
    let per_wall = |s: Option<f64>, cpus: f64| s.filter(|_| wall > 0.0).map(|s| s / wall / cpus);
    CpuUse {
        server_s,
        server_s_precise: server_s.filter(|_| server_ticks >= MIN_TICKS_FOR_RATIO),
        server_utilisation: per_wall(server_s, cpus),
        generator_utilisation: per_wall(generator_s, 1.0),
    }
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
            server: ticks(100, 50),
            generator: ticks(10, 0),
        };
        let after = Sample {
            at: at + Duration::from_secs(2),
            server: ticks(250, 100),
            generator: ticks(110, 0),
        };
        let used = cpu_use(&before, &after, 100, 1.0);
        assert_eq!(used.server_s, Some(2.0));
        assert_eq!(used.server_s_precise, Some(2.0));
        assert_eq!(used.server_utilisation, Some(1.0));
        assert_eq!(used.generator_utilisation, Some(0.5));
        let unknown = Sample {
            server: None,
            ..after
        };
        assert_eq!(cpu_use(&before, &unknown, 100, 1.0).server_s, None);
        let few = Sample {
            server: ticks(101, 50),
            ..after
        };
        let used = cpu_use(&before, &few, 100, 1.0);
        assert_eq!((used.server_s, used.server_s_precise), (Some(0.01), None));
    }
}
