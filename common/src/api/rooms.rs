//! Bodies of the rooms part of the HTTP API: rooms people belong to
//! (public, private, direct conversations), their members and roles,
//! moderation (removing, banning, muting), read state, and the audit log
//! of moderation and administration. Every route and its answers are in
//! the OpenAPI document the server serves at `/api/openapi.json`, and in
//! docs/PROTOCOL.md ("Rooms").
//!
//! Routes (all bodies JSON; every state-changing request needs an allowed
//! `Origin` or a bearer token, and `Content-Type: application/json`):
//!
//! | route | who | body → answer |
//! |---|---|---|
//! | `POST /api/rooms` | signed in | [`CreateRoom`] → 201 [`RoomInfo`] |
//! | `GET /api/rooms/{room}` | who may read it | → [`RoomInfo`] |
//! | `PATCH /api/rooms/{room}` | its owner (a direct conversation's people: title and topic) | [`RoomUpdate`] → [`RoomInfo`] |
//! | `POST /api/rooms/{room}/join` | signed in (public rooms) | → [`RoomInfo`] |
//! | `POST /api/rooms/{room}/leave` | a member | → 204 |
//! | `GET /api/rooms/{room}/members` | who may read it | → [`RoomMembers`] |
//! | `POST /api/rooms/{room}/members` | a member | [`Someone`] → [`MemberInfo`] |
//! | `DELETE /api/rooms/{room}/members/{user}` | a moderator | → 204 |
//! | `PUT /api/rooms/{room}/members/{user}/role` | its owner | [`SetRole`] → [`MemberInfo`] |
//! | `PUT /api/rooms/{room}/members/{user}/mute` | a moderator | [`Mute`] → [`MemberInfo`] |
//! | `DELETE /api/rooms/{room}/members/{user}/mute` | a moderator | → [`MemberInfo`] |
//! | `GET /api/rooms/{room}/bans` | a moderator | → `[`[`BanInfo`]`]` |
//! | `POST /api/rooms/{room}/bans` | a moderator | [`Someone`] → [`BanInfo`] |
//! | `DELETE /api/rooms/{room}/bans/{user}` | a moderator | → 204 |
//! | `POST /api/rooms/{room}/read` | a member | [`MarkRead`] → [`ReadState`] |
//! | `POST /api/me/read-all` | signed in | → [`ReadAll`] |
//! | `POST /api/direct` | signed in | [`StartDirect`] → 201 or 200 [`RoomInfo`] |
//! | `GET /api/admin/audit` | administrator | `?before&limit` → [`AuditPage`] |
//!
//! "A moderator" is a member of role moderator or owner; an administrator
//! (the account's role) may do in every room what its owner may, member
//! or not. `GET /api/rooms` (the caller's rooms, and the public ones) and
//! the history and posting routes are in [`super`] and
//! [`super::accounts`].

use crate::account::{UserId, Username};
use crate::room::{RoomKind, RoomRole, RoomTitle, RoomTopic};
use crate::{DisplayName, MessageId, RoomName};
use serde::{Deserialize, Deserializer, Serialize};

/// Longest mute, in minutes: 30 days. A longer one is a ban.
pub const MAX_MUTE_MINUTES: u32 = 30 * 24 * 60;
/// Most members one `GET /api/rooms/{room}/members` lists, the earliest
/// to join first; `total` says how many there are.
pub const MEMBER_LIST_LIMIT: usize = 1_000;
/// Audit entries in a page of `GET /api/admin/audit` without `limit`.
pub const DEFAULT_AUDIT_PAGE_LIMIT: usize = 50;
/// Most audit entries in a page; a larger `limit` is lowered to this.
pub const MAX_AUDIT_PAGE_LIMIT: usize = 200;

/// `POST /api/rooms`: a public or private room, made by the caller, who
/// becomes its owner. Direct conversations are started with
/// [`StartDirect`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoom {
    /// Its slug, which links and the protocol use; names starting with
    /// `dm-` are kept for direct conversations.
    pub room: RoomName,
    /// `public` or `private`.
    pub kind: RoomKind,
    /// What people read for it; its slug when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<RoomTitle>,
    /// What it is about; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<RoomTopic>,
}

/// The caller's membership of a room, with what they have not read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// Their role in the room.
    pub role: RoomRole,
    /// The newest message id they have read (0: none).
    pub last_read: MessageId,
    /// How many messages came after it.
    pub unread: u64,
    /// How many of those call them by name.
    pub mentions: u64,
    /// Until when they may not post (milliseconds since the Unix epoch),
    /// while they are muted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<u64>,
}

/// A room as those who may read it see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// Its slug.
    pub room: RoomName,
    /// Public, private or direct.
    pub kind: RoomKind,
    /// Its title, when it has one besides its slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<RoomTitle>,
    /// Its topic, empty when none.
    pub topic: RoomTopic,
    /// Read-only: history stays, nobody posts.
    pub archived: bool,
    /// Who made it (absent for rooms from before rooms had owners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The id of its newest message; 0 when it has none.
    pub last_id: MessageId,
    /// The caller's membership; absent when they are not a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<Membership>,
}

