//! Reading `/proc`: a process's CPU time (`/proc/<pid>/stat`) and memory
//! (`/proc/<pid>/status`), the CPU time and memory of a whole process tree
//! (a PostgreSQL server: its postmaster and every process it forks), and
//! the machine's CPU model and kernel.
//!
//! The parsers take the file's text, so tests feed them real samples; the
//! readers around them only add the path and the I/O error.

use std::path::PathBuf;

/// Why a `/proc` file could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file could not be read (the process may have exited).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file's contents were not as the kernel documents them.
    #[error("unexpected contents in {what}: {detail}")]
    Format {
        /// Which file or field.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Which process to read: this one, or another by pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// The calling process (`/proc/self`).
    Myself,
    /// Another process.
    Pid(u32),
}

impl Proc {
    fn path(self, file: &str) -> PathBuf {
        match self {
            Self::Myself => PathBuf::from(format!("/proc/self/{file}")),
            Self::Pid(pid) => PathBuf::from(format!("/proc/{pid}/{file}")),
        }
    }
}

/// CPU time a process has used, in clock ticks (see `sysconf(_SC_CLK_TCK)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    /// Time in user mode (`utime`, field 14 of `stat`).
    pub user: u64,
    /// Time in kernel mode (`stime`, field 15 of `stat`).
    pub system: u64,
}

impl CpuTicks {
    /// User plus system time.
    pub fn total(self) -> u64 {
        self.user + self.system
    }
}

/// Memory figures of a process, in KiB, from `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size (`VmHWM`).
    pub peak_rss_kib: u64,
}

/// Reads the CPU time used so far by `proc`.
pub fn cpu_ticks(proc: Proc) -> Result<CpuTicks, ProcError> {
    parse_stat(&read(proc.path("stat"))?)
}

/// Reads the memory figures of `proc`.
pub fn memory(proc: Proc) -> Result<Memory, ProcError> {
    let status = read(proc.path("status"))?;
    Ok(Memory {
        rss_kib: status_kib(&status, "VmRSS")?,
        peak_rss_kib: status_kib(&status, "VmHWM")?,
    })
}

/// The CPUs `proc` may run on, as the kernel lists them (`Cpus_allowed_list`,
/// for example `0` or `0-1`).
pub fn allowed_cpus(proc: Proc) -> Result<String, ProcError> {
    let status = read(proc.path("status"))?;
    status_field(&status, "Cpus_allowed_list")
        .map(str::to_owned)
        .ok_or_else(|| format_error("status", "no Cpus_allowed_list line"))
}

/// One process as a tree walk sees it, from its `stat` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatEntry {
    /// Its pid (field 1).
    pub pid: u32,
    /// Its parent's pid (field 4).
    pub ppid: u32,
    /// Its own CPU time (fields 14 and 15).
    pub own: CpuTicks,
    /// The CPU time of its children that exited and that it waited for
    /// (`cutime`, `cstime`: fields 16 and 17), theirs included.
    pub reaped: CpuTicks,
}

/// Parses the fields of a `stat` line that a tree walk needs.
pub fn parse_stat_entry(stat: &str) -> Result<StatEntry, ProcError> {
    let (head, after_comm) = stat
        .rfind(')')
        .map(|end| (&stat[..end], &stat[end + 1..]))
        .ok_or_else(|| format_error("stat", "no ')' after the command name"))?;
    let pid = head
        .split_whitespace()
        .next()
        .and_then(|pid| pid.parse().ok())
        .ok_or_else(|| format_error("stat", "no pid before the command name"))?;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |number: usize, name: &str| -> Result<u64, ProcError> {
        let text = fields
            .get(number - 3)
            .ok_or_else(|| format_error("stat", format!("no field {number} ({name})")))?;
        text.parse()
            .map_err(|_| format_error("stat", format!("{name} is not a number: {text:?}")))
    };
    Ok(StatEntry {
        pid,
        ppid: u32::try_from(field(4, "ppid")?).unwrap_or(0),
        own: CpuTicks {
            user: field(14, "utime")?,
            system: field(15, "stime")?,
        },
        reaped: CpuTicks {
            user: field(16, "cutime")?,
            system: field(17, "cstime")?,
        },
    })
}

