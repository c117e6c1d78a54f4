//! Memberships on PostgreSQL: their statements, and the work of `rooms`'
//! [`crate::store::RoomStore`] methods for them: who is in a room, with
//! which role and read state, a person's room list with what they have
//! not read, and what a person is to a room.

use super::accounts::to_u64_opt;
use super::rooms::{room_by_name, room_columns, room_from_row};
use super::{sql_limit, to_i64, to_u64};
use crate::store::rooms::{
    access_of, member_room, no_room, not_a_member, Access, Added, MemberColumns, MemberRecord,
    MemberRoom, MAX_ROOMS_PER_PERSON,
};
use crate::store::StoreError;
use common::{MessageId, RoomName, RoomRole, UserId};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// The lock class of a room's memberships: with the room's `hashtext` as
/// the second key, an advisory lock that adding a member and banning one
/// take, so that a ban and an addition at once (on two instances) are made
/// one after the other and the second sees the first: nobody is left both
/// banned and a member. Any fixed number, the same in every release (the
/// two-key locks are apart from `MIGRATION_LOCK`'s one-key ones); two
/// rooms whose slugs hash alike only wait for each other.
const MEMBERSHIP_LOCK: i32 = 0x726f_6f6d;

/// A membership's columns but its room, in the order of
/// [`member_from_row`], each after `$table` (`"m."` for a query whose
/// memberships are `m`; `""` for those of the updated row in `RETURNING`).
macro_rules! member_columns {
    ($table:literal) => {
        concat!(
            $table,
            "user_id, ",
            $table,
            "role, ",
            $table,
            "joined_ms, ",
            $table,
            "last_read, ",
            $table,
            "muted_until"
        )
    };
}

const LOCK_MEMBERSHIPS: &str = "SELECT pg_advisory_xact_lock($1::INT4, hashtext($2::TEXT))";
/// Members given as arrays of accounts and roles, all joining at once;
/// nothing for a member already there (the caller tells by the count).
const INSERT_MEMBERS: &str = "
    INSERT INTO room_members (room, user_id, role, joined_ms, last_read)
    SELECT $1::TEXT, given.user_id, given.role, $4::BIGINT, $5::BIGINT
    FROM UNNEST($2::BIGINT[], $3::TEXT[]) AS given (user_id, role)
    ON CONFLICT (room, user_id) DO NOTHING";
const MEMBERS: &str = concat!(
    "SELECT ",
    member_columns!("m."),
    " FROM room_members m WHERE m.room = $1 ORDER BY m.joined_ms, m.user_id"
);
pub(super) const DELETE_MEMBER: &str = "DELETE FROM room_members WHERE room = $1 AND user_id = $2";
const SET_ROLE: &str = concat!(
    "UPDATE room_members SET role = $3 WHERE room = $1 AND user_id = $2 RETURNING ",
    member_columns!("")
);
const SET_MUTED_UNTIL: &str = concat!(
    "UPDATE room_members SET muted_until = $3 WHERE room = $1 AND user_id = $2 RETURNING ",
    member_columns!("")
);
/// Never backwards, never past the room's last id.
const MARK_READ: &str = "
    UPDATE room_members
    SET last_read = GREATEST(last_read, LEAST($3, (SELECT last_id FROM rooms WHERE room = $1)))
    WHERE room = $1 AND user_id = $2
    RETURNING last_read";
/// Uses the index `room_members_by_user`, and for each room the primary
/// key of `mentions` (by account, room, then message).
const ROOMS_OF: &str = concat!(
    "SELECT ",
    room_columns!(),
    ", ",
    member_columns!("m."),
    ", (SELECT count(*) FROM mentions n
        WHERE n.user_id = m.user_id AND n.room = m.room AND n.message_id > m.last_read)
    FROM room_members m JOIN rooms r ON r.room = m.room
    WHERE m.user_id = $1
    ORDER BY r.last_ts DESC, r.room COLLATE \"C\"
    LIMIT $2"
);
const COUNT_ROOMS_OF: &str = "SELECT count(*) FROM room_members WHERE user_id = $1";
/// The room, the membership (its columns `NULL` when there is none) and
/// whether there is a ban, in one read.
const ACCESS: &str = concat!(
    "SELECT ",
    room_columns!(),
    ", ",
    member_columns!("m."),
    ", b.user_id IS NOT NULL
    FROM rooms r
    LEFT JOIN room_members m ON m.room = r.room AND m.user_id = $2
    LEFT JOIN room_bans b ON b.room = r.room AND b.user_id = $2
    WHERE r.room = $1"
);
const IS_BANNED: &str = "SELECT 1 FROM room_bans WHERE room = $1 AND user_id = $2";

/// The membership of `room` in the columns of `row` from `first` on (in
/// the order of `member_columns!`).
fn member_from_row(row: &Row, first: usize, room: RoomName) -> Result<MemberRecord, StoreError> {
    MemberColumns {
        user: to_u64(row.try_get(first)?, "member")?,
        role: row.try_get(first + 1)?,
        joined_ms: to_u64(row.try_get(first + 2)?, "join time")?,
        last_read: to_u64(row.try_get(first + 3)?, "read state")?,
        muted_until: to_u64_opt(row.try_get(first + 4)?, "mute")?,
    }
    .parse(room)
}

/// Takes `room`'s memberships' lock until the transaction of `client` ends.
pub(super) async fn lock_room(
    client: &impl GenericClient,
    room: &RoomName,
) -> Result<(), StoreError> {
    let statement = client.prepare_cached(LOCK_MEMBERSHIPS).await?;
    client
        .execute(&statement, &[&MEMBERSHIP_LOCK, &room.as_str()])
        .await?;
    Ok(())
}