/// Deserializes a field that is present (`null` included) as `Some`, so
/// that `Option<Option<T>>` tells an absent field (`None`: unchanged) from
/// a `null` (`Some(None)`: removed).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/rooms/{room}`: what changes; absent fields stay.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoomUpdate {
    /// A new title; `null` removes it (the slug shows again).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RoomTitle>))]
    pub title: Option<Option<RoomTitle>>,
    /// A new topic (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<RoomTopic>,
    /// `public` or `private` (a direct conversation stays one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RoomKind>,
    /// Archive it (read-only) or bring it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// A person named by their account's number or by their username: `17`
/// or `"ann"`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PersonRef {
    /// The account's number.
    Id(UserId),
    /// The account's username.
    Username(Username),
}

/// `POST /api/rooms/{room}/members` and `POST /api/rooms/{room}/bans`:
/// whom, by `user` (the account's number) or `username`: exactly one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Someone {
    /// The account's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// The account's username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Username>,
}

impl Someone {
    /// The person named, when exactly one of the fields is given.
    pub fn person(&self) -> Option<PersonRef> {
        match (self.user, &self.username) {
            (Some(id), None) => Some(PersonRef::Id(id)),
            (None, Some(username)) => Some(PersonRef::Username(username.clone())),
            _ => None,
        }
    }
}

/// `POST /api/direct`: the direct conversation of the caller and these
/// people (the caller may be among them; repeats do not count).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartDirect {
    /// The others, by number or username: 1 to 8 of them (2 to 9 people
    /// with the caller, [`crate::room::DIRECT_MAX_PEOPLE`]), all active
    /// accounts.
    pub people: Vec<PersonRef>,
}

/// One member of a room.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The account's number.
    pub user: UserId,
    /// Its username.
    pub username: Username,
    /// Its display name.
    pub display_name: DisplayName,
    /// Their role in the room.
    pub role: RoomRole,
    /// When they joined or were added, in milliseconds since the Unix
    /// epoch.
    pub joined_ms: u64,
    /// Until when they may not post, while they are muted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<u64>,
    /// Whether they have a connection in the room now (the room's
    /// `presence` frames say when that changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
}

/// `GET /api/rooms/{room}/members`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMembers {
    /// The room.
    pub room: RoomName,
    /// Its members, the earliest to join first, at most
    /// [`MEMBER_LIST_LIMIT`].
    pub members: Vec<MemberInfo>,
    /// How many members it has.
    pub total: u64,
}

/// `PUT /api/rooms/{room}/members/{user}/role`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRole {
    /// `moderator` or `member` (a room has one owner, who made it).
    pub role: RoomRole,
}

/// `PUT /api/rooms/{room}/members/{user}/mute`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// For how long, 1 to [`MAX_MUTE_MINUTES`] minutes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 43200))]
    pub minutes: u32,
}

/// A ban, as moderators see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanInfo {
    /// Who is banned.
    pub user: UserId,
    /// Their username, while their account exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Username>,
    /// Who banned them.
    pub by: UserId,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// `POST /api/rooms/{room}/read`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// Read up to this message id (the newest one seen); reading never
    /// goes backwards, and an id past the room's newest counts as the
    /// newest.
    pub up_to: MessageId,
}

/// The caller's read state of a room.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The room.
    pub room: RoomName,
    /// The newest message id read.
    pub last_read: MessageId,
    /// How many messages came after it.
    pub unread: u64,
}

/// `POST /api/me/read-all`: how many rooms had something unread.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadAll {
    /// The rooms marked read.
    pub rooms: u64,
}

/// One entry of the audit log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its number, growing.
    pub id: u64,
    /// Who did it; absent for the command line (`chat-server admin …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<UserId>,
    /// What, as a stable dotted name (`room.ban`, `account.deactivate`, …;
    /// docs/PROTOCOL.md lists them).
    pub action: String,
    /// To whom, when to an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user: Option<UserId>,
    /// In which room, when in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomName>,
    /// The rest, in words.
    pub detail: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// `GET /api/admin/audit`: a page of the audit log, the newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The entries, the newest first.
    pub entries: Vec<AuditRecord>,
    /// True when older entries exist: ask again with
    /// `before={entries[last].id}`.
    pub has_older: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_tells_an_absent_title_from_a_removed_one() {
        let absent: RoomUpdate = serde_json::from_str("{}").expect("valid");
        assert_eq!(absent.title, None);
        let removed: RoomUpdate = serde_json::from_str(r#"{"title":null}"#).expect("valid");
        assert_eq!(removed.title, Some(None));
        let set: RoomUpdate = serde_json::from_str(r#"{"title":" Team "}"#).expect("valid");
        assert_eq!(
            set.title,
            Some(Some(RoomTitle::parse("Team").expect("valid")))
        );
        assert!(serde_json::from_str::<RoomUpdate>(r#"{"title":""}"#).is_err());
    }

    #[test]
    fn a_person_is_a_number_or_a_username_and_someone_exactly_one() {
        let people: StartDirect = serde_json::from_str(r#"{"people":[17,"ann"]}"#).expect("valid");
        assert_eq!(
            people.people,
            vec![
                PersonRef::Id(17),
                PersonRef::Username(Username::parse("ann").expect("valid"))
            ]
        );
        let by_id: Someone = serde_json::from_str(r#"{"user":3}"#).expect("valid");
        assert_eq!(by_id.person(), Some(PersonRef::Id(3)));
        let both: Someone = serde_json::from_str(r#"{"user":3,"username":"ann"}"#).expect("valid");
        assert_eq!(both.person(), None);
        assert_eq!(Someone::default().person(), None);
    }
}