/// The pids of `root` and of every process below it among `entries`,
/// `root` first (none when `root` is not among them).
pub fn tree_pids(root: u32, entries: &[StatEntry]) -> Vec<u32> {
    if !entries.iter().any(|entry| entry.pid == root) {
        return Vec::new();
    }
    let mut tree = vec![root];
    let mut next = 0;
    // Breadth first; a pid is added once, so a cycle (impossible in a real
    // /proc, whose pids are unique) could not loop.
    while next < tree.len() {
        let parent = tree[next];
        for entry in entries {
            if entry.ppid == parent && entry.pid != root && !tree.contains(&entry.pid) {
                tree.push(entry.pid);
            }
        }
        next += 1;
    }
    tree
}

/// The CPU time of the tree under `root` among `entries`: each living
/// process's own time plus what it reaped from children that exited. A
/// process that exits between two samples is thereby counted before in
/// itself and after in its parent (PostgreSQL waits for every child it
/// forks), so short-lived backends and autovacuum workers are not lost,
/// and nothing is counted twice. `None` when `root` is not among them.
pub fn tree_ticks(root: u32, entries: &[StatEntry]) -> Option<CpuTicks> {
    let pids = tree_pids(root, entries);
    if pids.is_empty() {
        return None;
    }
    let mut sum = CpuTicks { user: 0, system: 0 };
    for entry in entries.iter().filter(|entry| pids.contains(&entry.pid)) {
        sum.user += entry.own.user + entry.reaped.user;
        sum.system += entry.own.system + entry.reaped.system;
    }
    Some(sum)
}

/// Every process of the machine, as far as its `stat` can be read (one
/// that exits meanwhile is skipped).
pub fn all_stat_entries() -> Result<Vec<StatEntry>, ProcError> {
    let dir = std::fs::read_dir("/proc").map_err(|source| ProcError::Read {
        path: PathBuf::from("/proc"),
        source,
    })?;
    Ok(dir
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| parse_stat_entry(&stat).ok())
        .collect())
}

/// Reads the CPU time used so far by the process tree under `root` (see
/// [`tree_ticks`]).
pub fn tree_cpu_ticks(root: u32) -> Result<CpuTicks, ProcError> {
    tree_ticks(root, &all_stat_entries()?)
        .ok_or_else(|| format_error("stat", format!("no process {root}")))
}

/// The proportional set size of `proc` in KiB (`Pss` of `smaps_rollup`):
/// its private memory plus its share of what it shares, so that the
/// processes of a PostgreSQL server, which all map its shared buffers,
/// add up to what the server holds rather than counting them once each.
pub fn pss_kib(proc: Proc) -> Result<u64, ProcError> {
    status_kib(&read(proc.path("smaps_rollup"))?, "Pss")
}

