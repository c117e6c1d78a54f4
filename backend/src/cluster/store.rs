//! The history of every room, kept in the broker: what any instance reads
//! for joins, `since` and the history route, and where posts are made.

use super::keys::{self, RoomKeys};
use super::poster::Poster;
use super::scripts;
use crate::store::{
    page_from_newest, HistoryPage, HistoryQuery, MessageStore, NonceRecord, RoomActivity,
    StoreError, StoreFuture,
};
use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName};
use redis::aio::ConnectionManager;
use redis::Value;
use std::num::NonZeroU64;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nonces older than the de-duplication window that one post forgets at
/// most: bounds the work of the post script however many expired at once
/// (later posts forget the rest).
pub const NONCES_FORGOTTEN_PER_POST: usize = 64;

/// What the broker did with a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Stored with this id and published to every instance.
    New(MessageId),
    /// The author's nonce had made this message already: nothing stored.
    Repeat(MessageId),
}

/// A message to post: everything but the id and time, which the broker
/// assigns.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The room.
    pub room: RoomName,
    /// The author's name.
    pub name: DisplayName,
    /// The text.
    pub text: MessageText,
    /// The nonce of the author's `send`, if it had one.
    pub nonce: Option<Nonce>,
    /// The newest id of the room the poster knows of: the broker numbers
    /// the message after it even if it lost its data (see [`RedisStore::post`]).
    pub known: MessageId,
}

/// The message store of cluster mode: every room's history in the broker.
///
/// Ids are assigned by the broker (see [`RedisStore::post`]), so
/// [`MessageStore::append`] posts the message and returns it with the id
/// it got, whatever id it carried.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    poster: Poster,
}

impl RedisStore {
    /// The store on `connection`; each room's log keeps at least `keep`
    /// of its newest messages (`None`: all of them).
    pub(super) fn new(connection: ConnectionManager, keep: Option<NonZeroU64>) -> Self {
        Self {
            poster: Poster::start(connection.clone(), keep),
            connection,
        }
    }

    /// Posts `draft`: stores it with the room's next id and publishes it to
    /// every instance, or finds the message its nonce already made. Posts
    /// reach the broker in the order of these calls (see `poster`).
    ///
    /// The id follows `draft.known` in any case: a broker that lost its
    /// data (restarted without persistence) would otherwise number the
    /// room from 1 again, and every instance would take the new messages
    /// for ones it already has. The loss is logged at error level.
    pub fn post(&self, draft: Draft) -> StoreFuture<Posted> {
        self.poster.post(draft)
    }
}

impl MessageStore for RedisStore {
    fn append(&self, message: ChatMessage) -> StoreFuture<ChatMessage> {
        let post = self.post(Draft {
            room: message.room.clone(),
            name: message.name.clone(),
            text: message.text.clone(),
            nonce: message.nonce.clone(),
            known: 0,
        });
        let store = self.clone();
        Box::pin(async move {
            let id = match post.await? {
                Posted::New(id) | Posted::Repeat(id) => id,
            };
            let query = HistoryQuery {
                after: Some(id - 1),
                before: Some(id + 1),
                limit: 1,
            };
            let page = store.history(&message.room, query).await?;
            page.messages
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::corrupt(format!("message {id} is not in the log")))
        })
    }

    fn last_id(&self, room: &RoomName) -> StoreFuture<MessageId> {
        let mut connection = self.connection.clone();
        let meta = RoomKeys::new(room).meta;
        Box::pin(async move {
            let last: Option<MessageId> = redis::cmd("HGET")
                .arg(&meta)
                .arg("seq")
                .query_async(&mut connection)
                .await
                .map_err(broker_error)?;
            Ok(last.unwrap_or(0))
        })
    }

    fn history(&self, room: &RoomName, query: HistoryQuery) -> StoreFuture<HistoryPage> {
        let mut connection = self.connection.clone();
        let room = room.clone();
        Box::pin(async move {
            let log = RoomKeys::new(&room).log;
            // Newest first, one more than asked so `has_older` can be told.
            let end = match query.before {
                Some(0 | 1) => return Ok(HistoryPage::default()),
                Some(before) => format!("{}-0", before - 1),
                None => "+".to_owned(),
            };
            let start = query
                .after
                .map_or_else(|| "-".to_owned(), |after| format!("{}-0", after + 1));
            let entries: Value = redis::cmd("XREVRANGE")
                .arg(&log)
                .arg(end)
                .arg(start)
                .arg("COUNT")
                .arg(query.limit + 1)
                .query_async(&mut connection)
                .await
                .map_err(broker_error)?;
            let Value::Array(entries) = entries else {
                return Err(StoreError::corrupt("XREVRANGE did not answer a list"));
            };
            let messages = entries
                .into_iter()
                .map(|entry| message_from_entry(&room, entry));
            page_from_newest(messages, query.limit)
        })
    }

    fn messages_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> StoreFuture<Vec<ChatMessage>> {
        let mut connection = self.connection.clone();
        let room = room.clone();
        Box::pin(async move {
            let log = RoomKeys::new(&room).log;
            let entries: Value = redis::cmd("XRANGE")
                .arg(&log)
                .arg(format!("{}-0", after.saturating_add(1)))
                .arg("+")
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut connection)
                .await
                .map_err(broker_error)?;
            let Value::Array(entries) = entries else {
                return Err(StoreError::corrupt("XRANGE did not answer a list"));
            };
            entries
                .into_iter()
                .map(|entry| message_from_entry(&room, entry))
                .collect()
        })
    }

    /// Nonces are remembered by the broker itself (see [`RedisStore::post`]),
    /// so rooms have none to reload.
    fn recent_nonces(
        &self,
        _room: &RoomName,
        _since_ts: u64,
        _limit: usize,
    ) -> StoreFuture<Vec<NonceRecord>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let rooms: Vec<(String, MessageId, usize)> = scripts::RECENT_ROOMS
                .key(keys::ROOMS)
                .key(keys::OCCUPIED)
                .arg(limit)
                .arg(keys::ROOM_KEY_PREFIX)
                .invoke_async(&mut connection)
                .await
                .map_err(broker_error)?;
            rooms
                .into_iter()
                .map(|(room, last_id, members)| {
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
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let _: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .map_err(broker_error)?;
            Ok(())
        })
    }

    /// Every post is acknowledged by the broker before it is reported, so
    /// nothing is left to write.
    fn close(&self) -> StoreFuture<()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

