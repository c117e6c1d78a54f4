//! The top: prepares the process (CPU pinning, open-file limit), runs the
//! chosen scenarios one after the other, prints a line per scenario and
//! writes the JSON report, the SVG plot and the markdown table. Errors are
//! `anyhow` here and only here.

use crate::cli::{Cli, Command, FloorArgs, RunArgs};
use crate::client::Clock;
use crate::floor::{self, FloorPlan, FloorReport};
use crate::report::{self, Machine, Report, Setup, Verdict};
use crate::scenarios::context::{Context, ServerSource};
use crate::scenarios::{self, Scenario, DEFAULT_DURATION, MIN_DURATION};
use crate::server::{ServerSettings, BENCH_SERVER_FLAGS};
use crate::{bots, plot, procfs, system, wire};
use anyhow::{bail, Context as _};
use std::process::ExitCode;
use std::time::Duration;

/// File names written to `--out`.
pub const JSON_FILE: &str = "results.json";
/// The plot.
pub const SVG_FILE: &str = "latency.svg";
/// The markdown block.
pub const TABLE_FILE: &str = "results.md";

/// Runs the command line; the exit code says whether every scenario
/// produced correct results.
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List { scale } => {
            list(scale);
            Ok(ExitCode::SUCCESS)
        }
        Command::DecodeCost => {
            let cost = wire::measure_decode_cost()?;
            println!(
                "reading a message frame: fast path {:.0} ns, full serde decode {:.0} ns ({} frames each)",
                cost.fast_path_ns,
                cost.full_decode_ns,
                wire::DECODE_COST_FRAMES
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::WriteFloor(args) => write_floor(args),
        Command::WriteFloorSink { port, connections } => {
            let report = floor::run_sink(port, connections)?;
            // The writer reads this line (and only this) from our stdout.
            println!("{}", report.line());
            Ok(ExitCode::SUCCESS)
        }
        Command::All(args) => bench(
            args,
            scenarios::NAMES.iter().map(|s| s.to_string()).collect(),
        ),
        Command::Run { scenarios, args } => bench(args, scenarios),
    }
}