/// Makes each of `members` a member of `room` with its role, joined at
/// `now` with the read state `last_read`; how many were none.
pub(super) async fn insert_members(
    client: &impl GenericClient,
    room: &RoomName,
    members: &[(UserId, RoomRole)],
    now: u64,
    last_read: MessageId,
) -> Result<u64, StoreError> {
    let users: Vec<i64> = members.iter().map(|(user, _)| to_i64(*user)).collect();
    let roles: Vec<&str> = members.iter().map(|(_, role)| role.as_str()).collect();
    let statement = client.prepare_cached(INSERT_MEMBERS).await?;
    let parameters: [&(dyn ToSql + Sync); 5] = [
        &room.as_str(),
        &users,
        &roles,
        &to_i64(now),
        &to_i64(last_read),
    ];
    Ok(client.execute(&statement, &parameters).await?)
}

pub(super) async fn members(
    client: &impl GenericClient,
    room: &RoomName,
) -> Result<Vec<MemberRecord>, StoreError> {
    let statement = client.prepare_cached(MEMBERS).await?;
    let rows = client.query(&statement, &[&room.as_str()]).await?;
    rows.iter()
        .map(|row| member_from_row(row, 0, room.clone()))
        .collect()
}

pub(super) async fn add_member(
    client: &mut deadpool_postgres::Object,
    room: &RoomName,
    user: UserId,
    role: RoomRole,
    now: u64,
) -> Result<Added, StoreError> {
    let tx = client.transaction().await?;
    lock_room(&tx, room).await?;
    let stored = room_by_name(&tx, room)
        .await?
        .ok_or_else(|| no_room(room))?;
    let statement = tx.prepare_cached(IS_BANNED).await?;
    if tx
        .query_opt(&statement, &[&room.as_str(), &to_i64(user)])
        .await?
        .is_some()
    {
        return Ok(Added::Banned);
    }
    let added = insert_members(&tx, room, &[(user, role)], now, stored.last_id).await?;
    tx.commit().await?;
    Ok(if added == 1 {
        Added::New
    } else {
        Added::Already
    })
}

pub(super) async fn remove_member(
    client: &impl GenericClient,
    room: &RoomName,
    user: UserId,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(DELETE_MEMBER).await?;
    let removed = client
        .execute(&statement, &[&room.as_str(), &to_i64(user)])
        .await?;
    Ok(removed == 1)
}

/// The member that an `UPDATE … RETURNING` of `user`'s membership of
/// `room` changed, setting `value`.
async fn update_member(
    client: &impl GenericClient,
    sql: &str,
    room: &RoomName,
    user: UserId,
    value: &(dyn ToSql + Sync),
) -> Result<MemberRecord, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let row = client
        .query_opt(&statement, &[&room.as_str(), &to_i64(user), value])
        .await?
        .ok_or_else(|| not_a_member(room, user))?;
    member_from_row(&row, 0, room.clone())
}

pub(super) async fn set_role(
    client: &impl GenericClient,
    room: &RoomName,
    user: UserId,
    role: RoomRole,
) -> Result<MemberRecord, StoreError> {
    update_member(client, SET_ROLE, room, user, &role.as_str()).await
}

pub(super) async fn set_muted_until(
    client: &impl GenericClient,
    room: &RoomName,
    user: UserId,
    until: Option<u64>,
) -> Result<MemberRecord, StoreError> {
    update_member(client, SET_MUTED_UNTIL, room, user, &until.map(to_i64)).await
}

pub(super) async fn mark_read(
    client: &impl GenericClient,
    room: &RoomName,
    user: UserId,
    up_to: MessageId,
) -> Result<MessageId, StoreError> {
    let statement = client.prepare_cached(MARK_READ).await?;
    let row = client
        .query_opt(&statement, &[&room.as_str(), &to_i64(user), &to_i64(up_to)])
        .await?
        .ok_or_else(|| not_a_member(room, user))?;
    to_u64(row.try_get(0)?, "read state")
}

pub(super) async fn rooms_of(
    client: &impl GenericClient,
    user: UserId,
) -> Result<Vec<MemberRoom>, StoreError> {
    let statement = client.prepare_cached(ROOMS_OF).await?;
    let rows = client
        .query(
            &statement,
            &[&to_i64(user), &sql_limit(MAX_ROOMS_PER_PERSON)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let room = room_from_row(row, 0)?;
            let member = member_from_row(row, 8, room.room.clone())?;
            let mentions = to_u64(row.try_get(13)?, "mentions")?;
            Ok(member_room(room, member, mentions))
        })
        .collect()
}

pub(super) async fn count_rooms_of(
    client: &impl GenericClient,
    user: UserId,
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(COUNT_ROOMS_OF).await?;
    let row = client.query_one(&statement, &[&to_i64(user)]).await?;
    to_u64(row.try_get(0)?, "room count")
}

pub(super) async fn access(
    client: &impl GenericClient,
    room: &RoomName,
    user: UserId,
) -> Result<Access, StoreError> {
    let statement = client.prepare_cached(ACCESS).await?;
    let row = client
        .query_opt(&statement, &[&room.as_str(), &to_i64(user)])
        .await?;
    let Some(row) = row else {
        return Ok(access_of(None, None, false));
    };
    let record = room_from_row(&row, 0)?;
    let member = match row.try_get::<_, Option<i64>>(8)? {
        Some(_) => Some(member_from_row(&row, 8, record.room.clone())?),
        None => None,
    };
    let banned = row.try_get(13)?;
    Ok(access_of(Some(record), member, banned))
}
