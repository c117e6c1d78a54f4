//! The writer thread: the only connection that writes. It takes every
//! post waiting in its queue (up to [`MAX_WRITE_BATCH`]) and commits them
//! in one transaction, so a busy server pays for one `fsync` per batch
//! rather than per message (group commit). In that transaction each post
//! is checked for a repeated nonce, then gets its room's next id, and the
//! people it calls by name are stored with it.
//!
//! Every other write (accounts, sessions, tokens, links; `super::accounts`;
//! rooms, members, bans and the audit log; `super::rooms`)
//! comes as a [`Job`]: a closure run on this connection, after the posts
//! queued before it are committed, in its own transaction. So the database
//! has one writer, and a post never meets a lock held by another
//! connection of this process.

use crate::store::batch::{gather, Done, Then, WriteRequest};
use crate::store::{
    next_message, nonce_cutoff, same_author, unix_millis, Draft, Posted, StoreError,
    MAX_WRITE_BATCH,
};
use common::{MessageId, Nonce, UserId, Username};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

const INSERT_MESSAGE: &str =
    "INSERT INTO messages (room, id, name, text, ts, nonce, user_id, username)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const ROOM_LAST: &str = "SELECT last_id, last_ts FROM rooms WHERE room = ?1";
/// Uses the index `messages_by_nonce` (migration 2).
const NONCE_ORIGINALS: &str = "
    SELECT id, name, user_id FROM messages
    WHERE room = ?1 AND nonce = ?2 AND ts >= ?3
    ORDER BY id DESC";
/// A person the message calls by name; named twice, once.
const INSERT_MENTION: &str = "
    INSERT INTO mentions (user_id, room, message_id) VALUES (?1, ?2, ?3)
    ON CONFLICT (user_id, room, message_id) DO NOTHING";
/// A room without a row gets one made at this post (public, without an
/// owner: migration 5's defaults).
const UPSERT_ROOM: &str = "
    INSERT INTO rooms (room, last_id, last_ts, created_ms) VALUES (?1, ?2, ?3, ?3)
    ON CONFLICT (room) DO UPDATE SET
        last_id = max(last_id, excluded.last_id),
        last_ts = max(last_ts, excluded.last_ts)";

/// A write other than a post, run by the writer thread on its connection;
/// it answers its caller itself (through a channel it holds).
pub(super) type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the writer's queue carries.
pub(super) type Request = WriteRequest<Job>;

/// The writer thread: drains the queue in batches until it is closed.
pub(super) fn run_writer(
    mut conn: Connection,
    queue: mpsc::Receiver<Request>,
    commits: &AtomicU64,
) {
    let mut batch = Vec::with_capacity(MAX_WRITE_BATCH);
    while let Ok(request) = queue.recv() {
        let then = gather(request, &mut batch, || queue.try_recv().ok());
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut batch);
            commits.fetch_add(1, Ordering::Relaxed);
        }
        match then {
            Some(Then::Job(job)) => job(&mut conn),
            Some(Then::Close(done)) => {
                drop(queue);
                if let Err((_, err)) = conn.close() {
                    tracing::warn!(error = %err, "closing the database failed");
                }
                let _ = done.send(());
                return;
            }
            None => {}
        }
    }
}

/// Commits `batch` in one transaction and answers every post in it. When
/// the transaction fails, each post is tried again alone, so that one that
/// cannot be stored fails only itself.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<(Draft, Done)>) {
    let started = Instant::now();
    let result = write_posts(conn, batch.iter().map(|(draft, _)| draft.clone()));
    tracing::trace!(messages = batch.len(), elapsed = ?started.elapsed(), "batch committed");
    match result {
        Ok(posted) => {
            for ((_, done), posted) in batch.drain(..).zip(posted) {
                let _ = done.send(Ok(posted));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some((_, done)) = batch.pop() {
                let _ = done.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, messages = batch.len(), "batch failed; writing one by one");
            for (draft, done) in batch.drain(..) {
                let result =
                    write_posts(conn, std::iter::once(draft)).map(|mut posted| posted.remove(0));
                let _ = done.send(result);
            }
        }
    }
}

/// Stores `drafts` in one transaction; what became of each, in order.
fn write_posts(
    conn: &mut Connection,
    drafts: impl ExactSizeIterator<Item = Draft>,
) -> Result<Vec<Posted>, StoreError> {
    let now = unix_millis();
    let tx = conn.transaction()?;
    let mut posted = Vec::with_capacity(drafts.len());
    {
        // Each room's newest id and time, as this transaction leaves them.
        let mut rooms: HashMap<String, (MessageId, u64)> = HashMap::new();
        let mut insert = tx.prepare_cached(INSERT_MESSAGE)?;
        let mut upsert = tx.prepare_cached(UPSERT_ROOM)?;
        for mut draft in drafts {
            // Rows written earlier in this transaction are seen too.
            if let Some(id) = original(&tx, &draft, now)? {
                posted.push(Posted::Repeat(id));
                continue;
            }
            let room = draft.room.as_str().to_owned();
            let (last_id, last_ts) = match rooms.get(&room) {
                Some(last) => *last,
                None => tx
                    .prepare_cached(ROOM_LAST)?
                    .query_row([&room], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?
                    .unwrap_or((0, 0)),
            };
            let mentions = std::mem::take(&mut draft.mentions);
            let message = next_message(draft, last_id, last_ts, now);
            insert.execute(params![
                message.room.as_str(),
                message.id,
                message.name.as_str(),
                message.text.as_str(),
                message.ts,
                message.nonce.as_ref().map(Nonce::as_str),
                message.user_id,
                message.username.as_ref().map(Username::as_str),
            ])?;
            // The room's row first: a mention names it.
            upsert.execute(params![message.room.as_str(), message.id, message.ts])?;
            for user in mentions {
                tx.prepare_cached(INSERT_MENTION)?.execute(params![
                    user,
                    message.room.as_str(),
                    message.id
                ])?;
            }
            rooms.insert(room, (message.id, message.ts));
            posted.push(Posted::New(message));
        }
    }
    tx.commit()?;
    Ok(posted)
}

/// The id of the message the draft's nonce made within the window, if any.
fn original(
    tx: &Transaction<'_>,
    draft: &Draft,
    now: u64,
) -> Result<Option<MessageId>, StoreError> {
    let Some(nonce) = &draft.nonce else {
        return Ok(None);
    };
    let mut statement = tx.prepare_cached(NONCE_ORIGINALS)?;
    let rows = statement.query_map(
        params![draft.room.as_str(), nonce.as_str(), nonce_cutoff(now)],
        |row| {
            Ok((
                row.get::<_, MessageId>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<UserId>>(2)?,
            ))
        },
    )?;
    for row in rows {
        let (id, name, user) = row?;
        if same_author(draft, user, &name) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
