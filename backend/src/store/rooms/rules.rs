//! The rules every backend's [`super::RoomStore`] applies, written once:
//! who a new room's first members are, which changes a room may take, how
//! read state and access are told, how stored columns become records, and
//! the errors that say so. A backend checks before it writes (in the
//! transaction that writes, where there is one).

use super::{
    Access, AuditEntry, AuditId, MemberRecord, MemberRoom, NewAuditEntry, NewRoom, RoomChange,
    RoomRecord,
};
use crate::store::StoreError;
use common::{MessageId, RoomKind, RoomName, RoomRole, RoomTitle, RoomTopic, UserId};

/// The error for a room that does not exist.
pub(crate) fn no_room(room: &RoomName) -> StoreError {
    StoreError::not_found(format!("room {room} does not exist"))
}

/// The error for an account that is not a member of the room.
pub(crate) fn not_a_member(room: &RoomName, user: UserId) -> StoreError {
    StoreError::not_found(format!("account {user} is not a member of room {room}"))
}

/// A new room's first members, each once, in the order they are stored:
/// its owner (as [`RoomRole::Owner`]), then the others (as
/// [`RoomRole::Member`]). The owner named among the others again stays
/// the owner.
pub(crate) fn first_members(room: &NewRoom) -> Vec<(UserId, RoomRole)> {
    let mut members: Vec<(UserId, RoomRole)> = Vec::with_capacity(room.members.len() + 1);
    for (user, role) in room
        .owner
        .map(|owner| (owner, RoomRole::Owner))
        .into_iter()
        .chain(room.members.iter().map(|user| (*user, RoomRole::Member)))
    {
        if !members.iter().any(|(member, _)| *member == user) {
            members.push((user, role));
        }
    }
    members
}

/// The record of a room [`super::RoomStore::create_room`] makes: no
/// message yet, not archived.
pub(crate) fn new_room_record(room: &NewRoom) -> RoomRecord {
    RoomRecord {
        room: room.room.clone(),
        kind: room.kind,
        title: room.title.clone(),
        topic: room.topic.clone(),
        owner: room.owner,
        archived: false,
        last_id: 0,
        created_ms: room.now,
    }
}

/// The record of a room that a post makes (there was no row for it): as
/// rooms were before this release, public and without an owner.
pub(crate) fn posted_room_record(room: &RoomName, created_ms: u64) -> RoomRecord {
    RoomRecord {
        room: room.clone(),
        kind: RoomKind::Public,
        title: None,
        topic: RoomTopic::default(),
        owner: None,
        archived: false,
        last_id: 0,
        created_ms,
    }
}

/// `room` with `change` applied, or why the change is refused: a kind
/// changes between public and private only (a direct conversation is one
/// for good, and no room becomes one).
pub(crate) fn changed_room(
    mut room: RoomRecord,
    change: RoomChange,
) -> Result<RoomRecord, StoreError> {
    if let Some(kind) = change.kind {
        let direct = |kind: RoomKind| kind == RoomKind::Direct;
        if kind != room.kind && (direct(kind) || direct(room.kind)) {
            return Err(StoreError::invalid(format!(
                "room {} cannot change from {} to {kind}",
                room.room, room.kind
            )));
        }
        room.kind = kind;
    }
    if let Some(title) = change.title {
        room.title = title;
    }
    if let Some(topic) = change.topic {
        room.topic = topic;
    }
    if let Some(archived) = change.archived {
        room.archived = archived;
    }
    Ok(room)
}

/// A member's room with what they have not read: the messages after their
/// read state (none when the read state is at or past the last id), and
/// `mentions`, those of them that call the member.
pub(crate) fn member_room(room: RoomRecord, member: MemberRecord, mentions: u64) -> MemberRoom {
    MemberRoom {
        unread: room.last_id.saturating_sub(member.last_read),
        room,
        member,
        mentions,
    }
}

/// What `user` is to a room, from one read of it: the room if it exists,
/// their membership if any, and whether they are banned. A ban wins over
/// a membership (a ban ends it; this only tells a row left by a bug).
pub(crate) fn access_of(
    room: Option<RoomRecord>,
    member: Option<MemberRecord>,
    banned: bool,
) -> Access {
    match (room, member) {
        (None, _) => Access::NoRoom,
        (Some(room), _) if banned => Access::Banned(room),
        (Some(room), Some(member)) => Access::Member(room, member),
        (Some(room), None) => Access::Outsider(room),
    }
}

