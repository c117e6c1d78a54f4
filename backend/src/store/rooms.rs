//! Rooms as the server keeps them, behind the small [`RoomStore`]
//! interface, which every backend implements beside its
//! [`super::MessageStore`] and [`super::AccountStore`] (one database holds
//! all three): each room's kind, title, topic, owner and whether it is
//! archived; who is a member, with which [`RoomRole`], how far they have
//! read and until when they are muted; who is banned; and the audit log of
//! moderation and administration.
//!
//! Read state costs nothing per message: a room's ids grow by one with each
//! message, so a member's unread count is the room's last id minus the id
//! they last read, and a post writes no row per member. Mentions are kept
//! apart, one row per person called (see [`MemberRoom::mentions`]).
//!
//! What must not be done halfway is one method, one transaction: a room
//! and its first members, a ban and the membership it ends.
//!
//! Times are milliseconds since the Unix epoch, given by the caller
//! (`now`), as in [`super::accounts`].

mod rules;

pub(crate) use rules::{
    access_of, audit_entry, changed_room, first_members, member_room, new_room_record, no_room,
    not_a_member, parse_room_name, posted_room_record, MemberColumns, RoomColumns,
};

use super::StoreFuture;
use common::{MessageId, RoomKind, RoomName, RoomRole, RoomTitle, RoomTopic, UserId};

/// An audit entry's number, given by the store; never reused, growing.
pub type AuditId = u64;

/// Most rooms [`RoomStore::rooms_of`] returns: a person is in at most this
/// many rooms (joining another is refused), so one sign-in's room list is
/// one bounded read.
pub const MAX_ROOMS_PER_PERSON: usize = 1_000;

/// A room to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    /// Its slug.
    pub room: RoomName,
    /// Its kind.
    pub kind: RoomKind,
    /// Its title; `None` shows the slug.
    pub title: Option<RoomTitle>,
    /// Its topic.
    pub topic: RoomTopic,
    /// Who made it: its owner, and its first member. `None` only for rooms
    /// that come into being with a post from before this release.
    pub owner: Option<UserId>,
    /// Members besides the owner, as [`RoomRole::Member`]: a direct
    /// conversation's other people.
    pub members: Vec<UserId>,
    /// When.
    pub now: u64,
}

/// What [`RoomStore::create_room`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Made it, with its members.
    New(RoomRecord),
    /// A room of that slug exists: nothing changed. For a direct
    /// conversation this is the one to open again.
    Existing(RoomRecord),
}

/// A stored room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// Its slug.
    pub room: RoomName,
    /// Its kind.
    pub kind: RoomKind,
    /// Its title, if it has one besides its slug.
    pub title: Option<RoomTitle>,
    /// Its topic, empty when none.
    pub topic: RoomTopic,
    /// Who made it (`None` for rooms from before this release).
    pub owner: Option<UserId>,
    /// Read-only: history stays, nobody posts.
    pub archived: bool,
    /// The id of its newest message, 0 when it has none.
    pub last_id: MessageId,
    /// When it was made (for rooms from before this release: its newest
    /// message's time when the upgrade ran).
    pub created_ms: u64,
}

/// What [`RoomStore::update_room`] changes; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoomChange {
    /// A new title (`Some(None)` removes it: the slug shows again).
    pub title: Option<Option<RoomTitle>>,
    /// A new topic.
    pub topic: Option<RoomTopic>,
    /// Public to private or back; never to or from [`RoomKind::Direct`]
    /// (the caller checks: the store refuses with
    /// [`super::ErrorKind::Invalid`]).
    pub kind: Option<RoomKind>,
    /// Archived or not.
    pub archived: Option<bool>,
}

/// One member of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The room.
    pub room: RoomName,
    /// The member's account.
    pub user: UserId,
    /// Their role in the room.
    pub role: RoomRole,
    /// When they joined or were added.
    pub joined_ms: u64,
    /// The newest message id they have read (0: none).
    pub last_read: MessageId,
    /// Until when they may not post, if they are muted; a time in the past
    /// is no mute.
    pub muted_until: Option<u64>,
}

impl MemberRecord {
    /// Whether they are muted at `now`.
    pub fn is_muted(&self, now: u64) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }
}

/// A room of a person's, for their room list: the room, their membership,
/// and what they have not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoom {
    /// The room.
    pub room: RoomRecord,
    /// Their membership.
    pub member: MemberRecord,
    /// Messages after `member.last_read` (`room.last_id - last_read`).
    pub unread: u64,
    /// Messages after `member.last_read` that call them by name.
    pub mentions: u64,
}

/// What a person is to a room, as one read: what a join, a post and every
/// room route decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The room does not exist.
    NoRoom,
    /// The room exists; they are neither a member nor banned.
    Outsider(RoomRecord),
    /// They are a member.
    Member(RoomRecord, MemberRecord),
    /// They are banned from it.
    Banned(RoomRecord),
}

/// What [`RoomStore::add_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// They are a member now.
    New,
    /// They were one already: nothing changed (their role stays).
    Already,
    /// They are banned from the room: nothing changed.
    Banned,
}

/// A ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRecord {
    /// The room.
    pub room: RoomName,
    /// Who is banned.
    pub user: UserId,
    /// Who banned them.
    pub by: UserId,
    /// When.
    pub at_ms: u64,
}

