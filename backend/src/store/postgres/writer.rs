//! The writer task: it takes every post waiting in its queue (up to
//! [`MAX_WRITE_BATCH`]) and commits them in one transaction on a connection
//! of the pool, so a busy server pays one commit per batch rather than per
//! message (group commit). One transaction at a time: posts commit, and
//! resolve, in the order they were made.
//!
//! The transaction first locks the rows of the batch's rooms (in name
//! order, so that instances writing the same rooms cannot deadlock;
//! [`LOCK_ROOMS`]); every
//! other instance's post to those rooms waits until it commits. So, under
//! the lock, a repeated nonce is found whichever instance stored its
//! original, and each room's next ids follow the last committed one: ids
//! increase by one per message across the cluster, and one room's messages
//! commit in id order. The people a message calls by name are stored in
//! the same statement as the message.
//!
//! When PostgreSQL cannot be reached, a batch fails at once (each post
//! gets [`ErrorKind::Unavailable`] and its client resends); the log says
//! so once, and once more when a commit succeeds again.

use super::{pool_error, to_i64, to_u64, StoreError};
use crate::store::batch::{gather, Done, Then, WriteRequest};
use crate::store::{
    next_message, nonce_cutoff, same_author, unix_millis, Draft, ErrorKind, Posted, MAX_WRITE_BATCH,
};
use common::{ChatMessage, MessageId, UserId};
use deadpool_postgres::Pool;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;

/// Locks the batch's rooms, creating those that are new, and reads their
/// counters: one statement. Rows are taken in name order (the array comes
/// sorted), so instances writing the same rooms cannot deadlock; a room's
/// row stays locked until the transaction ends (`DO UPDATE` locks an
/// existing row as `FOR UPDATE` would).
/// A room made here (public, without an owner: migration 4's defaults) is
/// made at the batch's time, its first post's.
const LOCK_ROOMS: &str = "
    INSERT INTO rooms (room, last_id, last_ts, created_ms)
    SELECT room, 0, 0, $2::BIGINT FROM UNNEST($1::TEXT[]) AS room
    ON CONFLICT (room) DO UPDATE SET room = excluded.room
    RETURNING room, last_id, last_ts";
/// The stored messages of the batch's rooms that carry one of its nonces,
/// within the window: an index scan of `messages_by_nonce` for each pair
/// (a join with the arrays' `UNNEST` was planned as a scan of the whole
/// table). A nonce of one room found in another is passed over by the
/// caller, which looks pairs up exactly. `nonce IS NOT NULL` is spelled
/// out so that the planner may use the partial index.
const NONCE_ORIGINALS: &str = "
    SELECT room, nonce, name, id, user_id FROM messages
    WHERE room = ANY($1::TEXT[]) AND nonce = ANY($2::TEXT[]) AND nonce IS NOT NULL
      AND ts >= $3";
/// The batch's messages, as one array per column (`UNNEST` makes rows of
/// them), the people they call by name (named twice, once), and each
/// room's counter as the batch leaves it: one statement, whatever the
/// batch's size.
const WRITE_BATCH: &str = "
    WITH inserted AS (
        INSERT INTO messages (room, id, name, text, ts, nonce, user_id, username)
        SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[],
                             $10::BIGINT[], $11::TEXT[])
    ), mentioned AS (
        INSERT INTO mentions (user_id, room, message_id)
        SELECT * FROM UNNEST($12::BIGINT[], $13::TEXT[], $14::BIGINT[])
        ON CONFLICT (user_id, room, message_id) DO NOTHING
    )
    UPDATE rooms SET last_id = d.last_id, last_ts = d.last_ts
    FROM UNNEST($7::TEXT[], $8::BIGINT[], $9::BIGINT[]) AS d (room, last_id, last_ts)
    WHERE rooms.room = d.room";

/// A stored message carrying one of the batch's nonces: its author's name
/// and account, and its id.
type Stored = (String, Option<u64>, MessageId);

