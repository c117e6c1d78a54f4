//! [`RoomStore`] on PostgreSQL: the schema of migration 4, the statements
//! for rooms, and the trait's methods; memberships and read state are in
//! `members`, bans and the audit log in `moderation`.
//!
//! As account writes do, each write runs on a connection of the pool,
//! beside the message writer, and what must not be done halfway (a room
//! and its first members, a ban and the membership it ends) in one
//! transaction. Instances of a cluster may change one room at once, so a
//! transaction that checks and then writes locks what it checked: a
//! room's row while its fields change (`FOR UPDATE`), and the room's
//! memberships while a member is added or banned (`members::lock_room`).

use super::accounts::to_u64_opt;
use super::{members, moderation, sql_limit, to_i64, to_u64, PostgresStore};
use crate::store::rooms::{
    changed_room, first_members, new_room_record, no_room, Access, Added, AuditEntry, AuditId,
    BanRecord, Created, MemberRecord, MemberRoom, NewAuditEntry, NewRoom, RoomChange, RoomColumns,
    RoomRecord, RoomStore,
};
use crate::store::{StoreError, StoreFuture};
use common::{MessageId, RoomName, RoomRole, RoomTitle, UserId};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// Migration 4: rooms get their kind, title, topic, owner, whether they
/// are archived and when they were made; memberships with their role and
/// read state, bans, the mentions of posts and the audit log get tables.
/// The same schema as SQLite's migration 5, for the same reasons (see
/// `store::sqlite`): old rooms become public, ownerless, untitled, made
/// when their newest message was; read state is a row per member; accounts
/// are named by id without a foreign key.
pub(super) const MIGRATION_4: &str = "
    ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public'
        CHECK (kind IN ('public', 'private', 'direct'));
    ALTER TABLE rooms ADD COLUMN title TEXT;
    ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT '';
    ALTER TABLE rooms ADD COLUMN owner BIGINT;
    ALTER TABLE rooms ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE rooms ADD COLUMN created_ms BIGINT NOT NULL DEFAULT 0;
    UPDATE rooms SET created_ms = last_ts;
    CREATE TABLE room_members (
        room        TEXT   NOT NULL REFERENCES rooms (room),
        user_id     BIGINT NOT NULL,
        role        TEXT   NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
        joined_ms   BIGINT NOT NULL,
        last_read   BIGINT NOT NULL DEFAULT 0,
        muted_until BIGINT,
        PRIMARY KEY (room, user_id)
    );
    CREATE INDEX room_members_by_user ON room_members (user_id);
    CREATE TABLE room_bans (
        room    TEXT   NOT NULL REFERENCES rooms (room),
        user_id BIGINT NOT NULL,
        by_user BIGINT NOT NULL,
        at_ms   BIGINT NOT NULL,
        PRIMARY KEY (room, user_id)
    );
    CREATE TABLE mentions (
        user_id    BIGINT NOT NULL,
        room       TEXT   NOT NULL REFERENCES rooms (room),
        message_id BIGINT NOT NULL,
        PRIMARY KEY (user_id, room, message_id)
    );
    CREATE TABLE audit_log (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at_ms       BIGINT NOT NULL,
        actor       BIGINT,
        action      TEXT   NOT NULL,
        target_user BIGINT,
        room        TEXT,
        detail      TEXT   NOT NULL
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

/// As SQLite's: no message, as active as it is new; nothing for a slug
/// that exists (`0` rows).
const INSERT_ROOM: &str = "
    INSERT INTO rooms (room, kind, title, topic, owner, archived, last_id, last_ts, created_ms)
    VALUES ($1, $2, $3, $4, $5, FALSE, 0, $6, $6)
    ON CONFLICT (room) DO NOTHING";
const ROOM: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.room = $1"
);
/// The room, locked until the transaction ends: two changes at once are
/// made one after the other, the second seeing the first.
const LOCK_ROOM: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.room = $1 FOR UPDATE"
);
const UPDATE_ROOM: &str =
    "UPDATE rooms SET kind = $2, title = $3, topic = $4, archived = $5 WHERE room = $1";
/// Uses the index `rooms_by_activity`; slugs compare by their bytes, as
/// the other backends compare them.
const PUBLIC_ROOMS: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.kind = 'public' ORDER BY r.last_ts DESC, r.room COLLATE \"C\" LIMIT $1"
);

/// The room in the columns of `row` from `first` on (in the order of
/// `room_columns!`).
pub(super) fn room_from_row(row: &Row, first: usize) -> Result<RoomRecord, StoreError> {
    RoomColumns {
        room: row.try_get(first)?,
        kind: row.try_get(first + 1)?,
        title: row.try_get(first + 2)?,
        topic: row.try_get(first + 3)?,
        owner: to_u64_opt(row.try_get(first + 4)?, "room owner")?,
        archived: row.try_get(first + 5)?,
        last_id: to_u64(row.try_get(first + 6)?, "last id")?,
        created_ms: to_u64(row.try_get(first + 7)?, "creation time")?,
    }
    .parse()
}

/// The room named `room` by the query `sql` (`ROOM` or `LOCK_ROOM`).
async fn read_room(
    client: &impl GenericClient,
    sql: &str,
    room: &RoomName,
) -> Result<Option<RoomRecord>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let row = client.query_opt(&statement, &[&room.as_str()]).await?;
    row.map(|row| room_from_row(&row, 0)).transpose()
}

pub(super) async fn room_by_name(
    client: &impl GenericClient,
    room: &RoomName,
) -> Result<Option<RoomRecord>, StoreError> {
    read_room(client, ROOM, room).await
}

