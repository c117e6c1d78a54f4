//! The command line: `chat-server [flags]` serves; its subcommands work on
//! a database beside (or without) a running server.
//!
//! - `backup`: a consistent copy of a live SQLite database ([`backup`]).
//! - `export`: rooms' history as JSON Lines ([`export`]).
//! - `admin`: accounts, invites, reset links and tokens ([`admin`]).

pub mod admin;
pub mod backup;
pub mod export;

use crate::config::Config;
use crate::store::Database;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The chat server: rooms over WebSocket, history in SQLite or PostgreSQL,
/// and the web client.
#[derive(Debug, Parser)]
#[command(
    name = "chat-server",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How to serve.
    #[command(flatten)]
    pub config: Config,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy a SQLite database to FILE while the server keeps serving
    /// (SQLite's online backup). Restore by putting the file back in
    /// place of the database while the server is stopped.
    Backup(BackupArgs),
    /// Write the history of every room (or of one) as JSON Lines, one
    /// message per line, to standard output or to --out.
    Export(ExportArgs),
    /// Administer accounts: create users and bots, reset links, roles,
    /// deactivation, invites and API tokens.
    Admin(admin::AdminArgs),
}

/// `chat-server backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The database to copy (a SQLite file; for PostgreSQL use pg_dump,
    /// see docs/RELIABILITY.md).
    #[arg(long, env = "CHAT_DB", default_value = "chat.db")]
    pub db: Database,
    /// Where the copy goes; must not exist yet.
    pub file: PathBuf,
}

/// `chat-server export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The database to read: a SQLite file (read beside a running server)
    /// or a PostgreSQL URL.
    #[arg(long, env = "CHAT_DB", default_value = "chat.db")]
    pub db: Database,
    /// Only this room.
    #[arg(long, value_parser = parse_room)]
    pub room: Option<common::RoomName>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_room(value: &str) -> Result<common::RoomName, String> {
    common::RoomName::parse(value).map_err(|err| err.to_string())
}