/// `write-floor`: measures, prints, and writes the JSON file if asked.
/// Wrong counts or a sink that fails are errors (exit status 1).
fn write_floor(args: FloorArgs) -> anyhow::Result<ExitCode> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    // Read before the measurement adds to it.
    let load_average_1m = procfs::read_load_average_1m().ok();
    let frame_bytes = match args.frame_bytes {
        Some(bytes) => bytes,
        None => floor::server_frame_bytes(wire::typical_message_frame()?.len()),
    };
    let plan = FloorPlan {
        connections: args.connections,
        frame_bytes,
        batch: args.batch,
        warmup_rounds: args.warmup,
        rounds: args.rounds,
        pause: Duration::from_millis(args.pause_ms),
        writer_cpu: (!args.pinning.no_pin).then_some(args.pinning.server_cpu),
        sink_cpu: (!args.pinning.no_pin).then_some(args.pinning.generator_cpu),
    };
    let exe = std::env::current_exe().context("finding this binary, to start the sink")?;
    if let Some(load) = load_average_1m {
        eprintln!("load average (1 min) at the start: {load:.2}");
    }
    let figures = floor::measure(&plan, &exe).context("write-floor")?;
    for line in floor::lines(&figures) {
        println!("{line}");
    }
    if let Some(path) = &args.json {
        let report = FloorReport {
            machine: Machine::read(),
            command,
            load_average_1m,
            figures,
        };
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(scale: f64) {
    for scenario in scenarios::catalogue(scale, paced_duration(scale, None)) {
        let goals: Vec<String> = scenario.goals.iter().map(|g| g.describe()).collect();
        println!(
            "{:<18} {}\n{:<18} goals: {}",
            scenario.name,
            scenario.what,
            "",
            goals.join(", ")
        );
    }
}

/// The length of paced runs: given, or 5 s shrunk with the scale (≥ 1 s).
fn paced_duration(scale: f64, given: Option<f64>) -> Duration {
    match given {
        Some(secs) => Duration::from_secs_f64(secs),
        None => DEFAULT_DURATION.mul_f64(scale).max(MIN_DURATION),
    }
}

fn bench(args: RunArgs, names: Vec<String>) -> anyhow::Result<ExitCode> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let pinning = &args.pinning;
    let generator_cpu = (!pinning.no_pin).then_some(pinning.generator_cpu);
    let server_cpu = (!pinning.no_pin && args.url.is_none()).then_some(pinning.server_cpu);
    if let Some(cpu) = generator_cpu {
        // Before any other thread exists: the runtime's threads inherit it.
        system::pin_current_thread(cpu)
            .context("pinning the generator (use --generator-cpu N or --no-pin)")?;
    }
    let limit = system::raise_file_limit()?;
    eprintln!(
        "open files: soft limit {} -> {} (the hard limit; started servers inherit it)",
        limit.before, limit.after
    );
    let ticks_per_s = system::clock_ticks_per_second()?;
    let duration = paced_duration(args.scale, args.duration);
    let all = scenarios::catalogue(args.scale, duration);
    let chosen: Vec<Scenario> = names
        .iter()
        .filter_map(|name| all.iter().find(|s| s.name == name).cloned())
        .collect();
    if chosen.is_empty() {
        bail!("no scenario to run");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let source = match &args.url {
        Some(url) => ServerSource::External {
            url: url.clone(),
            pid: args.server_pid,
        },
        None => ServerSource::Spawn(ServerSettings {
            binary: args.server.clone(),
            cpu: server_cpu,
            extra_args: args.server_args.clone(),
            bot_tokens: None,
        }),
    };
    // Removed when the run ends (the pool itself lives in a static).
    let bots_dir = tempfile::Builder::new()
        .prefix("chat-bench-bots")
        .tempdir()
        .context("a temporary directory for the bot tokens")?;
    let pool = match &args.bot_tokens {
        Some(file) if file.exists() => bots::BotPool::read(file)?,
        Some(file) => bots::BotPool::in_file(bots::BOT_ACCOUNTS, file)?,
        None => {
            bots::BotPool::in_file(bots::BOT_ACCOUNTS, &bots_dir.path().join("bot-tokens.txt"))?
        }
    };
    let pool = bots::install(if args.one_account {
        eprintln!("--one-account: every client signs in as the same account");
        pool.on_one_account()
    } else {
        pool
    });
    eprintln!(
        "bot accounts: {} in {} (every started server gets it as --bot-tokens)",
        pool.len(),
        pool.file().display()
    );
    let mut source = source;
    if let ServerSource::Spawn(settings) = &mut source {
        settings.bot_tokens = Some(pool.file().to_owned());
    }
    let decode_cost = wire::measure_decode_cost().ok();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ctx = Context {
        clock: Clock::start(),
        ticks_per_s,
        source,
        tag: format!("b{}", radix36(started)),
        warmups: args.warmup,
        runs: args.runs,
        cluster_db: args.cluster_db,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the Tokio runtime")?;
    let local = tokio::task::LocalSet::new();
    let results = local.block_on(&runtime, async {
        let mut results = Vec::new();
        for scenario in chosen {
            eprintln!("{}: {}", scenario.name, scenario.what);
            let outcome = scenarios::run(&ctx, &scenario).await;
            if let Some(failure) = &outcome.failure {
                eprintln!("{}: FAILED: {failure}", scenario.name);
            }
            results.push((scenario, outcome));
        }
        results
    });
    let machine = Machine::read();
    let setup = Setup {
        command,
        scale: args.scale,
        runs: args.runs,
        warmups: args.warmup,
        duration_s: duration.as_secs_f64(),
        server: args.url.clone().unwrap_or_else(|| args.server.display().to_string()),
        server_cpu,
        generator_cpu,
        pinning: "sched_setaffinity: the generator pins itself before starting threads; each server is spawned from a thread pinned to its CPU".into(),
        file_limit: if limit.before < limit.after {
            format!("soft limit raised from {} to the hard limit, {}", limit.before, limit.after)
        } else {
            format!("{} (already the hard limit)", limit.after)
        },
        clock_ticks: ticks_per_s,
        decode_cost,
        bench_server_flags: BENCH_SERVER_FLAGS.iter().map(|f| f.to_string()).collect(),
        extra_server_args: args.server_args.clone(),
        started_unix_s: started,
    };
    let report = Report {
        machine,
        setup,
        scenarios: report::build(results),
    };
    println!();
    for scenario in &report.scenarios {
        println!("{}", report::line(scenario));
    }
    write_outputs(&report, &args)?;
    let failed = report
        .scenarios
        .iter()
        .any(|s| s.verdict == Verdict::Failed);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn write_outputs(report: &Report, args: &RunArgs) -> anyhow::Result<()> {
    let json = args.out.join(JSON_FILE);
    report::write_json(report, &json).with_context(|| format!("writing {}", json.display()))?;
    let svg = args.out.join(SVG_FILE);
    let members = scenarios::fanout_members(report.setup.scale);
    let title = format!("chat-server delivery latency, 1 room of {members} members");
    plot::draw(&plot::points(&report.scenarios), &title, &svg)?;
    let block = report::markdown(report);
    let table = args.out.join(TABLE_FILE);
    std::fs::write(&table, &block).with_context(|| format!("writing {}", table.display()))?;
    eprintln!(
        "wrote {}, {} and {}",
        json.display(),
        svg.display(),
        table.display()
    );
    if let Some(doc) = &args.doc {
        let text =
            std::fs::read_to_string(doc).with_context(|| format!("reading {}", doc.display()))?;
        let Some(updated) = report::replace_block(&text, &block) else {
            bail!(
                "{} has no generated block: add the lines {} and {}",
                doc.display(),
                report::DOC_BEGIN,
                report::DOC_END
            );
        };
        std::fs::write(doc, updated).with_context(|| format!("writing {}", doc.display()))?;
        eprintln!("updated the results table in {}", doc.display());
    }
    Ok(())
}

/// `n` in base 36 (lower case), for short room-name tags.
fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_runs_shrink_with_the_scale_but_not_below_a_second() {
        assert_eq!(paced_duration(1.0, None), Duration::from_secs(5));
        assert_eq!(paced_duration(0.5, None), Duration::from_millis(2500));
        assert_eq!(paced_duration(0.05, None), Duration::from_secs(1));
        assert_eq!(paced_duration(0.05, Some(3.0)), Duration::from_secs(3));
    }

    #[test]
    fn tags_are_base_36() {
        assert_eq!(radix36(0), "0");
        assert_eq!(radix36(35), "z");
        assert_eq!(radix36(36 * 36), "100");
    }
}
