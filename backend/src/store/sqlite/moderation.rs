//! Bans and the audit log on the SQLite file: their statements, and the
//! work of `rooms`' [`crate::store::RoomStore`] methods for them.

use super::accounts::query_all;
use super::members::DELETE_MEMBER;
use super::rooms::{room_by_name, sql_int};
use crate::store::rooms::{
    audit_entry, no_room, parse_room_name, AuditEntry, AuditId, BanRecord, NewAuditEntry,
};
use crate::store::StoreError;
use common::{RoomName, UserId};
use rusqlite::{params, Connection};

/// A ban that exists stays as it was.
const INSERT_BAN: &str = "
    INSERT INTO room_bans (room, user_id, by_user, at_ms) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (room, user_id) DO NOTHING";
const DELETE_BAN: &str = "DELETE FROM room_bans WHERE room = ?1 AND user_id = ?2";
const BANS: &str = "
    SELECT user_id, by_user, at_ms FROM room_bans WHERE room = ?1 ORDER BY at_ms, user_id";
const INSERT_AUDIT: &str = "
    INSERT INTO audit_log (at_ms, actor, action, target_user, room, detail)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    RETURNING id";
/// By the primary key, backwards from `before`.
const AUDIT_LOG: &str = "
    SELECT id, at_ms, actor, action, target_user, room, detail FROM audit_log
    WHERE id < ?1 ORDER BY id DESC LIMIT ?2";

pub(super) fn ban(
    conn: &mut Connection,
    room: &RoomName,
    user: UserId,
    by: UserId,
    now: u64,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    room_by_name(&tx, room)?.ok_or_else(|| no_room(room))?;
    tx.prepare_cached(INSERT_BAN)?
        .execute(params![room.as_str(), user, by, now])?;
    tx.prepare_cached(DELETE_MEMBER)?
        .execute(params![room.as_str(), user])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn unban(conn: &Connection, room: &RoomName, user: UserId) -> Result<bool, StoreError> {
    let lifted = conn
        .prepare_cached(DELETE_BAN)?
        .execute(params![room.as_str(), user])?;
    Ok(lifted == 1)
}

pub(super) fn bans(conn: &Connection, room: &RoomName) -> Result<Vec<BanRecord>, StoreError> {
    query_all(conn, BANS, [room.as_str()], |row| {
        Ok(BanRecord {
            room: room.clone(),
            user: row.get(0)?,
            by: row.get(1)?,
            at_ms: row.get(2)?,
        })
    })
}

pub(super) fn audit(conn: &Connection, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
    let id: AuditId = conn.prepare_cached(INSERT_AUDIT)?.query_row(
        params![
            entry.now,
            entry.actor,
            entry.action,
            entry.target_user,
            entry.room.as_ref().map(RoomName::as_str),
            entry.detail,
        ],
        |row| row.get(0),
    )?;
    Ok(audit_entry(id, entry))
}

pub(super) fn audit_log(
    conn: &Connection,
    before: Option<AuditId>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let before = sql_int(before.unwrap_or(AuditId::MAX));
    query_all(
        conn,
        AUDIT_LOG,
        params![before, super::sql_limit(limit)],
        |row| {
            Ok(AuditEntry {
                id: row.get(0)?,
                at_ms: row.get(1)?,
                actor: row.get(2)?,
                action: row.get(3)?,
                target_user: row.get(4)?,
                room: row
                    .get::<_, Option<String>>(5)?
                    .map(parse_room_name)
                    .transpose()?,
                detail: row.get(6)?,
            })
        },
    )
}
