//! Logging: `tracing` to stderr, filtered by `RUST_LOG` as usual, as text
//! or as JSON lines (`--log-format json`). Every event inside a connection
//! carries that connection's span (client id and peer address). No event
//! ever carries a message's text.

use crate::config::LogFormat;
use crate::hub::TRACER;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set: the server's own events at info
/// level, other crates' warnings.
pub const DEFAULT_LOG_FILTER: &str = "warn,chat_server=info,chat_server_bin=info";

/// Installs the global subscriber. With `trace` (the `--trace` flag) the
/// room tracer logs joins, leaves and forwards at debug level; without it the
/// tracer is silent even when `RUST_LOG` asks for debug everywhere.
pub fn init(trace: bool, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let tracer = format!("{TRACER}={}", if trace { "debug" } else { "off" });
    let filter = match tracer.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colors for a person at a terminal, plain text for log files.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
