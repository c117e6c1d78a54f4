//! The writer task: it takes every append waiting in its queue (up to
//! [`MAX_WRITE_BATCH`]) and commits them in one transaction on a connection
//! of the pool, so a busy server pays one commit per batch rather than per
//! message (group commit). One transaction at a time: appends commit, and
//! resolve, in the order they were made.
//!
//! When PostgreSQL cannot be reached, a batch fails at once (each append
//! gets [`ErrorKind::Unavailable`] and its client resends); the log says
//! so once, and once more when a commit succeeds again.

use super::{pool_error, to_i64, StoreError};
use crate::store::batch::{gather, Done, WriteRequest};
use crate::store::{ErrorKind, MAX_WRITE_BATCH};
use common::{ChatMessage, Nonce};
use deadpool_postgres::Pool;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// The batch's messages, as one array per column (`UNNEST` makes rows of
/// them: one statement, one round trip, whatever the batch's size).
const INSERT_MESSAGES: &str = "
    INSERT INTO messages (room, id, name, text, ts, nonce)
    SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[])";
/// Each room of the batch once, in name order: instances that write the
/// same rooms lock their rows in one order and cannot deadlock.
const UPSERT_ROOMS: &str = "
    INSERT INTO rooms (room, last_id, last_ts)
    SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[])
    ON CONFLICT (room) DO UPDATE SET
        last_id = GREATEST(rooms.last_id, excluded.last_id),
        last_ts = GREATEST(rooms.last_ts, excluded.last_ts)";

/// The writer task: drains the queue in batches until it is closed.
pub(super) async fn run_writer(
    pool: Pool,
    mut queue: mpsc::UnboundedReceiver<WriteRequest>,
    commits: Arc<AtomicU64>,
) {
    let mut batch: Vec<(ChatMessage, Done)> = Vec::with_capacity(MAX_WRITE_BATCH);
    let mut health = Health::Reachable;
    while let Some(request) = queue.recv().await {
        let close = gather(request, &mut batch, || queue.try_recv().ok());
        if !batch.is_empty() {
            let committed = commit_batch(&pool, &mut batch).await;
            health.after(committed);
            if committed {
                commits.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(done) = close {
            let _ = done.send(());
            return;
        }
    }
}

/// Whether the last batch reached the database, so that an outage is
/// logged once rather than once per batch.
enum Health {
    Reachable,
    Unreachable,
}

impl Health {
    fn after(&mut self, committed: bool) {
        match (&self, committed) {
            (Self::Reachable, false) => {
                tracing::error!(
                    "the database cannot be reached: posts are refused until it is back"
                );
                *self = Self::Unreachable;
            }
            (Self::Unreachable, true) => {
                tracing::info!("the database is reachable again: posts are stored");
                *self = Self::Reachable;
            }
            _ => {}
        }
    }
}

/// Commits `batch` in one transaction and answers every append in it;
/// returns whether a transaction committed. When the batch conflicts with
/// what is stored, each message is retried alone so that one bad row (an
/// id already used) fails only its own append; any other failure (the
/// database is gone) fails them all at once.
async fn commit_batch(pool: &Pool, batch: &mut Vec<(ChatMessage, Done)>) -> bool {
    let started = Instant::now();
    let result = write_messages(pool, batch.iter().map(|(message, _)| message)).await;
    tracing::trace!(messages = batch.len(), elapsed = ?started.elapsed(), "batch committed");
    match result {
        Ok(()) => {
            for (message, done) in batch.drain(..) {
                let _ = done.send(Ok(message));
            }
            true
        }
        Err(err) if err.kind() == ErrorKind::Conflict && batch.len() > 1 => {
            tracing::warn!(error = %err, messages = batch.len(), "batch failed; writing one by one");
            let mut committed = false;
            for (message, done) in batch.drain(..) {
                let result = write_messages(pool, std::iter::once(&message)).await;
                committed |= result.is_ok();
                let _ = done.send(result.map(|()| message));
            }
            committed
        }
        Err(err) => {
            tracing::debug!(error = %err, messages = batch.len(), "batch failed");
            for (_, done) in batch.drain(..) {
                let _ = done.send(Err(StoreError::new(err.kind(), err.to_string())));
            }
            // A conflict was answered by the database; anything else is an
            // outage.
            err.kind() == ErrorKind::Conflict
        }
    }
}

async fn write_messages<'a>(
    pool: &Pool,
    messages: impl Iterator<Item = &'a ChatMessage>,
) -> Result<(), StoreError> {
    let mut columns = Columns::default();
    for message in messages {
        columns.push(message);
    }
    let mut client = pool.get().await.map_err(pool_error)?;
    let insert = client.prepare_cached(INSERT_MESSAGES).await?;
    let upsert = client.prepare_cached(UPSERT_ROOMS).await?;
    let tx = client.transaction().await?;
    // Both statements are sent before the first answer is awaited: one
    // round trip for the two.
    let (rooms, last_ids, last_ts) = columns.rooms();
    let message_rows: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &columns.room,
        &columns.id,
        &columns.name,
        &columns.text,
        &columns.ts,
        &columns.nonce,
    ];
    let room_rows: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&rooms, &last_ids, &last_ts];
    let (inserted, upserted) = tokio::join!(
        tx.execute(&insert, &message_rows),
        tx.execute(&upsert, &room_rows),
    );
    // The insert's error first: when it fails, the upsert only finds the
    // transaction aborted.
    inserted?;
    upserted?;
    tx.commit().await?;
    Ok(())
}

/// A batch as the arrays of [`INSERT_MESSAGES`], and the newest id and
/// time of each of its rooms for [`UPSERT_ROOMS`].
#[derive(Default)]
struct Columns<'a> {
    room: Vec<&'a str>,
    id: Vec<i64>,
    name: Vec<&'a str>,
    text: Vec<&'a str>,
    ts: Vec<i64>,
    nonce: Vec<Option<&'a str>>,
    newest: BTreeMap<&'a str, (i64, i64)>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, message: &'a ChatMessage) {
        let (id, ts) = (to_i64(message.id), to_i64(message.ts));
        self.room.push(message.room.as_str());
        self.id.push(id);
        self.name.push(message.name.as_str());
        self.text.push(message.text.as_str());
        self.ts.push(ts);
        self.nonce.push(message.nonce.as_ref().map(Nonce::as_str));
        let newest = self.newest.entry(message.room.as_str()).or_insert((id, ts));
        *newest = (newest.0.max(id), newest.1.max(ts));
    }

    /// The rooms in name order, with their newest id and time.
    fn rooms(&self) -> (Vec<&'a str>, Vec<i64>, Vec<i64>) {
        let mut rooms = Vec::with_capacity(self.newest.len());
        let mut ids = Vec::with_capacity(self.newest.len());
        let mut times = Vec::with_capacity(self.newest.len());
        for (room, (id, ts)) in &self.newest {
            rooms.push(*room);
            ids.push(*id);
            times.push(*ts);
        }
        (rooms, ids, times)
    }
}
