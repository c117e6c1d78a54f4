//! Memberships on the SQLite file: their statements, and the work of
//! `rooms`' [`crate::store::RoomStore`] methods for them (writes run on
//! the writer's connection, reads on a reader's): who is in a room, with
//! which role and read state, a person's room list with what they have
//! not read, and what a person is to a room.

use super::accounts::{query_all, query_first};
use super::rooms::{room_by_name, room_columns, room_from_row, sql_int};
use crate::store::rooms::{
    access_of, member_room, no_room, not_a_member, Access, Added, MemberColumns, MemberRecord,
    MemberRoom, MAX_ROOMS_PER_PERSON,
};
use crate::store::StoreError;
use common::{MessageId, RoomName, RoomRole, UserId};
use rusqlite::{params, Connection, Row};

/// A membership's columns but its room, in the order of
/// [`member_from_row`], each after `$table` (`"m."` for a query whose
/// memberships are `m`; `""` where SQLite takes no table, in `RETURNING`).
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

/// Changes nothing for a member already there (the caller tells).
const INSERT_MEMBER: &str = "
    INSERT INTO room_members (room, user_id, role, joined_ms, last_read) VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (room, user_id) DO NOTHING";
const MEMBERS: &str = concat!(
    "SELECT ",
    member_columns!("m."),
    " FROM room_members m WHERE m.room = ?1 ORDER BY m.joined_ms, m.user_id"
);
pub(super) const DELETE_MEMBER: &str = "DELETE FROM room_members WHERE room = ?1 AND user_id = ?2";
const SET_ROLE: &str = concat!(
    "UPDATE room_members SET role = ?3 WHERE room = ?1 AND user_id = ?2 RETURNING ",
    member_columns!("")
);
const SET_MUTED_UNTIL: &str = concat!(
    "UPDATE room_members SET muted_until = ?3 WHERE room = ?1 AND user_id = ?2 RETURNING ",
    member_columns!("")
);
/// Never backwards, never past the room's last id.
const MARK_READ: &str = "
    UPDATE room_members
    SET last_read = max(last_read, min(?3, (SELECT last_id FROM rooms WHERE room = ?1)))
    WHERE room = ?1 AND user_id = ?2
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
    WHERE m.user_id = ?1
    ORDER BY r.last_ts DESC, r.room
    LIMIT ?2"
);
const COUNT_ROOMS_OF: &str = "SELECT count(*) FROM room_members WHERE user_id = ?1";
/// The room, the membership (its columns `NULL` when there is none) and
/// whether there is a ban, in one read.
const ACCESS: &str = concat!(
    "SELECT ",
    room_columns!(),
    ", ",
    member_columns!("m."),
    ", b.user_id IS NOT NULL
    FROM rooms r
    LEFT JOIN room_members m ON m.room = r.room AND m.user_id = ?2
    LEFT JOIN room_bans b ON b.room = r.room AND b.user_id = ?2
    WHERE r.room = ?1"
);
const IS_BANNED: &str = "SELECT 1 FROM room_bans WHERE room = ?1 AND user_id = ?2";

/// The membership of `room` in the columns of `row` from `first` on (in
/// the order of `member_columns!`).
fn member_from_row(
    row: &Row<'_>,
    first: usize,
    room: RoomName,
) -> Result<MemberRecord, StoreError> {
    MemberColumns {
        user: row.get(first)?,
        role: row.get(first + 1)?,
        joined_ms: row.get(first + 2)?,
        last_read: row.get(first + 3)?,
        muted_until: row.get(first + 4)?,
    }
    .parse(room)
}

/// Makes `user` a member of `room`; whether they were none.
pub(super) fn insert_member(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
    role: RoomRole,
    now: u64,
    last_read: MessageId,
) -> Result<bool, StoreError> {
    let inserted = conn.prepare_cached(INSERT_MEMBER)?.execute(params![
        room.as_str(),
        user,
        role.as_str(),
        now,
        last_read
    ])?;
    Ok(inserted == 1)
}

/// Whether `user` is banned from `room`.
pub(super) fn is_banned(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
) -> Result<bool, StoreError> {
    Ok(query_first(conn, IS_BANNED, params![room.as_str(), user], |_| Ok(()))?.is_some())
}

pub(super) fn members(conn: &Connection, room: &RoomName) -> Result<Vec<MemberRecord>, StoreError> {
    query_all(conn, MEMBERS, [room.as_str()], |row| {
        member_from_row(row, 0, room.clone())
    })
}

pub(super) fn add_member(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
    role: RoomRole,
    now: u64,
) -> Result<Added, StoreError> {
    // One writer: nothing changes between these reads and the insert.
    let stored = room_by_name(conn, room)?.ok_or_else(|| no_room(room))?;
    if is_banned(conn, room, user)? {
        return Ok(Added::Banned);
    }
    Ok(
        match insert_member(conn, room, user, role, now, stored.last_id)? {
            true => Added::New,
            false => Added::Already,
        },
    )
}

pub(super) fn remove_member(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
) -> Result<bool, StoreError> {
    let removed = conn
        .prepare_cached(DELETE_MEMBER)?
        .execute(params![room.as_str(), user])?;
    Ok(removed == 1)
}

/// The member that an `UPDATE … RETURNING` of `user`'s membership of
/// `room` changed, setting `value`.
fn update_member(
    conn: &Connection,
    sql: &str,
    room: &RoomName,
    user: UserId,
    value: &dyn rusqlite::ToSql,
) -> Result<MemberRecord, StoreError> {
    query_first(conn, sql, params![room.as_str(), user, value], |row| {
        member_from_row(row, 0, room.clone())
    })?
    .ok_or_else(|| not_a_member(room, user))
}

pub(super) fn set_role(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
    role: RoomRole,
) -> Result<MemberRecord, StoreError> {
    update_member(conn, SET_ROLE, room, user, &role.as_str())
}

pub(super) fn set_muted_until(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
    until: Option<u64>,
) -> Result<MemberRecord, StoreError> {
    update_member(conn, SET_MUTED_UNTIL, room, user, &until.map(sql_int))
}

pub(super) fn mark_read(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
    up_to: MessageId,
) -> Result<MessageId, StoreError> {
    query_first(
        conn,
        MARK_READ,
        params![room.as_str(), user, sql_int(up_to)],
        |row| Ok(row.get(0)?),
    )?
    .ok_or_else(|| not_a_member(room, user))
}

pub(super) fn rooms_of(conn: &Connection, user: UserId) -> Result<Vec<MemberRoom>, StoreError> {
    let limit = super::sql_limit(MAX_ROOMS_PER_PERSON);
    query_all(conn, ROOMS_OF, params![user, limit], |row| {
        let room = room_from_row(row, 0)?;
        let member = member_from_row(row, 8, room.room.clone())?;
        Ok(member_room(room, member, row.get(13)?))
    })
}

pub(super) fn count_rooms_of(conn: &Connection, user: UserId) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(COUNT_ROOMS_OF)?
        .query_row([user], |row| row.get(0))?)
}

pub(super) fn access(
    conn: &Connection,
    room: &RoomName,
    user: UserId,
) -> Result<Access, StoreError> {
    let found = query_first(conn, ACCESS, params![room.as_str(), user], |row| {
        let record = room_from_row(row, 0)?;
        let member = match row.get::<_, Option<UserId>>(8)? {
            Some(_) => Some(member_from_row(row, 8, record.room.clone())?),
            None => None,
        };
        Ok((record, member, row.get::<_, bool>(13)?))
    })?;
    Ok(match found {
        Some((record, member, banned)) => access_of(Some(record), member, banned),
        None => access_of(None, None, false),
    })
}
