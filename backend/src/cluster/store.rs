//! The message store of cluster mode: the database's (PostgreSQL, shared
//! by every instance) for history, ids and nonces, with the room list's
//! member counts from the broker, where presence lives.

use super::keys;
use super::scripts;
use crate::store::{
    Draft, HistoryPage, HistoryQuery, MessageStore, NonceRecord, Posted, RoomActivity, StoreError,
    StoreFuture,
};
use common::{ChatMessage, MessageId, RoomName};
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::Arc;

/// The database, and the broker for who is in each room.
#[derive(Clone)]
pub struct ClusterStore {
    db: Arc<dyn MessageStore>,
    connection: ConnectionManager,
}

impl ClusterStore {
    pub(super) fn new(db: Arc<dyn MessageStore>, connection: ConnectionManager) -> Self {
        Self { db, connection }
    }
}

impl MessageStore for ClusterStore {
    fn post(&self, draft: Draft) -> StoreFuture<Posted> {
        self.db.post(draft)
    }

    fn last_id(&self, room: &RoomName) -> StoreFuture<MessageId> {
        self.db.last_id(room)
    }

    fn history(&self, room: &RoomName, query: HistoryQuery) -> StoreFuture<HistoryPage> {
        self.db.history(room, query)
    }

    fn messages_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> StoreFuture<Vec<ChatMessage>> {
        self.db.messages_after(room, after, limit)
    }

    fn recent_nonces(
        &self,
        room: &RoomName,
        since_ts: u64,
        limit: usize,
    ) -> StoreFuture<Vec<NonceRecord>> {
        self.db.recent_nonces(room, since_ts, limit)
    }

    /// The rooms most recently posted to (from the database), then rooms
    /// with members on some instance but no messages, by name; each with
    /// its members on every instance.
    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>> {
        let active = self.db.recent_rooms(limit);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let active = active.await?;
            let mut invocation = scripts::ROOM_MEMBERS.key(keys::OCCUPIED);
            invocation.arg(limit).arg(keys::ROOM_KEY_PREFIX);
            for activity in &active {
                invocation.arg(activity.room.as_str());
            }
            let counted: Vec<(String, usize)> = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(super::broker_error)?;
            let last_ids: HashMap<&str, MessageId> = active
                .iter()
                .map(|activity| (activity.room.as_str(), activity.last_id))
                .collect();
            counted
                .into_iter()
                .map(|(room, members)| {
                    // A room the database did not list has no messages: when
                    // it lists fewer than `limit`, it lists every room with
                    // some, and otherwise the script adds none.
                    let last_id = last_ids.get(room.as_str()).copied().unwrap_or(0);
                    let room = RoomName::parse(room)
                        .map_err(|err| StoreError::corrupt(format!("room name: {err}")))?;
                    Ok(RoomActivity {
                        room,
                        last_id,
                        members: Some(members),
                    })
                })
                .collect()
        })
    }

    fn check(&self) -> StoreFuture<()> {
        let db = self.db.check();
        let mut connection = self.connection.clone();
        Box::pin(async move {
            db.await?;
            let _: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .map_err(super::broker_error)?;
            Ok(())
        })
    }

    fn close(&self) -> StoreFuture<()> {
        self.db.close()
    }
}
