//! [`RoomStore`] on the SQLite file: the schema of migration 5, the
//! statements for rooms, and the trait's methods; memberships and read
//! state are in `members`, bans and the audit log in `moderation`.
//!
//! As for accounts, writes are jobs of the writer thread
//! (`SqliteStore::write`), so they are ordered with each other and with
//! the posts queued before them: a member added after a post starts at
//! that post's id, and no check meets a write made meanwhile. Reads use
//! the read-only connections.

use super::accounts::{query_all, query_first};
use super::SqliteStore;
use super::{members, moderation};
use crate::store::rooms::{
    changed_room, first_members, new_room_record, no_room, Access, Added, AuditEntry, AuditId,
    BanRecord, Created, MemberRecord, MemberRoom, NewAuditEntry, NewRoom, RoomChange, RoomColumns,
    RoomRecord, RoomStore,
};
use crate::store::{StoreError, StoreFuture};
use common::{MessageId, RoomName, RoomRole, RoomTitle, UserId};
use rusqlite::{params, Connection, Row};

/// Migration 5: rooms get their kind, title, topic, owner, whether they
/// are archived and when they were made; memberships with their role and
/// read state, bans, the mentions of posts and the audit log get tables.
///
/// Rooms from before keep their ids and messages and become what they
/// were: public, without an owner or a title, made (as far as anyone can
/// tell) when their newest message was. Read state is one row per member
/// and room, not per message (see [`crate::store::rooms`]); memberships
/// are looked up by account for a person's room list, and mentions by
/// account and room, then message, for its counts.
///
/// Accounts are named by id without a foreign key: the store takes the
/// ids its callers looked up, as the memory store does, which keeps its
/// accounts apart. Rooms are never deleted, so their rows may be named.
pub(super) const MIGRATION_5: &str = "
    ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public'
        CHECK (kind IN ('public', 'private', 'direct'));
    ALTER TABLE rooms ADD COLUMN title TEXT;
    ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT '';
    ALTER TABLE rooms ADD COLUMN owner INTEGER;
    ALTER TABLE rooms ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
    ALTER TABLE rooms ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;
    UPDATE rooms SET created_ms = last_ts;
    CREATE TABLE room_members (
        room        TEXT    NOT NULL REFERENCES rooms (room),
        user_id     INTEGER NOT NULL,
        role        TEXT    NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
        joined_ms   INTEGER NOT NULL,
        last_read   INTEGER NOT NULL DEFAULT 0,
        muted_until INTEGER,
        PRIMARY KEY (room, user_id)
    );
    CREATE INDEX room_members_by_user ON room_members (user_id);
    CREATE TABLE room_bans (
        room    TEXT    NOT NULL REFERENCES rooms (room),
        user_id INTEGER NOT NULL,
        by_user INTEGER NOT NULL,
        at_ms   INTEGER NOT NULL,
        PRIMARY KEY (room, user_id)
    );
    CREATE TABLE mentions (
        user_id    INTEGER NOT NULL,
        room       TEXT    NOT NULL REFERENCES rooms (room),
        message_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, room, message_id)
    );
    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms       INTEGER NOT NULL,
        actor       INTEGER,
        action      TEXT    NOT NULL,
        target_user INTEGER,
        room        TEXT,
        detail      TEXT    NOT NULL
    );
";

/// A room's columns, in the order of [`room_from_row`], for a query whose
/// rooms are `r`.
macro_rules! room_columns {
    () => {
        "r.room, r.kind, r.title, r.topic, r.owner, r.archived, r.last_id, r.created_ms"
    };
}
pub(super) use room_columns;

/// A room made by `create_room` has no message and is as active as it is
/// new; one of that slug changes nothing (`changes()` is then 0).
const INSERT_ROOM: &str = "
    INSERT INTO rooms (room, kind, title, topic, owner, archived, last_id, last_ts, created_ms)
    VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?6)
    ON CONFLICT (room) DO NOTHING";
const ROOM: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.room = ?1"
);
const UPDATE_ROOM: &str =
    "UPDATE rooms SET kind = ?2, title = ?3, topic = ?4, archived = ?5 WHERE room = ?1";
/// Uses the index `rooms_by_activity`.
const PUBLIC_ROOMS: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.kind = 'public' ORDER BY r.last_ts DESC, r.room LIMIT ?1"
);

/// The room in the columns of `row` from `first` on (in the order of
/// `room_columns!`).
pub(super) fn room_from_row(row: &Row<'_>, first: usize) -> Result<RoomRecord, StoreError> {
    RoomColumns {
        room: row.get(first)?,
        kind: row.get(first + 1)?,
        title: row.get(first + 2)?,
        topic: row.get(first + 3)?,
        owner: row.get(first + 4)?,
        archived: row.get(first + 5)?,
        last_id: row.get(first + 6)?,
        created_ms: row.get(first + 7)?,
    }
    .parse()
}

pub(super) fn room_by_name(
    conn: &Connection,
    room: &RoomName,
) -> Result<Option<RoomRecord>, StoreError> {
    query_first(conn, ROOM, [room.as_str()], |row| room_from_row(row, 0))
}