/// An action for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who did it (`None`: the command line, `chat-server admin …`).
    pub actor: Option<UserId>,
    /// What, as a stable dotted name (`room.ban`, `account.deactivate`, …).
    pub action: String,
    /// To whom, when to an account.
    pub target_user: Option<UserId>,
    /// In which room, when in one.
    pub room: Option<RoomName>,
    /// The rest, in words for an administrator (a mute's end, a new
    /// title); never a secret or a message's text.
    pub detail: String,
    /// When.
    pub now: u64,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its number.
    pub id: AuditId,
    /// Who did it.
    pub actor: Option<UserId>,
    /// What.
    pub action: String,
    /// To whom.
    pub target_user: Option<UserId>,
    /// Where.
    pub room: Option<RoomName>,
    /// The rest.
    pub detail: String,
    /// When.
    pub at_ms: u64,
}

/// Rooms, memberships, read state, bans, mutes and the audit log.
///
/// A room's row is also where [`super::MessageStore::post`] counts its ids:
/// a post to a room without one makes it, public and without an owner (as
/// rooms were before this release), made at that post's time, and every
/// room this interface makes starts at id 0.
///
/// A room's activity, by which lists are ordered (the most recently active
/// first, then by slug), is the time of its newest message, or when it was
/// made while it has none: a room just made is listed first, not after
/// every room with messages.
pub trait RoomStore: Send + Sync + 'static {
    /// Makes a room with its owner (as [`RoomRole::Owner`]) and its other
    /// members, in one transaction; when a room of that slug exists,
    /// changes nothing and returns it.
    fn create_room(&self, room: NewRoom) -> StoreFuture<Created>;

    /// The room, if it exists.
    fn room(&self, room: &RoomName) -> StoreFuture<Option<RoomRecord>>;

    /// Changes the room; [`super::ErrorKind::NotFound`] when it does not
    /// exist.
    fn update_room(&self, room: &RoomName, change: RoomChange) -> StoreFuture<RoomRecord>;

    /// The public rooms, archived ones too, the most recently active
    /// first, at most `limit`.
    fn public_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomRecord>>;

    /// The rooms `user` is a member of, with their read state, at most
    /// [`MAX_ROOMS_PER_PERSON`], the most recently active first.
    fn rooms_of(&self, user: UserId) -> StoreFuture<Vec<MemberRoom>>;

    /// How many rooms `user` is a member of.
    fn count_rooms_of(&self, user: UserId) -> StoreFuture<u64>;

    /// What `user` is to `room`.
    fn access(&self, room: &RoomName, user: UserId) -> StoreFuture<Access>;

    /// The room's members, in the order they joined (by `joined_ms`, then
    /// by account: a room's first members join at once).
    fn members(&self, room: &RoomName) -> StoreFuture<Vec<MemberRecord>>;

    /// Makes `user` a member of `room` with `role`, unless they are one or
    /// are banned; [`super::ErrorKind::NotFound`] when the room does not
    /// exist. Their read state starts at the room's last id: a newcomer
    /// has read nothing older, and nothing is unread.
    fn add_member(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
        now: u64,
    ) -> StoreFuture<Added>;

    /// Ends `user`'s membership of `room`; false when they were none.
    fn remove_member(&self, room: &RoomName, user: UserId) -> StoreFuture<bool>;

    /// Sets a member's role; [`super::ErrorKind::NotFound`] when they are
    /// not a member.
    fn set_member_role(
        &self,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
    ) -> StoreFuture<MemberRecord>;

    /// Mutes a member until `until` (`None` lifts a mute);
    /// [`super::ErrorKind::NotFound`] when they are not a member.
    fn set_muted_until(
        &self,
        room: &RoomName,
        user: UserId,
        until: Option<u64>,
    ) -> StoreFuture<MemberRecord>;

    /// Records that `user` has read `room` up to `up_to`: their read state
    /// becomes the larger of what it was and `up_to`, no larger than the
    /// room's last id (reading never goes backwards, and one cannot read
    /// ahead). Returns the new read state;
    /// [`super::ErrorKind::NotFound`] when they are not a member.
    fn mark_read(&self, room: &RoomName, user: UserId, up_to: MessageId) -> StoreFuture<MessageId>;

    /// Bans `user` from `room` and ends their membership, in one
    /// transaction; a ban that exists stays as it was.
    /// [`super::ErrorKind::NotFound`] when the room does not exist.
    fn ban(&self, room: &RoomName, user: UserId, by: UserId, now: u64) -> StoreFuture<()>;

    /// Lifts a ban; false when there was none. They are not a member again
    /// until they join or are added.
    fn unban(&self, room: &RoomName, user: UserId) -> StoreFuture<bool>;

    /// The room's bans, the oldest first (then by account).
    fn bans(&self, room: &RoomName) -> StoreFuture<Vec<BanRecord>>;

    /// Adds an entry to the audit log.
    fn audit(&self, entry: NewAuditEntry) -> StoreFuture<AuditEntry>;

    /// The audit log's entries with an id below `before` (all when
    /// `None`), the newest first, at most `limit`.
    fn audit_log(&self, before: Option<AuditId>, limit: usize) -> StoreFuture<Vec<AuditEntry>>;
}
