//! The operating system calls the benchmark needs: CPU pinning, the
//! open-file limit, the clock tick, and spawning a process on a given CPU.
//!
//! All through `nix`'s safe wrappers (the workspace forbids `unsafe`).
//! Pinning uses `sched_setaffinity` directly rather than re-executing under
//! `taskset`: the generator pins itself before it starts any thread, and
//! the server is spawned from a short-lived thread pinned to the server's
//! CPU, so the server inherits that CPU from its very first instruction and
//! every thread it creates inherits it in turn.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::unistd::{sysconf, Pid, SysconfVar};
use std::process::{Child, Command};

/// Why a system call failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    /// Pinning to a CPU failed (for example, no such CPU).
    #[error("cannot pin to CPU {cpu}: {source}")]
    Pin {
        /// The CPU asked for.
        cpu: usize,
        /// The error from the kernel.
        source: nix::Error,
    },
    /// The open-file limit could not be read or raised.
    #[error("cannot raise the open-file limit: {0}")]
    FileLimit(nix::Error),
    /// `sysconf(_SC_CLK_TCK)` failed.
    #[error("cannot read the clock tick rate: {0}")]
    ClockTicks(String),
    /// The process could not be spawned.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Pins the calling thread to `cpu`. Threads it creates afterwards inherit
/// the pinning; call it before building the async runtime.
pub fn pin_current_thread(cpu: usize) -> Result<(), SystemError> {
    let mut set = CpuSet::new();
    set.set(cpu)
        .map_err(|source| SystemError::Pin { cpu, source })?;
    // Pid 0 is the calling thread.
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|source| SystemError::Pin { cpu, source })
}

/// The open-file limit before and after [`raise_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit found at start.
    pub before: u64,
    /// The soft limit now (the hard limit).
    pub after: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit: every connection is a
/// file descriptor, and the server spawned later inherits the raised limit.
pub fn raise_file_limit() -> Result<FileLimit, SystemError> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(SystemError::FileLimit)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(SystemError::FileLimit)?;
    }
    Ok(FileLimit {
        before: soft,
        after: hard,
    })
}

/// Clock ticks per second, the unit of CPU times in `/proc/<pid>/stat`.
pub fn clock_ticks_per_second() -> Result<u64, SystemError> {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => Ok(ticks.unsigned_abs()),
        Ok(other) => Err(SystemError::ClockTicks(format!("got {other:?}"))),
        Err(err) => Err(SystemError::ClockTicks(err.to_string())),
    }
}

/// Spawns `command`, pinned to `cpu` when one is given: the spawn happens
/// on a thread of its own pinned to that CPU, whose affinity the child
/// inherits, so that this process's own threads keep theirs.
pub fn spawn_pinned(command: &mut Command, cpu: Option<usize>) -> Result<Child, SystemError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let spawn = |command: &mut Command| {
        command.spawn().map_err(|source| SystemError::Spawn {
            program: program.clone(),
            source,
        })
    };
    let Some(cpu) = cpu else {
        return spawn(command);
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                pin_current_thread(cpu)?;
                spawn(command)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(SystemError::Spawn {
                    program: program.clone(),
                    source: std::io::Error::other("the spawning thread panicked"),
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::{allowed_cpus, Proc};

    #[test]
    fn clock_ticks_are_positive() {
        // 100 on every Linux of today; the value only has to be sane.
        let ticks = clock_ticks_per_second().expect("sysconf");
        assert!((1..=10_000).contains(&ticks), "{ticks}");
    }

    #[test]
    fn a_spawned_child_runs_on_the_cpu_it_was_pinned_to() {
        // The last CPU this process may use (CI may not offer CPU 0).
        let ours = nix::sched::sched_getaffinity(Pid::from_raw(0)).expect("our affinity");
        let cpu = (0..CpuSet::count())
            .rev()
            .find(|&cpu| ours.is_set(cpu).unwrap_or(false))
            .expect("some CPU");
        let mut sleep = Command::new("sleep");
        sleep.arg("5");
        let mut child = spawn_pinned(&mut sleep, Some(cpu)).expect("spawn sleep");
        let cpus = allowed_cpus(Proc::Pid(child.id()));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(cpus.expect("read the child's status"), cpu.to_string());
        // This process was not pinned by it.
        let after = nix::sched::sched_getaffinity(Pid::from_raw(0)).expect("our affinity");
        assert_eq!(after, ours);
    }

    #[test]
    fn pinning_to_a_cpu_that_does_not_exist_fails() {
        let result = std::thread::spawn(|| pin_current_thread(CpuSet::count() - 1))
            .join()
            .expect("the thread does not panic");
        assert!(result.is_err());
    }
}
