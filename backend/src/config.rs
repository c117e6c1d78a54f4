//! Configuration: one clap struct; every flag also reads an environment
//! variable, so a deployment can use either.

use clap::builder::RangedU64ValueParser;
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::store::{Database, Durability};
use common::api::accounts::SignupMode;

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

/// Messages (`send` frames) one connection may post in a burst by default
/// (see `--rate-limit-burst`): a person pasting a few lines quickly is not
/// slowed down.
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 10;

/// Messages per second one connection may post by default once its burst
/// is spent (see `--rate-limit-per-second`): faster than anyone types.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: f64 = 2.0;

/// Connections the server holds at once by default (see
/// `--max-connections`); well under the 20,000 open files a process may
/// have here, leaving room for the database and the listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Connections one IP address may hold at once by default (see
/// `--max-connections-per-ip`): a household or an office behind one
/// address fits; one host cannot take the whole server.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 128;

/// Rooms one connection may be in at once by default (see
/// `--max-rooms-per-connection`).
pub const DEFAULT_MAX_ROOMS_PER_CONNECTION: usize = 32;

/// How often the server pings each connection by default (see
/// `--ping-interval`); under common proxy idle timeouts (60 s).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(25);

/// How long a connection may send nothing at all (not even the pong to a
/// ping) before it is presumed dead and closed, by default (see
/// `--idle-timeout`). Two pings fit in it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a new connection may stay without joining a room by default
/// (see `--join-timeout`).
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one write to a client (a burst of frames) may take by default
/// (see `--write-timeout`) before the client is presumed stuck.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client that frames are being sent to may leave a ping
/// unanswered by default (see `--stall-timeout`). With a probe at most a
/// second after the client stopped reading, it is closed within 4 s, while
/// one on a slow mobile link still has seconds to answer.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a client may take to send a request's headers by default (see
/// `--header-read-timeout`): a slowloris client that trickles them holds a
/// connection no longer than this.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the fields of the enclosing spans
    /// (the connection's id and peer address), for log collectors.
    Json,
}

/// The chat server: rooms over WebSocket, history in SQLite, and the web client.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version, about, long_about = None)]
pub struct Config {
    /// Address (IP:port) to listen on for HTTP and WebSocket connections.
    #[arg(long, env = "CHAT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Where the message history is kept: a SQLite file (created if
    /// missing), a PostgreSQL URL (`postgres://user[:password]@host[:port]/database`),
    /// or `:memory:` (in memory only, lost on exit).
    #[arg(long, env = "CHAT_DB", default_value = "chat.db")]
    pub db: Database,

    /// Cluster mode: the Redis server (`redis://host:port[/db]`) that this
    /// instance and every other one with the same URL share live events
    /// through (messages, presence, liveness). Needs a PostgreSQL `--db`,
    /// the same for every instance: history, ids and nonces are kept
    /// there. See docs/SCALING.md.
    #[arg(long, env = "CHAT_CLUSTER")]
    pub cluster: Option<String>,

    /// What a stored message survives: `process` (a crash of the server,
    /// `kill -9`) or `machine` (also a power failure; each commit waits for
    /// a disk flush).
    #[arg(long, env = "CHAT_DURABILITY", value_enum, default_value_t = Durability::Process)]
    pub durability: Durability,

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

    /// Messages one connection may post in a burst. Past its burst and
    /// rate, a `send` is refused with `rate_limited` and not stored.
    #[arg(long, env = "CHAT_RATE_LIMIT_BURST", default_value_t = DEFAULT_RATE_LIMIT_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: u32,

    /// Messages per second one connection may post after its burst.
    #[arg(long, env = "CHAT_RATE_LIMIT_PER_SECOND", default_value_t = DEFAULT_RATE_LIMIT_PER_SECOND, value_parser = parse_positive_rate)]
    pub rate_limit_per_second: f64,

    /// Connections the server holds at once; past it, WebSocket requests
    /// get 503 before the upgrade.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,

