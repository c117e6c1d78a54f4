//! The read queries, which the reader threads ([`super::readers`]) run on
//! their read-only connections.

use crate::store::{page_from_newest, HistoryPage, HistoryQuery, NonceRecord, StoreError};
use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName, UserId, Username};
use rusqlite::{params, Connection, Row};

pub(super) fn read_history(
    conn: &Connection,
    room: &RoomName,
    query: HistoryQuery,
) -> Result<HistoryPage, StoreError> {
    let after = query.after.unwrap_or(0);
    let before = query.before.unwrap_or(i64::MAX as MessageId);
    let mut statement = conn.prepare_cached(
        "SELECT id, name, text, ts, nonce, user_id, username FROM messages
         WHERE room = ?1 AND id > ?2 AND id < ?3
         ORDER BY id DESC LIMIT ?4",
    )?;
    // One row more than asked tells whether older ones exist.
    let fetch = query.limit.saturating_add(1) as i64;
    let rows = statement.query_map(params![room.as_str(), after, before, fetch], |row| {
        Ok(row_to_message(room, row))
    })?;
    page_from_newest(
        rows.map(|row| row.map_err(StoreError::from).and_then(|message| message)),
        query.limit,
    )
}

pub(super) fn read_recent_nonces(
    conn: &Connection,
    room: &RoomName,
    since_ts: u64,
    limit: usize,
) -> Result<Vec<NonceRecord>, StoreError> {
    // Walks the room's newest messages backwards by primary key and stops
    // at the first one older than the window: cheap however long the room.
    let mut statement = conn.prepare_cached(
        "SELECT id, name, nonce, ts, user_id FROM messages
         WHERE room = ?1 AND nonce IS NOT NULL AND ts >= ?2
         ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![room.as_str(), since_ts, super::sql_limit(limit)],
        |row| {
            Ok((
                row.get::<_, MessageId>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, u64>(3)?,
                row.get::<_, Option<UserId>>(4)?,
            ))
        },
    )?;
    let corrupt = |err: common::ValidationError| StoreError::corrupt(err.to_string());
    rows.map(|row| {
        let (id, name, nonce, ts, user_id) = row?;
        Ok(NonceRecord {
            id,
            name: DisplayName::parse(name).map_err(corrupt)?,
            user_id,
            nonce: Nonce::parse(nonce).map_err(corrupt)?,
            ts,
        })
    })
    .collect()
}

pub(super) fn read_messages_after(
    conn: &Connection,
    room: &RoomName,
    after: MessageId,
    limit: usize,
) -> Result<Vec<ChatMessage>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, name, text, ts, nonce, user_id, username FROM messages
         WHERE room = ?1 AND id > ?2
         ORDER BY id LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![room.as_str(), after, super::sql_limit(limit)],
        |row| Ok(row_to_message(room, row)),
    )?;
    rows.map(|row| row.map_err(StoreError::from).and_then(|message| message))
        .collect()
}

fn row_to_message(room: &RoomName, row: &Row<'_>) -> Result<ChatMessage, StoreError> {
    let corrupt = |err: common::ValidationError| StoreError::corrupt(err.to_string());
    Ok(ChatMessage {
        room: room.clone(),
        id: row.get(0)?,
        name: DisplayName::parse(row.get::<_, String>(1)?).map_err(corrupt)?,
        user_id: row.get(5)?,
        username: row
            .get::<_, Option<String>>(6)?
            .map(Username::parse)
            .transpose()
            .map_err(|err| StoreError::corrupt(err.to_string()))?,
        text: MessageText::parse(row.get::<_, String>(2)?).map_err(corrupt)?,
        ts: row.get(3)?,
        nonce: row
            .get::<_, Option<String>>(4)?
            .map(Nonce::parse)
            .transpose()
            .map_err(corrupt)?,
    })
}
