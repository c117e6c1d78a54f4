//! The chat server: a room hub over WebSocket, with history in SQLite or
//! PostgreSQL, an HTTP API, and the web client.
//!
//! Clients speak the JSON protocol of `docs/PROTOCOL.md`, whose types and
//! rules live in the `common` crate.
//!
//! # Layout
//!
//! - [`config`]: the server's flags and environment ([`Config`]).
//! - [`commands`]: the command line ([`commands::Cli`]) and its
//!   subcommands, `backup` and `export`.
//! - [`server`]: [`run`], accepting connections and shutting down.
//! - [`http`]: the router, the WebSocket upgrade, the JSON API, the static
//!   web client.
//! - [`websocket`]: RFC 6455 on a TCP stream: the handshake, the client's
//!   frames in, the server's frames out (each encoded once per message).
//! - [`connection`]: one WebSocket: reads requests, carries them out, writes
//!   the client's outgoing queue; heartbeats and per-connection limits.
//! - [`limits`]: the token bucket of rate limits, and the connection caps.
//! - [`accounts`]: who a request comes from (session cookie or bearer
//!   token), and the accounts' use cases.
//! - [`rooms`]: rooms people belong to (public, private, direct
//!   conversations), their members, roles, moderation and read state: the
//!   rooms' use cases, and [`rooms::policy`], who may do what.
//! - [`audit`]: the audit log of moderation and administration, which
//!   both use cases write.
//! - [`auth`]: the security primitives of accounts: password hashes and
//!   their bounded pool, secret tokens, sign-in throttling, the session
//!   cookie, the cross-site request forgery check.
//! - [`hub`]: rooms as actors, each the single owner of its members and
//!   message ids; the fan-out to clients.
//! - [`store`]: the message history ([`store::MessageStore`]), accounts
//!   ([`store::AccountStore`]) and rooms ([`store::RoomStore`]), on
//!   SQLite, PostgreSQL or in memory, with versioned schemas.
//! - [`cluster`]: cluster mode (`--cluster redis://…`): rooms shared by
//!   every instance through Redis (docs/SCALING.md).
//! - [`metrics`]: the counters behind `GET /metrics`.
//! - [`shutdown`], [`telemetry`]: process signals and logging, for the binary.
//!
//! # Guarantees
//!
//! - A message is committed to the database before any client sees it, so
//!   what a client saw is in the history after a crash.
//! - Within a room, ids increase strictly and every member sees messages in
//!   id order.
//! - A client that does not read never delays anyone else: its bounded
//!   queue overflows and it alone is disconnected.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bot_tokens;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod connection;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod rooms;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod websocket;

pub use config::Config;
pub use server::run;