    /// Connections one client IP address may hold at once; past it,
    /// WebSocket requests from it get 429. Behind a reverse proxy every
    /// client has the proxy's address: raise this there.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_IP, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections_per_ip: usize,

    /// Rooms one connection may be in at once; another `join` gets
    /// `too_many_rooms`.
    #[arg(long, env = "CHAT_MAX_ROOMS_PER_CONNECTION", default_value_t = DEFAULT_MAX_ROOMS_PER_CONNECTION, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_rooms_per_connection: usize,

    /// How often to ping each connection (e.g. `25s`, `500ms`).
    #[arg(long, env = "CHAT_PING_INTERVAL", default_value = "25s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// How long a connection may send nothing (no frame, no pong) before
    /// it is closed as dead (close code 1001).
    #[arg(long, env = "CHAT_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// How long a new connection may stay without joining a room before it
    /// is closed (close code 1008).
    #[arg(long, env = "CHAT_JOIN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub join_timeout: Duration,

    /// How long one write to a client may take before the client is closed
    /// as stuck (close code 1011).
    #[arg(long, env = "CHAT_WRITE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// How long a client that messages are being sent to may leave a ping
    /// unanswered before it is closed as stalled (close code 1013). While
    /// frames flow to a client, a ping goes with them about once a second;
    /// a client that has stopped reading cannot answer it.
    #[arg(long, env = "CHAT_STALL_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub stall_timeout: Duration,

    /// How long a client may take to send a request's headers before the
    /// connection is closed (slowloris guard).
    #[arg(long, env = "CHAT_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Serve `GET /metrics` (Prometheus text format) on this address
    /// instead of the main one, for example to keep it private.
    #[arg(long, env = "CHAT_METRICS_ADDR", conflicts_with = "no_metrics")]
    pub metrics_addr: Option<SocketAddr>,

    /// Do not serve `GET /metrics` at all.
    #[arg(long, env = "CHAT_NO_METRICS")]
    pub no_metrics: bool,

    /// How log lines are written to stderr.
    #[arg(long, env = "CHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Who may make an account: `invite` (with an invite link an
    /// administrator made), `open` (anyone who reaches the server) or
    /// `closed` (only `chat-server admin create-user`).
    #[arg(long, env = "CHAT_SIGNUP", default_value = "invite", value_parser = parse_signup)]
    pub signup: SignupMode,

    /// Always mark the session cookie `Secure` (behind a reverse proxy that
    /// serves the page over HTTPS). Without it the cookie is `Secure` only
    /// when the request itself came over TLS, which this server does not
    /// terminate.
    #[arg(long, env = "CHAT_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// The address people reach the server at (`https://chat.example.com`),
    /// the base of the setup, invite and reset links it prints and returns.
    /// Default: `http://` and the address it listens on.
    #[arg(long, env = "CHAT_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// A file of bots and their API tokens, one `username token` a line
    /// (`#` comments and blank lines allowed): at every start, before
    /// serving, each is made sure of as an active member bot holding that
    /// token (made when missing). An invalid line stops the start. See
    /// `crate::bot_tokens`.
    #[arg(long, env = "CHAT_BOT_TOKENS")]
    pub bot_tokens: Option<PathBuf>,
}

/// The value of `--signup`.
pub fn parse_signup(value: &str) -> Result<SignupMode, String> {
    match value {
        "invite" => Ok(SignupMode::Invite),
        "open" => Ok(SignupMode::Open),
        "closed" => Ok(SignupMode::Closed),
        _ => Err("must be invite, open or closed".to_owned()),
    }
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| "must start with http:// or https://".to_owned())?;
    if rest.trim_end_matches('/').is_empty() || value.chars().any(char::is_whitespace) {
        return Err("must name a host, without spaces".to_owned());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value).map_err(|err| format!("{err}"))?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
}

fn parse_positive_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value.parse().map_err(|err| format!("{err}"))?;
    if !(rate.is_finite() && rate > 0.0) {
        return Err("must be a number above zero".to_owned());
    }
    Ok(rate)
}