/// The entry [`super::RoomStore::audit`] stored as `id`.
pub(crate) fn audit_entry(id: AuditId, entry: NewAuditEntry) -> AuditEntry {
    AuditEntry {
        id,
        actor: entry.actor,
        action: entry.action,
        target_user: entry.target_user,
        room: entry.room,
        detail: entry.detail,
        at_ms: entry.now,
    }
}

/// A room's columns as a database returns them, before they are checked.
pub(crate) struct RoomColumns {
    pub(crate) room: String,
    pub(crate) kind: String,
    pub(crate) title: Option<String>,
    pub(crate) topic: String,
    pub(crate) owner: Option<u64>,
    pub(crate) archived: bool,
    pub(crate) last_id: MessageId,
    pub(crate) created_ms: u64,
}

impl RoomColumns {
    /// The record, or which stored value is not valid.
    pub(crate) fn parse(self) -> Result<RoomRecord, StoreError> {
        let corrupt = |what: &str, err: &dyn std::fmt::Display| {
            StoreError::corrupt(format!("room {what}: {err}"))
        };
        Ok(RoomRecord {
            room: RoomName::parse(self.room).map_err(|err| corrupt("name", &err))?,
            kind: self.kind.parse().map_err(|err| corrupt("kind", &err))?,
            title: self
                .title
                .map(RoomTitle::parse)
                .transpose()
                .map_err(|err| corrupt("title", &err))?,
            topic: RoomTopic::parse(self.topic).map_err(|err| corrupt("topic", &err))?,
            owner: self.owner,
            archived: self.archived,
            last_id: self.last_id,
            created_ms: self.created_ms,
        })
    }
}

/// A membership's columns as a database returns them, but its room's.
pub(crate) struct MemberColumns {
    pub(crate) user: UserId,
    pub(crate) role: String,
    pub(crate) joined_ms: u64,
    pub(crate) last_read: MessageId,
    pub(crate) muted_until: Option<u64>,
}

impl MemberColumns {
    /// The record of a member of `room`, or why its role is not valid.
    pub(crate) fn parse(self, room: RoomName) -> Result<MemberRecord, StoreError> {
        Ok(MemberRecord {
            room,
            user: self.user,
            role: self
                .role
                .parse()
                .map_err(|err| StoreError::corrupt(format!("member role: {err}")))?,
            joined_ms: self.joined_ms,
            last_read: self.last_read,
            muted_until: self.muted_until,
        })
    }
}

/// A stored room name that is not valid, as an error.
pub(crate) fn parse_room_name(room: String) -> Result<RoomName, StoreError> {
    RoomName::parse(room).map_err(|err| StoreError::corrupt(format!("room name: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ErrorKind;

    fn room(kind: RoomKind) -> RoomRecord {
        RoomRecord {
            kind,
            ..posted_room_record(&RoomName::parse("team").expect("valid"), 5)
        }
    }

    #[test]
    fn the_owner_comes_first_and_everyone_once() {
        let new = NewRoom {
            room: RoomName::parse("team").expect("valid"),
            kind: RoomKind::Private,
            title: None,
            topic: RoomTopic::default(),
            owner: Some(7),
            members: vec![3, 7, 3, 9],
            now: 1,
        };
        assert_eq!(
            first_members(&new),
            [
                (7, RoomRole::Owner),
                (3, RoomRole::Member),
                (9, RoomRole::Member)
            ]
        );
    }

    #[test]
    fn only_public_and_private_trade_places() {
        let to = |kind| RoomChange {
            kind: Some(kind),
            ..RoomChange::default()
        };
        let private = changed_room(room(RoomKind::Public), to(RoomKind::Private));
        assert_eq!(private.expect("allowed").kind, RoomKind::Private);
        for (from, into) in [
            (RoomKind::Public, RoomKind::Direct),
            (RoomKind::Direct, RoomKind::Private),
        ] {
            let refused = changed_room(room(from), to(into)).expect_err("refused");
            assert_eq!(refused.kind(), ErrorKind::Invalid, "{from} to {into}");
        }
        let same = changed_room(room(RoomKind::Direct), to(RoomKind::Direct));
        assert_eq!(same.expect("no change").kind, RoomKind::Direct);
    }

    #[test]
    fn unread_never_goes_below_zero() {
        let member = MemberRecord {
            room: RoomName::parse("team").expect("valid"),
            user: 1,
            role: RoomRole::Member,
            joined_ms: 0,
            last_read: 9,
            muted_until: None,
        };
        let record = RoomRecord {
            last_id: 4,
            ..room(RoomKind::Public)
        };
        assert_eq!(member_room(record, member, 0).unread, 0);
    }
}