pub(super) fn broker_error(err: redis::RedisError) -> StoreError {
    StoreError::broker(err.to_string())
}

/// A message from one entry of a room's log (`[id, [field, value, …]]`).
pub(super) fn message_from_entry(room: &RoomName, entry: Value) -> Result<ChatMessage, StoreError> {
    let corrupt = |what: &str| StoreError::corrupt(format!("log entry of room {room}: {what}"));
    let Value::Array(mut parts) = entry else {
        return Err(corrupt("not a list"));
    };
    let (Some(Value::Array(fields)), Some(id)) = (parts.pop(), parts.pop()) else {
        return Err(corrupt("not an id and fields"));
    };
    let id: String = redis::from_redis_value(id).map_err(|_| corrupt("id"))?;
    let id: MessageId = id
        .strip_suffix("-0")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| corrupt("id"))?;
    let (mut name, mut text, mut ts, mut nonce) = (None, None, None, None);
    let mut fields = fields.into_iter();
    while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
        let field: String = redis::from_redis_value(field).map_err(|_| corrupt("field"))?;
        let value: String = redis::from_redis_value(value).map_err(|_| corrupt("value"))?;
        match field.as_str() {
            "name" => name = Some(DisplayName::parse(value).map_err(|_| corrupt("name"))?),
            "text" => text = Some(MessageText::parse(value).map_err(|_| corrupt("text"))?),
            "ts" => ts = Some(value.parse().map_err(|_| corrupt("ts"))?),
            "nonce" => nonce = Some(Nonce::parse(value).map_err(|_| corrupt("nonce"))?),
            _ => {}
        }
    }
    Ok(ChatMessage {
        room: room.clone(),
        id,
        name: name.ok_or_else(|| corrupt("no name"))?,
        text: text.ok_or_else(|| corrupt("no text"))?,
        ts: ts.ok_or_else(|| corrupt("no ts"))?,
        nonce,
    })
}

pub(super) fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl RedisStore {
    /// The oldest `count` messages of `room` after id `after`, oldest first:
    /// how a room reads what its subscription missed.
    pub fn read_after(
        &self,
        room: &RoomName,
        after: MessageId,
        count: usize,
    ) -> StoreFuture<Vec<ChatMessage>> {
        let mut connection = self.connection.clone();
        let room = room.clone();
        Box::pin(async move {
            let entries: Value = redis::cmd("XRANGE")
                .arg(RoomKeys::new(&room).log)
                .arg(format!("{}-0", after + 1))
                .arg("+")
                .arg("COUNT")
                .arg(count)
                .query_async(&mut connection)
                .await
                .map_err(broker_error)?;
            let Value::Array(entries) = entries else {
                return Err(StoreError::corrupt("XRANGE did not answer a list"));
            };
            entries
                .into_iter()
                .map(|entry| message_from_entry(&room, entry))
                .collect()
        })
    }
}