fn parse_client_queue_bytes(value: &str) -> Result<usize, String> {
    let bytes: usize = value.parse().map_err(|err| format!("{err}"))?;
    if bytes < MIN_CLIENT_QUEUE_BYTES {
        return Err(format!("must be at least {MIN_CLIENT_QUEUE_BYTES} bytes"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_constants() {
        let config = Config::try_parse_from(["chat-server"]).expect("no flags needed");
        assert_eq!(config.ping_interval, DEFAULT_PING_INTERVAL);
        assert_eq!(config.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        assert_eq!(config.join_timeout, DEFAULT_JOIN_TIMEOUT);
        assert_eq!(config.write_timeout, DEFAULT_WRITE_TIMEOUT);
        assert_eq!(config.stall_timeout, DEFAULT_STALL_TIMEOUT);
        assert_eq!(config.header_read_timeout, DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(config.rate_limit_burst, DEFAULT_RATE_LIMIT_BURST);
        assert_eq!(config.rate_limit_per_second, DEFAULT_RATE_LIMIT_PER_SECOND);
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(
            config.max_connections_per_ip,
            DEFAULT_MAX_CONNECTIONS_PER_IP
        );
        assert_eq!(
            config.max_rooms_per_connection,
            DEFAULT_MAX_ROOMS_PER_CONNECTION
        );
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.durability, Durability::Process);
        assert!(config.metrics_addr.is_none() && !config.no_metrics);
        assert_eq!(config.signup, SignupMode::Invite);
        assert!(!config.secure_cookies && config.public_url.is_none());
        assert!(config.bot_tokens.is_none());
    }

    #[test]
    fn the_accounts_flags_are_checked() {
        let parse = |flags: &[&str]| {
            Config::try_parse_from(std::iter::once("chat-server").chain(flags.iter().copied()))
        };
        let config = parse(&[
            "--signup",
            "open",
            "--secure-cookies",
            "--public-url",
            "https://chat.example.com/",
        ])
        .expect("valid");
        assert_eq!(config.signup, SignupMode::Open);
        assert!(config.secure_cookies);
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://chat.example.com")
        );
        assert_eq!(
            parse(&["--signup", "closed"]).expect("valid").signup,
            SignupMode::Closed
        );
        assert!(parse(&["--signup", "sometimes"]).is_err());
        assert!(parse(&["--public-url", "chat.example.com"]).is_err());
        assert!(parse(&["--public-url", "https://"]).is_err());
    }

    #[test]
    fn durations_and_rates_are_checked() {
        let parse = |flags: &[&str]| {
            Config::try_parse_from(std::iter::once("chat-server").chain(flags.iter().copied()))
        };
        let config = parse(&["--ping-interval", "250ms", "--idle-timeout", "2s"]).expect("valid");
        assert_eq!(config.ping_interval, Duration::from_millis(250));
        assert_eq!(config.idle_timeout, Duration::from_secs(2));
        assert!(parse(&["--idle-timeout", "0s"]).is_err());
        assert!(parse(&["--idle-timeout", "soon"]).is_err());
        assert!(parse(&["--rate-limit-per-second", "0"]).is_err());
        assert!(parse(&["--rate-limit-per-second", "NaN"]).is_err());
        assert!(parse(&["--max-connections", "0"]).is_err());
        assert!(parse(&["--no-metrics", "--metrics-addr", "127.0.0.1:9000"]).is_err());
    }

    #[test]
    fn the_cluster_takes_a_database_and_keeps_no_history_of_its_own() {
        let parse = |flags: &[&str]| {
            Config::try_parse_from(std::iter::once("chat-server").chain(flags.iter().copied()))
        };
        let url = "redis://127.0.0.1:6379";
        let config =
            parse(&["--cluster", url, "--db", "postgres://chat@127.0.0.1/chat"]).expect("valid");
        assert!(config.db.is_postgres());
        assert!(parse(&["--cluster", url, "--cluster-keep-messages", "5000"]).is_err());
    }
}
