//! [`RoomStore`] in memory (`--db :memory:`): the same contract as the
//! databases', gone when the process ends.
//!
//! Every method runs under one lock and checks everything before it
//! changes anything, which is what a transaction gives the databases. A
//! post takes this lock after the history's (never the other way round),
//! so that a room's last id here moves with its messages.

use super::{ready, MemoryStore};
use crate::store::rooms::{
    access_of, audit_entry, changed_room, first_members, member_room, new_room_record, no_room,
    not_a_member, posted_room_record, Access, Added, AuditEntry, AuditId, BanRecord, Created,
    MemberRecord, MemberRoom, NewAuditEntry, NewRoom, RoomChange, RoomRecord, RoomStore,
    MAX_ROOMS_PER_PERSON,
};
use crate::store::{StoreError, StoreFuture};
use common::{ChatMessage, MessageId, RoomKind, RoomName, RoomRole, UserId};
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The tables, as the databases have them, with the index by account that
/// they have too.
#[derive(Default)]
pub(super) struct Tables {
    rooms: HashMap<RoomName, Room>,
    /// The rooms each account is a member of.
    rooms_of: HashMap<UserId, HashSet<RoomName>>,
    /// The messages that call each account, per room.
    mentions: HashMap<(UserId, RoomName), BTreeSet<MessageId>>,
    /// Entry `id` is at `id - 1`: entries are never deleted.
    audit: Vec<AuditEntry>,
}

/// One room's row, with its memberships and bans.
struct Room {
    record: RoomRecord,
    /// Its activity: its newest message's time, or when it was made.
    active_ms: u64,
    members: HashMap<UserId, MemberRecord>,
    bans: HashMap<UserId, BanRecord>,
}

impl Room {
    fn new(record: RoomRecord) -> Self {
        Self {
            active_ms: record.created_ms,
            record,
            members: HashMap::new(),
            bans: HashMap::new(),
        }
    }
}

impl Tables {
    /// Records that `message` was stored, calling `mentions`: makes its
    /// room's row when it has none (public, without an owner) and moves
    /// its last id and activity.
    pub(super) fn posted(&mut self, message: &ChatMessage, mentions: &[UserId]) {
        let room = self
            .rooms
            .entry(message.room.clone())
            .or_insert_with(|| Room::new(posted_room_record(&message.room, message.ts)));
        room.record.last_id = room.record.last_id.max(message.id);
        room.active_ms = room.active_ms.max(message.ts);
        for user in mentions {
            self.mentions
                .entry((*user, message.room.clone()))
                .or_default()
                .insert(message.id);
        }
    }

    /// The activity of `room`'s row (0 when it has none yet).
    pub(super) fn active_ms(&self, room: &RoomName) -> u64 {
        self.rooms.get(room).map_or(0, |room| room.active_ms)
    }

    fn room(&self, name: &RoomName) -> Result<&Room, StoreError> {
        self.rooms.get(name).ok_or_else(|| no_room(name))
    }

    fn room_mut(&mut self, name: &RoomName) -> Result<&mut Room, StoreError> {
        self.rooms.get_mut(name).ok_or_else(|| no_room(name))
    }

    fn member_mut(
        &mut self,
        name: &RoomName,
        user: UserId,
    ) -> Result<&mut MemberRecord, StoreError> {
        self.rooms
            .get_mut(name)
            .and_then(|room| room.members.get_mut(&user))
            .ok_or_else(|| not_a_member(name, user))
    }

    fn join(&mut self, room: &RoomName, user: UserId, role: RoomRole, now: u64) {
        let Some(stored) = self.rooms.get_mut(room) else {
            return;
        };
        let member = MemberRecord {
            room: room.clone(),
            user,
            role,
            joined_ms: now,
            last_read: stored.record.last_id,
            muted_until: None,
        };
        stored.members.insert(user, member);
        self.rooms_of.entry(user).or_default().insert(room.clone());
    }

    fn leave(&mut self, room: &RoomName, user: UserId) -> bool {
        let left = self
            .rooms
            .get_mut(room)
            .and_then(|stored| stored.members.remove(&user))
            .is_some();
        if let Some(rooms) = self.rooms_of.get_mut(&user) {
            rooms.remove(room);
        }
        left
    }

