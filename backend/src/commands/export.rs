//! `chat-server export [--room R]`: rooms' history as JSON Lines, for
//! people who archive or leave.
//!
//! The format (also in README.md, "Backups and export"): one message per
//! line, each the JSON object of a `message` of docs/PROTOCOL.md
//! (`room`, `id`, `name`, `text`, `ts`, and `nonce` when it had one), rooms
//! in name order and each room's messages by id. It reads through the
//! store interface, so it works on every backend: SQLite is read beside a
//! running server, without its lock.

use crate::store::{Database, MessageStore, SqliteStore, StoreError};
use common::RoomName;
use std::io::Write;
use std::sync::Arc;

/// Messages read from the store at a time: bounded memory however long a
/// room's history is.
pub const EXPORT_PAGE: usize = 1_000;

/// Most rooms one export lists (every room a deployment has, in practice).
pub const EXPORT_MAX_ROOMS: usize = 1_000_000;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The output could not be written.
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    /// Rooms with at least one message written.
    pub rooms: usize,
    /// Messages written.
    pub messages: u64,
}

/// Opens `db` for reading and exports it (or `room` alone) to `out`.
pub async fn export(
    db: &Database,
    room: Option<&RoomName>,
    out: &mut impl Write,
) -> Result<Exported, ExportError> {
    let store: Arc<dyn MessageStore> = match db {
        Database::Sqlite(path) => Arc::new(SqliteStore::open_read_only(path)?),
        other => other.open(Default::default()).await?.messages,
    };
    let result = export_from(&*store, room, out).await;
    store.close().await?;
    result
}

/// Writes the history of `room`, or of every room, from `store` to `out`.
pub async fn export_from(
    store: &dyn MessageStore,
    room: Option<&RoomName>,
    out: &mut impl Write,
) -> Result<Exported, ExportError> {
    let mut rooms: Vec<RoomName> = match room {
        Some(room) => vec![room.clone()],
        None => store
            .recent_rooms(EXPORT_MAX_ROOMS)
            .await?
            .into_iter()
            .map(|activity| activity.room)
            .collect(),
    };
    rooms.sort();
    let mut exported = Exported {
        rooms: 0,
        messages: 0,
    };
    for room in &rooms {
        let mut after = 0;
        let mut any = false;
        loop {
            let page = store.messages_after(room, after, EXPORT_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for message in &page {
                serde_json::to_writer(&mut *out, message).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
            }
            exported.messages += page.len() as u64;
            any = true;
            if page.len() < EXPORT_PAGE {
                break;
            }
        }
        exported.rooms += usize::from(any);
    }
    out.flush()?;
    Ok(exported)
}