/// An id or a time as SQLite's `INTEGER` holds it: a larger one is
/// clamped, as no stored value is above it.
pub(super) fn sql_int(value: u64) -> u64 {
    value.min(i64::MAX as u64)
}

fn create_room(conn: &mut Connection, new: NewRoom) -> Result<Created, StoreError> {
    let tx = conn.transaction()?;
    let inserted = tx.prepare_cached(INSERT_ROOM)?.execute(params![
        new.room.as_str(),
        new.kind.as_str(),
        new.title.as_ref().map(RoomTitle::as_str),
        new.topic.as_str(),
        new.owner,
        new.now,
    ])?;
    if inserted == 0 {
        let existing = room_by_name(&tx, &new.room)?.ok_or_else(|| no_room(&new.room))?;
        return Ok(Created::Existing(existing));
    }
    for (user, role) in first_members(&new) {
        members::insert_member(&tx, &new.room, user, role, new.now, 0)?;
    }
    tx.commit()?;
    Ok(Created::New(new_room_record(&new)))
}

fn update_room(
    conn: &mut Connection,
    room: &RoomName,
    change: RoomChange,
) -> Result<RoomRecord, StoreError> {
    let stored = room_by_name(conn, room)?.ok_or_else(|| no_room(room))?;
    let changed = changed_room(stored, change)?;
    conn.prepare_cached(UPDATE_ROOM)?.execute(params![
        room.as_str(),
        changed.kind.as_str(),
        changed.title.as_ref().map(RoomTitle::as_str),
        changed.topic.as_str(),
        changed.archived,
    ])?;
    Ok(changed)
}

impl RoomStore for SqliteStore {
    fn create_room(&self, room: NewRoom) -> StoreFuture<Created> {
        self.write(move |conn| create_room(conn, room))
    }

    fn room(&self, room: &RoomName) -> StoreFuture<Option<RoomRecord>> {
        let room = room.clone();
        self.read(move |conn| room_by_name(conn, &room))
    }

    fn update_room(&self, room: &RoomName, change: RoomChange) -> StoreFuture<RoomRecord> {
        let room = room.clone();
        self.write(move |conn| update_room(conn, &room, change))
    }

    fn public_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomRecord>> {
        let limit = super::sql_limit(limit);
        self.read(move |conn| query_all(conn, PUBLIC_ROOMS, [limit], |row| room_from_row(row, 0)))
    }

    fn rooms_of(&self, user: UserId) -> StoreFuture<Vec<MemberRoom>> {
        self.read(move |conn| members::rooms_of(conn, user))
    }

    fn count_rooms_of(&self, user: UserId) -> StoreFuture<u64> {
        self.read(move |conn| members::count_rooms_of(conn, user))
    }

    fn access(&self, room: &RoomName, user: UserId) -> StoreFuture<Access> {
        let room = room.clone();
        self.read(move |conn| members::access(conn, &room, user))
    }

    fn members(&self, room: &RoomName) -> StoreFuture<Vec<MemberRecord>> {
        let room = room.clone();
        self.read(move |conn| members::members(conn, &room))
    }

    fn add_member(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
        now: u64,
    ) -> StoreFuture<Added> {
        let room = room.clone();
        self.write(move |conn| members::add_member(conn, &room, user, role, now))
    }

    fn remove_member(&self, room: &RoomName, user: UserId) -> StoreFuture<bool> {
        let room = room.clone();
        self.write(move |conn| members::remove_member(conn, &room, user))
    }

    fn set_member_role(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
    ) -> StoreFuture<MemberRecord> {
        let room = room.clone();
        self.write(move |conn| members::set_role(conn, &room, user, role))
    }

    fn set_muted_until(
        &self,
        room: &RoomName,
        user: UserId,
        until: Option<u64>,
    ) -> StoreFuture<MemberRecord> {
        let room = room.clone();
        self.write(move |conn| members::set_muted_until(conn, &room, user, until))
    }

    fn mark_read(&self, room: &RoomName, user: UserId, up_to: MessageId) -> StoreFuture<MessageId> {
        let room = room.clone();
        self.write(move |conn| members::mark_read(conn, &room, user, up_to))
    }

    fn ban(&self, room: &RoomName, user: UserId, by: UserId, now: u64) -> StoreFuture<()> {
        let room = room.clone();
        self.write(move |conn| moderation::ban(conn, &room, user, by, now))
    }

    fn unban(&self, room: &RoomName, user: UserId) -> StoreFuture<bool> {
        let room = room.clone();
        self.write(move |conn| moderation::unban(conn, &room, user))
    }

    fn bans(&self, room: &RoomName) -> StoreFuture<Vec<BanRecord>> {
        let room = room.clone();
        self.read(move |conn| moderation::bans(conn, &room))
    }

    fn audit(&self, entry: NewAuditEntry) -> StoreFuture<AuditEntry> {
        self.write(move |conn| moderation::audit(conn, entry))
    }

    fn audit_log(&self, before: Option<AuditId>, limit: usize) -> StoreFuture<Vec<AuditEntry>> {
        self.read(move |conn| moderation::audit_log(conn, before, limit))
    }
}
