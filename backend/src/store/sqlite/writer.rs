//! The writer thread: the only connection that writes. It takes every
//! append waiting in its queue (up to [`MAX_WRITE_BATCH`]) and commits them
//! in one transaction, so a busy server pays for one `fsync` per batch
//! rather than per message (group commit).

use crate::store::batch::{gather, Done, WriteRequest};
use crate::store::{StoreError, MAX_WRITE_BATCH};
use common::{ChatMessage, Nonce};
use rusqlite::{params, Connection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

const INSERT_MESSAGE: &str =
    "INSERT INTO messages (room, id, name, text, ts, nonce) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const UPSERT_ROOM: &str = "
    INSERT INTO rooms (room, last_id, last_ts) VALUES (?1, ?2, ?3)
    ON CONFLICT (room) DO UPDATE SET
        last_id = max(last_id, excluded.last_id),
        last_ts = max(last_ts, excluded.last_ts)";

/// The writer thread: drains the queue in batches until it is closed.
pub(super) fn run_writer(
    mut conn: Connection,
    queue: mpsc::Receiver<WriteRequest>,
    commits: &AtomicU64,
) {
    let mut batch = Vec::with_capacity(MAX_WRITE_BATCH);
    while let Ok(request) = queue.recv() {
        let close = gather(request, &mut batch, || queue.try_recv().ok());
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut batch);
            commits.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(done) = close {
            drop(queue);
            if let Err((_, err)) = conn.close() {
                tracing::warn!(error = %err, "closing the database failed");
            }
            let _ = done.send(());
            return;
        }
    }
}

/// Commits `batch` in one transaction and answers every append in it. When
/// the transaction fails, each message is retried alone so that one bad row
/// (say, an id another process already used) fails only its own append.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<(ChatMessage, Done)>) {
    let started = Instant::now();
    let result = write_messages(conn, batch.iter().map(|(message, _)| message));
    tracing::trace!(messages = batch.len(), elapsed = ?started.elapsed(), "batch committed");
    match result {
        Ok(()) => {
            for (message, done) in batch.drain(..) {
                let _ = done.send(Ok(message));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some((_, done)) = batch.pop() {
                let _ = done.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, messages = batch.len(), "batch failed; writing one by one");
            for (message, done) in batch.drain(..) {
                let result = write_messages(conn, std::iter::once(&message)).map(|()| message);
                let _ = done.send(result);
            }
        }
    }
}

fn write_messages<'a>(
    conn: &mut Connection,
    messages: impl Iterator<Item = &'a ChatMessage>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(INSERT_MESSAGE)?;
        let mut upsert = tx.prepare_cached(UPSERT_ROOM)?;
        for message in messages {
            insert.execute(params![
                message.room.as_str(),
                message.id,
                message.name.as_str(),
                message.text.as_str(),
                message.ts,
                message.nonce.as_ref().map(Nonce::as_str),
            ])?;
            upsert.execute(params![message.room.as_str(), message.id, message.ts])?;
        }
    }
    tx.commit()?;
    Ok(())
}