    /// The messages of `room` after `last_read` that call `user`.
    fn mentions_after(&self, user: UserId, room: &RoomName, last_read: MessageId) -> u64 {
        self.mentions
            .get(&(user, room.clone()))
            .map_or(0, |ids| ids.range(last_read + 1..).count() as u64)
    }

    /// `rooms` sorted as the lists are: the most recently active first,
    /// then by slug.
    fn by_activity<'a>(rooms: impl Iterator<Item = &'a Room>) -> Vec<&'a Room> {
        let mut rooms: Vec<&Room> = rooms.collect();
        rooms.sort_by(|a, b| {
            (Reverse(a.active_ms), &a.record.room).cmp(&(Reverse(b.active_ms), &b.record.room))
        });
        rooms
    }
}

/// The records of one room's table (none when there is no room), in the
/// order of `key`.
fn sorted<V: Clone, K: Ord>(table: Option<&HashMap<UserId, V>>, key: impl Fn(&V) -> K) -> Vec<V> {
    let mut records: Vec<V> = table
        .into_iter()
        .flat_map(HashMap::values)
        .cloned()
        .collect();
    records.sort_by_key(key);
    records
}

impl MemoryStore {
    /// Runs `change` on the room tables, unless the store was closed.
    fn change_rooms<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Tables) -> Result<T, StoreError>,
    ) -> StoreFuture<T> {
        self.change_in(Self::room_tables, change)
    }

    /// Reads the room tables.
    fn look_rooms<T: Send + 'static>(
        &self,
        look: impl FnOnce(&Tables) -> Result<T, StoreError>,
    ) -> StoreFuture<T> {
        ready(look(&self.room_tables()))
    }
}

impl RoomStore for MemoryStore {
    fn create_room(&self, room: NewRoom) -> StoreFuture<Created> {
        self.change_rooms(|tables| {
            if let Some(existing) = tables.rooms.get(&room.room) {
                return Ok(Created::Existing(existing.record.clone()));
            }
            let record = new_room_record(&room);
            tables
                .rooms
                .insert(room.room.clone(), Room::new(record.clone()));
            for (user, role) in first_members(&room) {
                tables.join(&room.room, user, role, room.now);
            }
            Ok(Created::New(record))
        })
    }

    fn room(&self, room: &RoomName) -> StoreFuture<Option<RoomRecord>> {
        self.look_rooms(|tables| Ok(tables.rooms.get(room).map(|room| room.record.clone())))
    }

    fn update_room(&self, room: &RoomName, change: RoomChange) -> StoreFuture<RoomRecord> {
        self.change_rooms(|tables| {
            let stored = tables.room_mut(room)?;
            stored.record = changed_room(stored.record.clone(), change)?;
            Ok(stored.record.clone())
        })
    }

    fn public_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomRecord>> {
        self.look_rooms(|tables| {
            let public = tables
                .rooms
                .values()
                .filter(|room| room.record.kind == RoomKind::Public);
            Ok(Tables::by_activity(public)
                .into_iter()
                .take(limit)
                .map(|room| room.record.clone())
                .collect())
        })
    }

    fn rooms_of(&self, user: UserId) -> StoreFuture<Vec<MemberRoom>> {
        self.look_rooms(|tables| {
            let names = tables.rooms_of.get(&user);
            let rooms = names
                .into_iter()
                .flatten()
                .filter_map(|name| tables.rooms.get(name));
            Ok(Tables::by_activity(rooms)
                .into_iter()
                .filter_map(|room| {
                    let member = room.members.get(&user)?.clone();
                    let mentions = tables.mentions_after(user, &room.record.room, member.last_read);
                    Some(member_room(room.record.clone(), member, mentions))
                })
                .take(MAX_ROOMS_PER_PERSON)
                .collect())
        })
    }

    fn count_rooms_of(&self, user: UserId) -> StoreFuture<u64> {
        self.look_rooms(|tables| {
            Ok(tables
                .rooms_of
                .get(&user)
                .map_or(0, |rooms| rooms.len() as u64))
        })
    }

