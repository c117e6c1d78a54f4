//! `chat-bench`, the load benchmark of the chat server.
//!
//! It starts `chat-server` itself (pinned to CPU 0, on a free port, with a
//! fresh temporary SQLite database) or targets a running one, drives it
//! with real WebSocket clients speaking protocol version 2 over TCP, each
//! signed in as a bot account of its own (an API token made in bulk: see
//! [`bots`]), and measures
//! every delivery: each message's text carries its publisher, its sequence
//! number and when it was meant to be sent, every delivery's latency goes
//! into an HDR histogram, and every member's deliveries are checked against
//! what was sent (0 lost, 0 duplicated, in order), a wrong result failing
//! the scenario. Around each run it reads the server's CPU time and memory
//! from `/proc`, and its own CPU time, to say which side was saturated.
//!
//! The cluster scenarios of issue 6 start a `redis-server` and two
//! instances with `--cluster` instead, all on the server's CPU, spread one
//! room's members over both, and show their figures, process by process,
//! beside those of the single server's equivalent run in the same
//! invocation (`chat-bench run fanout-100k fanout-cluster`).
//!
//! `chat-bench all` runs every scenario of issues 5 and 6 (a warm-up, then
//! 5 runs each), prints one line per scenario and writes `results.json`,
//! `latency.svg` and `results.md` (the table of `docs/BENCHMARKS.md`).
//! See `docs/BENCHMARKS.md` for the method and the commands.
//!
//! Issue 13 adds a `-postgres` variant of each fan-out (the server's
//! history in a PostgreSQL the benchmark starts, on the server's CPU, its
//! processes' CPU time counted as the server side's), `commit-rate` on
//! each store, and `--cluster-db` for the cluster scenarios.
//!
//! The generator is single-threaded by design: one current-thread Tokio
//! runtime pinned to its own CPU, all clients as local tasks sharing one
//! recorder without locks.
//!
//! # Layout
//!
//! - [`cli`]: the command line.
//! - [`app`]: the top: preparing the process, running scenarios, writing
//!   the outputs (the only place with `anyhow`).
//! - [`scenarios`]: the scenarios, their sizes and goals, and how each runs
//!   ([`scenarios::context`]: the server under test and the probes).
//! - [`server`]: starting and stopping a `chat-server` process (and the
//!   cluster scenarios' `redis-server`); the flags it is given
//!   ([`server::BENCH_SERVER_FLAGS`]).
//! - [`database`]: the PostgreSQL server of the `-postgres` variants and
//!   of clusters on PostgreSQL.
//! - [`signin`]: password sign-ins beside a load (`POST /api/session`).
//! - [`http`]: one HTTP/1.1 request on a new connection (sign-ins, the
//!   API calls of rooms-200, the `/metrics` scrape).
//! - [`scrape`]: the server's `/metrics` (messages committed, commit time).
//! - [`bots`]: the bot accounts and API tokens the clients sign in with,
//!   made in bulk by every server the benchmark starts (`--bot-tokens`).
//! - [`client`]: the simulated clients (members, publishers, churners,
//!   stalled members) and the [`client::Recorder`] they report to.
//! - [`ws`]: a lean WebSocket client over TCP; its readers answer the
//!   server's pings.
//! - [`wire`]: protocol v1 frames, the fast path for reading messages, the
//!   stamp in each message's text.
//! - [`ledger`]: loss and duplicate accounting per member.
//! - [`pacing`]: the open-loop send schedule.
//! - [`stats`]: HDR latency histograms, median and spread.
//! - [`figures`]: a run's figures, the metrics and the goals.
//! - [`floor`]: `write-floor`, what bare loopback TCP writes cost a core
//!   (the kernel's floor under the server's figures), with its sink.
//! - [`report`]: the summary lines, the JSON report and the markdown table.
//! - [`plot`]: the SVG plot of latency against load.
//! - [`procfs`]: reading `/proc` (a process, or a whole process tree);
//!   [`system`]: CPU pinning, open-file limit,
//!   clock ticks.

pub mod app;
pub mod bots;
pub mod cli;
pub mod client;
pub mod database;
pub mod figures;
pub mod floor;
pub mod http;
pub mod ledger;
pub mod pacing;
pub mod plot;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod scrape;
pub mod server;
pub mod signin;
pub mod stats;
pub mod system;
pub mod wire;
pub mod ws;

#[cfg(test)]
mod test_support;
