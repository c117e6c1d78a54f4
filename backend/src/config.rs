//! Configuration: one clap struct; every flag also reads an environment
//! variable, so a deployment can use either.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Bytes a client's outgoing queue holds by default (see
/// `--client-queue-bytes`): thousands of ordinary chat frames, so a client
/// that reads normally never overflows it even when a committed batch of
/// messages is broadcast at once. Frames in it are shared between
/// recipients, so this bounds, rather than costs, memory.
pub const DEFAULT_CLIENT_QUEUE_BYTES: usize = 8 * 1024 * 1024;

/// Smallest allowed `--client-queue-bytes`: the largest frame the server
/// sends (a `joined` frame with a full history) must fit.
pub const MIN_CLIENT_QUEUE_BYTES: usize = 1024 * 1024;

/// Largest WebSocket message a client may send by default, in bytes (see
/// `--max-message-bytes`): room for a message of the longest allowed text in
/// any script sent as plain UTF-8 (4,000 characters of up to 4 bytes) plus
/// its JSON frame. A client that escapes every character (`\uXXXX`) fits
/// less text in it; clients should send UTF-8 unescaped.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 16 * 1024;

/// The chat server: rooms over WebSocket, history in SQLite, and the web client.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version, about, long_about = None)]
pub struct Config {
    /// Address (IP:port) to listen on for HTTP and WebSocket connections.
    #[arg(long, env = "CHAT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// SQLite database file holding the message history; created if missing.
    #[arg(long, env = "CHAT_DB", default_value = "chat.db")]
    pub db: PathBuf,

    /// Serve the web client from this directory (`trunk build` writes
    /// `dist`) instead of the copy built into a release binary. Without it,
    /// a binary that embeds no client serves `dist`.
    #[arg(long, env = "CHAT_DIST")]
    pub dist: Option<PathBuf>,

    /// Trace room activity: log every join, leave and forwarded message at
    /// debug level (never message text).
    #[arg(long, env = "CHAT_TRACE")]
    pub trace: bool,

    /// A web origin allowed to open WebSockets besides the server's own
    /// host, matched exactly (e.g. `https://chat.example.com`). Repeatable;
    /// in the environment, separate origins with commas.
    #[arg(
        long = "allowed-origin",
        env = "CHAT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Bytes of frames that may wait to be written to one client. A client
    /// with more does not read fast enough and is disconnected (close code
    /// 1013). While more than half waits, the server stops reading the
    /// client's own requests, so one that posts faster than it reads slows
    /// down instead.
    #[arg(long, env = "CHAT_CLIENT_QUEUE_BYTES", default_value_t = DEFAULT_CLIENT_QUEUE_BYTES, value_parser = parse_client_queue_bytes)]
    pub client_queue_bytes: usize,

    /// Largest WebSocket message a client may send, in bytes; a larger one
    /// closes its connection (close code 1009).
    #[arg(long, env = "CHAT_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES, value_parser = clap::value_parser!(u32).range(256..))]
    pub max_message_bytes: u32,
}

fn parse_client_queue_bytes(value: &str) -> Result<usize, String> {
    let bytes: usize = value.parse().map_err(|err| format!("{err}"))?;
    if bytes < MIN_CLIENT_QUEUE_BYTES {
        return Err(format!("must be at least {MIN_CLIENT_QUEUE_BYTES} bytes"));
    }
    Ok(bytes)
}