async fn create_room(
    client: &mut deadpool_postgres::Object,
    new: NewRoom,
) -> Result<Created, StoreError> {
    let tx = client.transaction().await?;
    let statement = tx.prepare_cached(INSERT_ROOM).await?;
    let inserted = tx
        .execute(
            &statement,
            &[
                &new.room.as_str(),
                &new.kind.as_str(),
                &new.title.as_ref().map(RoomTitle::as_str),
                &new.topic.as_str(),
                &new.owner.map(to_i64),
                &to_i64(new.now),
            ],
        )
        .await?;
    if inserted == 0 {
        // Made meanwhile by another instance, whose commit the insert
        // waited for: this statement sees it.
        let existing = room_by_name(&tx, &new.room)
            .await?
            .ok_or_else(|| no_room(&new.room))?;
        return Ok(Created::Existing(existing));
    }
    members::insert_members(&tx, &new.room, &first_members(&new), new.now, 0).await?;
    tx.commit().await?;
    Ok(Created::New(new_room_record(&new)))
}

async fn update_room(
    client: &mut deadpool_postgres::Object,
    room: &RoomName,
    change: RoomChange,
) -> Result<RoomRecord, StoreError> {
    let tx = client.transaction().await?;
    let stored = read_room(&tx, LOCK_ROOM, room)
        .await?
        .ok_or_else(|| no_room(room))?;
    let changed = changed_room(stored, change)?;
    let statement = tx.prepare_cached(UPDATE_ROOM).await?;
    tx.execute(
        &statement,
        &[
            &room.as_str(),
            &changed.kind.as_str(),
            &changed.title.as_ref().map(RoomTitle::as_str),
            &changed.topic.as_str(),
            &changed.archived,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

impl RoomStore for PostgresStore {
    fn create_room(&self, room: NewRoom) -> StoreFuture<Created> {
        self.write(move |mut client| async move { create_room(&mut client, room).await })
    }

    fn room(&self, room: &RoomName) -> StoreFuture<Option<RoomRecord>> {
        let room = room.clone();
        self.read(move |client| async move { room_by_name(&client, &room).await })
    }

    fn update_room(&self, room: &RoomName, change: RoomChange) -> StoreFuture<RoomRecord> {
        let room = room.clone();
        self.write(move |mut client| async move { update_room(&mut client, &room, change).await })
    }

    fn public_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomRecord>> {
        self.read(move |client| async move {
            let statement = client.prepare_cached(PUBLIC_ROOMS).await?;
            let rows = client.query(&statement, &[&sql_limit(limit)]).await?;
            rows.iter().map(|row| room_from_row(row, 0)).collect()
        })
    }

    fn rooms_of(&self, user: UserId) -> StoreFuture<Vec<MemberRoom>> {
        self.read(move |client| async move { members::rooms_of(&client, user).await })
    }

    fn count_rooms_of(&self, user: UserId) -> StoreFuture<u64> {
        self.read(move |client| async move { members::count_rooms_of(&client, user).await })
    }

    fn access(&self, room: &RoomName, user: UserId) -> StoreFuture<Access> {
        let room = room.clone();
        self.read(move |client| async move { members::access(&client, &room, user).await })
    }

    fn members(&self, room: &RoomName) -> StoreFuture<Vec<MemberRecord>> {
        let room = room.clone();
        self.read(move |client| async move { members::members(&client, &room).await })
    }

    fn add_member(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
        now: u64,
    ) -> StoreFuture<Added> {
        let room = room.clone();
        self.write(move |mut client| async move {
            members::add_member(&mut client, &room, user, role, now).await
        })
    }

    fn remove_member(&self, room: &RoomName, user: UserId) -> StoreFuture<bool> {
        let room = room.clone();
        self.write(move |client| async move { members::remove_member(&client, &room, user).await })
    }

    fn set_member_role(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
    ) -> StoreFuture<MemberRecord> {
        let room = room.clone();
        self.write(move |client| async move { members::set_role(&client, &room, user, role).await })
    }

    fn set_muted_until(
        &self,
        room: &RoomName,
        user: UserId,
        until: Option<u64>,
    ) -> StoreFuture<MemberRecord> {
        let room = room.clone();
        self.write(move |client| async move {
            members::set_muted_until(&client, &room, user, until).await
        })
    }

    fn mark_read(&self, room: &RoomName, user: UserId, up_to: MessageId) -> StoreFuture<MessageId> {
        let room = room.clone();
        self.write(
            move |client| async move { members::mark_read(&client, &room, user, up_to).await },
        )
    }

    fn ban(&self, room: &RoomName, user: UserId, by: UserId, now: u64) -> StoreFuture<()> {
        let room = room.clone();
        self.write(move |mut client| async move {
            moderation::ban(&mut client, &room, user, by, now).await
        })
    }

    fn unban(&self, room: &RoomName, user: UserId) -> StoreFuture<bool> {
        let room = room.clone();
        self.write(move |client| async move { moderation::unban(&client, &room, user).await })
    }

    fn bans(&self, room: &RoomName) -> StoreFuture<Vec<BanRecord>> {
        let room = room.clone();
        self.read(move |client| async move { moderation::bans(&client, &room).await })
    }

    fn audit(&self, entry: NewAuditEntry) -> StoreFuture<AuditEntry> {
        self.write(move |client| async move { moderation::audit(&client, entry).await })
    }

    fn audit_log(&self, before: Option<AuditId>, limit: usize) -> StoreFuture<Vec<AuditEntry>> {
        self.read(move |client| async move { moderation::audit_log(&client, before, limit).await })
    }
}
