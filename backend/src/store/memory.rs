//! A [`MessageStore`] that keeps history in memory only (`--db :memory:`).
//!
//! Nothing survives the process, so it suits trials and measuring what
//! durable storage costs (the benchmark compares both), not a deployment.
//! It follows the same contract as the other stores: posts are stored in
//! the order they were made, with the same ids, repeats and pages; and
//! `accounts` keeps the [`crate::store::AccountStore`] tables beside them,
//! `rooms` the [`crate::store::RoomStore`] tables.

mod accounts;
mod rooms;

use super::{
    next_message, nonce_cutoff, page_from_newest, same_author, unix_millis, Draft, HistoryPage,
    HistoryQuery, MessageStore, NonceRecord, Posted, RoomActivity, StoreError, StoreFuture,
};
use common::{ChatMessage, MessageId, RoomName};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The `--db` value that selects this store.
pub const MEMORY_DB: &str = ":memory:";

/// History, and accounts, in memory.
#[derive(Default)]
pub struct MemoryStore {
    rooms: Mutex<HashMap<RoomName, Vec<ChatMessage>>>,
    tables: Mutex<accounts::Tables>,
    /// Taken after `rooms` when both are (a post), never before it.
    room_tables: Mutex<rooms::Tables>,
    closed: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomName, Vec<ChatMessage>>> {
        // Every update is a single push: a panic cannot leave it half-done.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tables(&self) -> MutexGuard<'_, accounts::Tables> {
        // Every change checks before it writes: a panic cannot leave one
        // half-done.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn room_tables(&self) -> MutexGuard<'_, rooms::Tables> {
        // As `tables`: every change checks before it writes.
        self.room_tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryStore {
    /// Fails once the store was closed: it takes no more writes.
    fn writable(&self) -> Result<(), StoreError> {
        match self.closed.load(Ordering::Acquire) {
            true => Err(StoreError::closed()),
            false => Ok(()),
        }
    }

    /// Runs `change` on `tables` (locked by `lock` only once the store is
    /// known to be open), unless the store was closed.
    fn change_in<'a, Tables: 'a, T: Send + 'static>(
        &'a self,
        lock: impl FnOnce(&'a Self) -> MutexGuard<'a, Tables>,
        change: impl FnOnce(&mut Tables) -> Result<T, StoreError>,
    ) -> StoreFuture<T> {
        ready(self.writable().and_then(|()| change(&mut lock(self))))
    }
}

fn ready<T: Send + 'static>(result: Result<T, StoreError>) -> StoreFuture<T> {
    Box::pin(std::future::ready(result))
}

impl MessageStore for MemoryStore {
    fn post(&self, mut draft: Draft) -> StoreFuture<Posted> {
        if let Err(closed) = self.writable() {
            return ready(Err(closed));
        }
        let now = unix_millis();
        let mut rooms = self.rooms();
        let messages = rooms.entry(draft.room.clone()).or_default();
        if let Some(nonce) = &draft.nonce {
            let cutoff = nonce_cutoff(now);
            let original = messages
                .iter()
                .rev()
                .take_while(|message| message.ts >= cutoff)
                .find(|message| {
                    message.nonce.as_ref() == Some(nonce)
                        && same_author(&draft, message.user_id, message.name.as_str())
                });
            if let Some(original) = original {
                return ready(Ok(Posted::Repeat(original.id)));
            }
        }
        let (last_id, last_ts) = messages.last().map_or((0, 0), |last| (last.id, last.ts));
        // Under the history's lock still, so that the room's row moves with
        // its messages; its activity is the floor of their times, as a
        // database's row is.
        let mut room_tables = self.room_tables();
        let last_ts = last_ts.max(room_tables.active_ms(&draft.room));
        let mentions = std::mem::take(&mut draft.mentions);
        let message = next_message(draft, last_id, last_ts, now);
        messages.push(message.clone());
        room_tables.posted(&message, &mentions);
        ready(Ok(Posted::New(message)))
    }

    fn last_id(&self, room: &RoomName) -> StoreFuture<MessageId> {
        let last = self
            .rooms()
            .get(room)
            .and_then(|messages| messages.last())
            .map_or(0, |message| message.id);
        ready(Ok(last))
    }

    fn history(&self, room: &RoomName, query: HistoryQuery) -> StoreFuture<HistoryPage> {
        let rooms = self.rooms();
        let messages = rooms.get(room).map(Vec::as_slice).unwrap_or_default();
        let after = query.after.unwrap_or(0);
        let before = query.before.unwrap_or(MessageId::MAX);
        let newest_first = messages
            .iter()
            .rev()
            .skip_while(|message| message.id >= before)
            .take_while(|message| message.id > after)
            .map(|message| Ok::<_, Infallible>(message.clone()));
        let page = match page_from_newest(newest_first, query.limit) {
            Ok(page) => page,
            Err(never) => match never {},
        };
        ready(Ok(page))
    }

    fn recent_nonces(
        &self,
        room: &RoomName,
        since_ts: u64,
        limit: usize,
    ) -> StoreFuture<Vec<NonceRecord>> {
        let rooms = self.rooms();
        let messages = rooms.get(room).map(Vec::as_slice).unwrap_or_default();
        let records = messages
            .iter()
            .rev()
            .take_while(|message| message.ts >= since_ts)
            .filter_map(|message| {
                Some(NonceRecord {
                    id: message.id,
                    name: message.name.clone(),
                    user_id: message.user_id,
                    nonce: message.nonce.clone()?,
                    ts: message.ts,
                })
            })
            .take(limit)
            .collect();
        ready(Ok(records))
    }

    fn messages_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> StoreFuture<Vec<ChatMessage>> {
        let rooms = self.rooms();
        let messages = rooms.get(room).map(Vec::as_slice).unwrap_or_default();
        // Ids are stored in increasing order: the first one above `after`
        // is found by binary search.
        let start = messages.partition_point(|message| message.id <= after);
        let page = messages[start..].iter().take(limit).cloned().collect();
        ready(Ok(page))
    }

    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>> {
        let rooms = self.rooms();
        let mut active: Vec<(u64, RoomActivity)> = rooms
            .iter()
            .filter_map(|(room, messages)| {
                let last = messages.last()?;
                Some((
                    last.ts,
                    RoomActivity {
                        room: room.clone(),
                        last_id: last.id,
                        members: None,
                    },
                ))
            })
            .collect();
        active.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.room.cmp(&b.1.room)));
        ready(Ok(active
            .into_iter()
            .take(limit)
            .map(|(_, activity)| activity)
            .collect()))
    }

    fn check(&self) -> StoreFuture<()> {
        ready(self.writable())
    }

    fn close(&self) -> StoreFuture<()> {
        self.closed.store(true, Ordering::Release);
        ready(Ok(()))
    }
}