    fn access(&self, room: &RoomName, user: UserId) -> StoreFuture<Access> {
        self.look_rooms(|tables| {
            let stored = tables.rooms.get(room);
            Ok(access_of(
                stored.map(|room| room.record.clone()),
                stored.and_then(|room| room.members.get(&user).cloned()),
                stored.is_some_and(|room| room.bans.contains_key(&user)),
            ))
        })
    }

    fn members(&self, room: &RoomName) -> StoreFuture<Vec<MemberRecord>> {
        self.look_rooms(|tables| {
            let members = tables.rooms.get(room).map(|room| &room.members);
            Ok(sorted(members, |member| (member.joined_ms, member.user)))
        })
    }

    fn add_member(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
        now: u64,
    ) -> StoreFuture<Added> {
        self.change_rooms(|tables| {
            let stored = tables.room(room)?;
            if stored.bans.contains_key(&user) {
                return Ok(Added::Banned);
            }
            if stored.members.contains_key(&user) {
                return Ok(Added::Already);
            }
            tables.join(room, user, role, now);
            Ok(Added::New)
        })
    }

    fn remove_member(&self, room: &RoomName, user: UserId) -> StoreFuture<bool> {
        self.change_rooms(|tables| Ok(tables.leave(room, user)))
    }

    fn set_member_role(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
    ) -> StoreFuture<MemberRecord> {
        self.change_rooms(|tables| {
            let member = tables.member_mut(room, user)?;
            member.role = role;
            Ok(member.clone())
        })
    }

    fn set_muted_until(
        &self,
        room: &RoomName,
        user: UserId,
        until: Option<u64>,
    ) -> StoreFuture<MemberRecord> {
        self.change_rooms(|tables| {
            let member = tables.member_mut(room, user)?;
            member.muted_until = until;
            Ok(member.clone())
        })
    }

    fn mark_read(&self, room: &RoomName, user: UserId, up_to: MessageId) -> StoreFuture<MessageId> {
        self.change_rooms(|tables| {
            let last_id = tables.room(room)?.record.last_id;
            let member = tables.member_mut(room, user)?;
            member.last_read = member.last_read.max(up_to.min(last_id));
            Ok(member.last_read)
        })
    }

    fn ban(&self, room: &RoomName, user: UserId, by: UserId, now: u64) -> StoreFuture<()> {
        self.change_rooms(|tables| {
            let ban = BanRecord {
                room: room.clone(),
                user,
                by,
                at_ms: now,
            };
            tables.room_mut(room)?.bans.entry(user).or_insert(ban);
            tables.leave(room, user);
            Ok(())
        })
    }

    fn unban(&self, room: &RoomName, user: UserId) -> StoreFuture<bool> {
        self.change_rooms(|tables| {
            Ok(tables
                .rooms
                .get_mut(room)
                .and_then(|stored| stored.bans.remove(&user))
                .is_some())
        })
    }

    fn bans(&self, room: &RoomName) -> StoreFuture<Vec<BanRecord>> {
        self.look_rooms(|tables| {
            let bans = tables.rooms.get(room).map(|room| &room.bans);
            Ok(sorted(bans, |ban| (ban.at_ms, ban.user)))
        })
    }

    fn audit(&self, entry: NewAuditEntry) -> StoreFuture<AuditEntry> {
        self.change_rooms(|tables| {
            let stored = audit_entry(tables.audit.len() as AuditId + 1, entry);
            tables.audit.push(stored.clone());
            Ok(stored)
        })
    }

    fn audit_log(&self, before: Option<AuditId>, limit: usize) -> StoreFuture<Vec<AuditEntry>> {
        self.look_rooms(|tables| {
            // Entry `id` is at `id - 1`: those below `before` end before it.
            let end = before.map_or(tables.audit.len(), |before| {
                usize::try_from(before.saturating_sub(1))
                    .unwrap_or(usize::MAX)
                    .min(tables.audit.len())
            });
            Ok(tables.audit[..end]
                .iter()
                .rev()
                .take(limit)
                .cloned()
                .collect())
        })
    }
}
