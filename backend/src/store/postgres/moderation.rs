//! Bans and the audit log on PostgreSQL: their statements, and the work
//! of `rooms`' [`crate::store::RoomStore`] methods for them.

use super::accounts::to_u64_opt;
use super::members::{lock_room, DELETE_MEMBER};
use super::rooms::room_by_name;
use super::{sql_limit, to_i64, to_u64};
use crate::store::rooms::{
    audit_entry, no_room, parse_room_name, AuditEntry, AuditId, BanRecord, NewAuditEntry,
};
use crate::store::StoreError;
use common::{RoomName, UserId};
use deadpool_postgres::GenericClient;

/// A ban that exists stays as it was.
const INSERT_BAN: &str = "
    INSERT INTO room_bans (room, user_id, by_user, at_ms) VALUES ($1, $2, $3, $4)
    ON CONFLICT (room, user_id) DO NOTHING";
const DELETE_BAN: &str = "DELETE FROM room_bans WHERE room = $1 AND user_id = $2";
const BANS: &str = "
    SELECT user_id, by_user, at_ms FROM room_bans WHERE room = $1 ORDER BY at_ms, user_id";
const INSERT_AUDIT: &str = "
    INSERT INTO audit_log (at_ms, actor, action, target_user, room, detail)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING id";
/// By the primary key, backwards from `before`.
const AUDIT_LOG: &str = "
    SELECT id, at_ms, actor, action, target_user, room, detail FROM audit_log
    WHERE id < $1 ORDER BY id DESC LIMIT $2";

pub(super) async fn ban(
    client: &mut deadpool_postgres::Object,
    room: &RoomName,
    user: UserId,
    by: UserId,
    now: u64,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    lock_room(&tx, room).await?;
    room_by_name(&tx, room)
        .await?
        .ok_or_else(|| no_room(room))?;
    let statement = tx.prepare_cached(INSERT_BAN).await?;
    tx.execute(
        &statement,
        &[&room.as_str(), &to_i64(user), &to_i64(by), &to_i64(now)],
    )
    .await?;
    let statement = tx.prepare_cached(DELETE_MEMBER).await?;
    tx.execute(&statement, &[&room.as_str(), &to_i64(user)])
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn unban(
    client: &impl GenericClient,
    room: &RoomName,
    user: UserId,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(DELETE_BAN).await?;
    let lifted = client
        .execute(&statement, &[&room.as_str(), &to_i64(user)])
        .await?;
    Ok(lifted == 1)
}

pub(super) async fn bans(
    client: &impl GenericClient,
    room: &RoomName,
) -> Result<Vec<BanRecord>, StoreError> {
    let statement = client.prepare_cached(BANS).await?;
    let rows = client.query(&statement, &[&room.as_str()]).await?;
    rows.iter()
        .map(|row| {
            Ok(BanRecord {
                room: room.clone(),
                user: to_u64(row.try_get(0)?, "banned account")?,
                by: to_u64(row.try_get(1)?, "banning account")?,
                at_ms: to_u64(row.try_get(2)?, "ban time")?,
            })
        })
        .collect()
}

pub(super) async fn audit(
    client: &impl GenericClient,
    entry: NewAuditEntry,
) -> Result<AuditEntry, StoreError> {
    let statement = client.prepare_cached(INSERT_AUDIT).await?;
    let row = client
        .query_one(
            &statement,
            &[
                &to_i64(entry.now),
                &entry.actor.map(to_i64),
                &entry.action,
                &entry.target_user.map(to_i64),
                &entry.room.as_ref().map(RoomName::as_str),
                &entry.detail,
            ],
        )
        .await?;
    let id = to_u64(row.try_get(0)?, "audit id")?;
    Ok(audit_entry(id, entry))
}

pub(super) async fn audit_log(
    client: &impl GenericClient,
    before: Option<AuditId>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let before = before.map_or(i64::MAX, to_i64);
    let statement = client.prepare_cached(AUDIT_LOG).await?;
    let rows = client
        .query(&statement, &[&before, &sql_limit(limit)])
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: to_u64(row.try_get(0)?, "audit id")?,
                at_ms: to_u64(row.try_get(1)?, "audit time")?,
                actor: to_u64_opt(row.try_get(2)?, "audit actor")?,
                action: row.try_get(3)?,
                target_user: to_u64_opt(row.try_get(4)?, "audit target")?,
                room: row
                    .try_get::<_, Option<String>>(5)?
                    .map(parse_room_name)
                    .transpose()?,
                detail: row.try_get(6)?,
            })
        })
        .collect()
}