/// The writer task: drains the queue in batches until it is closed.
pub(super) async fn run_writer(
    pool: Pool,
    mut queue: mpsc::UnboundedReceiver<WriteRequest>,
    commits: Arc<AtomicU64>,
) {
    let mut batch: Vec<(Draft, Done)> = Vec::with_capacity(MAX_WRITE_BATCH);
    let mut health = Health::Reachable;
    while let Some(request) = queue.recv().await {
        let then = gather(request, &mut batch, || queue.try_recv().ok());
        if !batch.is_empty() {
            let committed = commit_batch(&pool, &mut batch).await;
            health.after(committed);
            if committed {
                commits.fetch_add(1, Ordering::Relaxed);
            }
        }
        match then {
            Some(Then::Close(done)) => {
                let _ = done.send(());
                return;
            }
            Some(Then::Job(never)) => match never {},
            None => {}
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

/// Commits `batch` in one transaction and answers every post in it;
/// returns whether the database answered. A batch that fails is failed
/// whole: every post in it gets the error (its client resends).
async fn commit_batch(pool: &Pool, batch: &mut Vec<(Draft, Done)>) -> bool {
    let started = Instant::now();
    let result = write_posts(pool, batch.iter().map(|(draft, _)| draft)).await;
    tracing::trace!(messages = batch.len(), elapsed = ?started.elapsed(), "batch committed");
    match result {
        Ok(posted) => {
            for ((_, done), posted) in batch.drain(..).zip(posted) {
                let _ = done.send(Ok(posted));
            }
            true
        }
        Err(err) => {
            tracing::debug!(error = %err, messages = batch.len(), "batch failed");
            for (_, done) in batch.drain(..) {
                let _ = done.send(Err(StoreError::new(err.kind(), err.to_string())));
            }
            // A conflict was answered by the database; anything else is
            // an outage.
            err.kind() == ErrorKind::Conflict
        }
    }
}

/// Stores `drafts` in one transaction; what became of each, in order.
async fn write_posts<'a>(
    pool: &Pool,
    drafts: impl Iterator<Item = &'a Draft>,
) -> Result<Vec<Posted>, StoreError> {
    let drafts: Vec<&Draft> = drafts.collect();
    let now = unix_millis();
    let mut room_names: Vec<&str> = drafts.iter().map(|draft| draft.room.as_str()).collect();
    room_names.sort_unstable();
    room_names.dedup();
    let nonces: Vec<&str> = drafts
        .iter()
        .filter_map(|draft| Some(draft.nonce.as_ref()?.as_str()))
        .collect();

    let client = pool.get().await.map_err(pool_error)?;
    let lock = client.prepare_cached(LOCK_ROOMS).await?;
    let originals = client.prepare_cached(NONCE_ORIGINALS).await?;
    let write = client.prepare_cached(WRITE_BATCH).await?;
    let cutoff = to_i64(nonce_cutoff(now));
    // The transaction in two round trips: `BEGIN`, the lock and the nonces
    // are sent together, then the writes and `COMMIT` (tokio-postgres
    // pipelines what is polled together). When a statement fails, the
    // rest of its transaction fails too: `COMMIT` then rolls it back, and
    // after a failure of the first part `ROLLBACK` is sent.
    let find_originals = async {
        if nonces.is_empty() {
            return Ok(Vec::new());
        }
        client
            .query(&originals, &[&room_names, &nonces, &cutoff])
            .await
    };
    let batch_time = to_i64(now);
    let lock_parameters: [&(dyn ToSql + Sync); 2] = [&room_names, &batch_time];
    let (begun, locked, found) = tokio::join!(
        client.batch_execute("BEGIN"),
        client.query(&lock, &lock_parameters),
        find_originals,
    );
    let (locked, found) = match begun.and(locked).and_then(|locked| Ok((locked, found?))) {
        Ok(read) => read,
        Err(err) => {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(err.into());
        }
    };
    let mut rooms: HashMap<String, (MessageId, u64)> = HashMap::new();
    for row in locked {
        let last_id = to_u64(row.try_get(1)?, "last id")?;
        let last_ts = to_u64(row.try_get(2)?, "timestamp")?;
        rooms.insert(row.try_get(0)?, (last_id, last_ts));
    }
    // Under the lock: every post to these rooms committed before is seen.
    let mut seen: HashMap<(String, String), Vec<Stored>> = HashMap::new();
    for row in found {
        let key = (row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?);
        let id = to_u64(row.try_get(3)?, "message id")?;
        let user = row
            .try_get::<_, Option<i64>>(4)?
            .map(|user| to_u64(user, "user id"))
            .transpose()?;
        seen.entry(key)
            .or_default()
            .push((row.try_get(2)?, user, id));
    }

    let mut posted = Vec::with_capacity(drafts.len());
    let mut columns = Columns::default();
    for draft in drafts {
        if let Some(nonce) = &draft.nonce {
            let key = (draft.room.as_str().to_owned(), nonce.as_str().to_owned());
            let original = seen.get(&key).and_then(|stored| {
                stored
                    .iter()
                    .find(|(name, user, _)| same_author(draft, *user, name))
                    .map(|(_, _, id)| *id)
            });
            if let Some(id) = original {
                posted.push(Posted::Repeat(id));
                continue;
            }
            // A repeat later in this batch finds this one.
            seen.entry(key).or_default();
        }
        let last = rooms.entry(draft.room.as_str().to_owned()).or_default();
        let message = next_message(draft.clone(), last.0, last.1, now);
        *last = (message.id, message.ts);
        if let Some(nonce) = &message.nonce {
            let key = (message.room.as_str().to_owned(), nonce.as_str().to_owned());
            seen.entry(key).or_default().push((
                message.name.as_str().to_owned(),
                message.user_id,
                message.id,
            ));
        }
        columns.push(&message, &draft.mentions);
        posted.push(Posted::New(message));
    }
    let (room_rows, last_ids, last_ts) = columns.rooms();
    let parameters: [&(dyn ToSql + Sync); 14] = [
        &columns.room,
        &columns.id,
        &columns.name,
        &columns.text,
        &columns.ts,
        &columns.nonce,
        &room_rows,
        &last_ids,
        &last_ts,
        &columns.user_id,
        &columns.username,
        &columns.mentioned,
        &columns.mention_room,
        &columns.mention_id,
    ];
    let (written, committed) = tokio::join!(
        client.execute(&write, &parameters),
        client.batch_execute("COMMIT"),
    );
    // The write's error first: when it fails, `COMMIT` only rolls back.
    written?;
    committed?;
    Ok(posted)
}

/// A batch as the arrays of [`WRITE_BATCH`]: its messages, their mentions,
/// and the newest id and time of each of its rooms.
#[derive(Default)]
struct Columns {
    room: Vec<String>,
    id: Vec<i64>,
    name: Vec<String>,
    text: Vec<String>,
    ts: Vec<i64>,
    nonce: Vec<Option<String>>,
    user_id: Vec<Option<i64>>,
    username: Vec<Option<String>>,
    /// Who each mention calls, in which room, by which message.
    mentioned: Vec<i64>,
    mention_room: Vec<String>,
    mention_id: Vec<i64>,
    newest: BTreeMap<String, (i64, i64)>,
}

impl Columns {
    fn push(&mut self, message: &ChatMessage, mentions: &[UserId]) {
        let (id, ts) = (to_i64(message.id), to_i64(message.ts));
        for user in mentions {
            self.mentioned.push(to_i64(*user));
            self.mention_room.push(message.room.as_str().to_owned());
            self.mention_id.push(id);
        }
        self.room.push(message.room.as_str().to_owned());
        self.id.push(id);
        self.name.push(message.name.as_str().to_owned());
        self.text.push(message.text.as_str().to_owned());
        self.ts.push(ts);
        self.nonce.push(
            message
                .nonce
                .as_ref()
                .map(|nonce| nonce.as_str().to_owned()),
        );
        self.user_id.push(message.user_id.map(to_i64));
        self.username.push(
            message
                .username
                .as_ref()
                .map(|username| username.as_str().to_owned()),
        );
        let newest = self
            .newest
            .entry(message.room.as_str().to_owned())
            .or_insert((id, ts));
        *newest = (newest.0.max(id), newest.1.max(ts));
    }

    /// The rooms in name order, with their newest id and time.
    fn rooms(&self) -> (Vec<&str>, Vec<i64>, Vec<i64>) {
        let mut rooms = Vec::with_capacity(self.newest.len());
        let mut ids = Vec::with_capacity(self.newest.len());
        let mut times = Vec::with_capacity(self.newest.len());
        for (room, (id, ts)) in &self.newest {
            rooms.push(room.as_str());
            ids.push(*id);
            times.push(*ts);
        }
        (rooms, ids, times)
    }
}