/// The memory of the tree under `root`: its processes' PSS added up, for
/// both figures (a peak PSS is not kept by the kernel).
pub fn tree_memory(root: u32) -> Result<Memory, ProcError> {
    let entries = all_stat_entries()?;
    let pids = tree_pids(root, &entries);
    if pids.is_empty() {
        return Err(format_error("stat", format!("no process {root}")));
    }
    let mut sum = 0;
    for pid in pids {
        // A backend may exit between the walk and the read.
        sum += pss_kib(Proc::Pid(pid)).unwrap_or(0);
    }
    Ok(Memory {
        rss_kib: sum,
        peak_rss_kib: sum,
    })
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid ...`. The command name
/// may itself hold spaces and parentheses, so fields are counted from the
/// last `)`; `utime` and `stime` are fields 14 and 15 of the whole line.
pub fn parse_stat(stat: &str) -> Result<CpuTicks, ProcError> {
    let after_comm = stat
        .rfind(')')
        .map(|end| &stat[end + 1..])
        .ok_or_else(|| format_error("stat", "no ')' after the command name"))?;
    // After the command name come field 3 (state) onwards, so field n is at
    // index n - 3 here.
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |number: usize, name: &str| -> Result<u64, ProcError> {
        let text = fields
            .get(number - 3)
            .ok_or_else(|| format_error("stat", format!("no field {number} ({name})")))?;
        text.parse()
            .map_err(|_| format_error("stat", format!("{name} is not a number: {text:?}")))
    };
    Ok(CpuTicks {
        user: field(14, "utime")?,
        system: field(15, "stime")?,
    })
}

/// The value in KiB of a `Name:   1234 kB` line of `/proc/<pid>/status`.
pub fn status_kib(status: &str, name: &'static str) -> Result<u64, ProcError> {
    let value = status_field(status, name)
        .ok_or_else(|| format_error("status", format!("no {name} line")))?;
    let number = value
        .strip_suffix("kB")
        .map(str::trim)
        .ok_or_else(|| format_error("status", format!("{name} is not in kB: {value:?}")))?;
    number
        .parse()
        .map_err(|_| format_error("status", format!("{name} is not a number: {value:?}")))
}

/// The trimmed value of the `name:` line of a `status`-like text.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim())
    })
}

/// The CPU model from `/proc/cpuinfo` (the first `model name`), if any.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// The number of `processor` entries in `/proc/cpuinfo`.
pub fn cpu_count(cpuinfo: &str) -> usize {
    cpuinfo
        .lines()
        .filter(|line| {
            line.split_once(':')
                .is_some_and(|(key, _)| key.trim() == "processor")
        })
        .count()
}

/// The 1-minute load average, the first field of `/proc/loadavg`.
pub fn load_average_1m(loadavg: &str) -> Option<f64> {
    loadavg.split_whitespace().next()?.parse().ok()
}

/// Reads this machine's 1-minute load average.
pub fn read_load_average_1m() -> Result<f64, ProcError> {
    let text = read(PathBuf::from("/proc/loadavg"))?;
    load_average_1m(&text).ok_or_else(|| format_error("loadavg", format!("{text:?}")))
}

/// Reads a file of `/proc` (or any text file) with the path in the error.
pub fn read(path: PathBuf) -> Result<String, ProcError> {
    std::fs::read_to_string(&path).map_err(|source| ProcError::Read { path, source })
}

fn format_error(what: &'static str, detail: impl Into<String>) -> ProcError {
    ProcError::Format {
        what,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line of `/proc/<pid>/stat`, with utime 1234 and stime 567.
    const STAT: &str = "4242 (chat-server) S 1 4242 4242 0 -1 4194560 3115 0 0 0 1234 567 0 0 20 0 9 0 8620 1084952576 3338 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";

    #[test]
    fn stat_gives_user_and_system_ticks() {
        let ticks = parse_stat(STAT).expect("a valid stat line");
        assert_eq!(
            ticks,
            CpuTicks {
                user: 1234,
                system: 567
            }
        );
        assert_eq!(ticks.total(), 1801);
    }

    #[test]
    fn stat_counts_fields_after_a_command_name_with_spaces_and_parens() {
        let tricky = STAT.replace("(chat-server)", "(a b) (c)");
        let ticks = parse_stat(&tricky).expect("a valid stat line");
        assert_eq!(
            ticks,
            CpuTicks {
                user: 1234,
                system: 567
            }
        );
    }

    #[test]
    fn truncated_or_garbled_stat_is_an_error() {
        assert!(parse_stat("4242 (x) S 1 2 3").is_err());
        assert!(parse_stat("no parenthesis at all").is_err());
        let garbled = STAT.replace(" 1234 ", " 12x4 ");
        assert!(parse_stat(&garbled).is_err());
    }

    /// A `stat` line with pid `pid`, parent `ppid`, and the four times.
    fn stat_line(pid: u32, ppid: u32, times: [u64; 4]) -> String {
        let [utime, stime, cutime, cstime] = times;
        format!("{pid} (postgres: chat) S {ppid} 4242 4242 0 -1 4194560 3115 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0 8620 1084952576 3338")
    }

    #[test]
    fn a_stat_entry_has_the_parent_and_the_reaped_childrens_time() {
        let entry = parse_stat_entry(STAT).expect("a valid stat line");
        assert_eq!((entry.pid, entry.ppid), (4242, 1));
        assert_eq!(entry.own.total(), 1801);
        assert_eq!(entry.reaped.total(), 0);
        let entry = parse_stat_entry(&stat_line(7, 3, [1, 2, 30, 40])).expect("valid");
        assert_eq!(
            (
                entry.pid,
                entry.ppid,
                entry.reaped.user,
                entry.reaped.system
            ),
            (7, 3, 30, 40)
        );
        assert!(parse_stat_entry("x (y) S").is_err());
    }

    #[test]
    fn a_trees_time_is_its_living_processes_and_what_they_reaped() {
        let entries: Vec<StatEntry> = [
            stat_line(1, 0, [1_000, 1_000, 0, 0]),
            // The postmaster, which reaped 5 + 5 ticks of a backend.
            stat_line(100, 1, [10, 20, 5, 5]),
            stat_line(101, 100, [100, 50, 0, 0]),
            stat_line(102, 100, [7, 3, 0, 0]),
            // A grandchild.
            stat_line(103, 102, [1, 1, 0, 0]),
            // Another tree.
            stat_line(200, 1, [500, 500, 0, 0]),
        ]
        .iter()
        .map(|line| parse_stat_entry(line).expect("valid"))
        .collect();
        assert_eq!(tree_pids(100, &entries), [100, 101, 102, 103]);
        let ticks = tree_ticks(100, &entries).expect("the tree");
        assert_eq!(
            (ticks.user, ticks.system),
            (10 + 5 + 100 + 7 + 1, 20 + 5 + 50 + 3 + 1)
        );
        assert_eq!(tree_ticks(999, &entries), None);
        // Backend 101 exits and is reaped: its time moves to the
        // postmaster, and the tree's total does not change.
        let after: Vec<StatEntry> = entries
            .iter()
            .filter(|entry| entry.pid != 101)
            .map(|entry| match entry.pid {
                100 => StatEntry {
                    reaped: CpuTicks {
                        user: 105,
                        system: 55,
                    },
                    ..*entry
                },
                _ => *entry,
            })
            .collect();
        assert_eq!(tree_ticks(100, &after), Some(ticks));
    }

    #[test]
    fn this_process_tree_can_be_read() {
        let me = std::process::id();
        // Ourselves first: the tree, read later, has had more time.
        let own = cpu_ticks(Proc::Myself).expect("our ticks").total();
        assert!(tree_cpu_ticks(me).expect("our tree").total() >= own);
        assert!(tree_memory(me).expect("our PSS").rss_kib > 0);
    }

    const STATUS: &str = "Name:\tchat-server\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1059524 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   13352 kB\nThreads:\t9\nCpus_allowed_list:\t0\n";

    #[test]
    fn status_gives_rss_and_peak_in_kib() {
        assert_eq!(status_kib(STATUS, "VmRSS").expect("VmRSS"), 13352);
        assert_eq!(status_kib(STATUS, "VmHWM").expect("VmHWM"), 20480);
        assert_eq!(status_field(STATUS, "Cpus_allowed_list"), Some("0"));
    }

    #[test]
    fn status_without_the_field_or_unit_is_an_error() {
        assert!(status_kib(STATUS, "VmSwap").is_err());
        assert!(status_kib("VmRSS:\t13352 MB\n", "VmRSS").is_err());
        // `VmRSSx` is another field, not `VmRSS`.
        assert!(status_kib("VmRSSx:\t1 kB\n", "VmRSS").is_err());
    }

    #[test]
    fn cpuinfo_gives_model_and_count() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_count(cpuinfo), 2);
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn loadavg_gives_the_one_minute_figure() {
        assert_eq!(load_average_1m("0.19 1.17 1.41 3/100 29673\n"), Some(0.19));
        assert_eq!(load_average_1m(""), None);
        assert_eq!(load_average_1m("x 1 2"), None);
        assert!(read_load_average_1m().expect("/proc/loadavg") >= 0.0);
    }

    #[test]
    fn this_process_can_be_read() {
        cpu_ticks(Proc::Myself).expect("read /proc/self/stat");
        let memory = memory(Proc::Myself).expect("read /proc/self/status");
        assert!(memory.rss_kib > 0 && memory.peak_rss_kib >= memory.rss_kib);
        assert!(!allowed_cpus(Proc::Myself)
            .expect("Cpus_allowed_list")
            .is_empty());
    }
}
