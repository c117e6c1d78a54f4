//! Memberships: joining (which makes a new public room, as joining a new
//! name always did), leaving, the member list, adding and removing
//! members, and their roles. Adding someone else, removing a member and
//! a change of role are audited; every change is published.

use super::{member_info, Action, RemovalReason, RoomEvent, Rooms, RoomsError};
use crate::accounts::Identity;
use crate::audit::{AuditAction, Entry};
use crate::store::accounts::Account;
use crate::store::rooms::{Access, Added, Created, MemberRecord};
use common::api::rooms::{MemberInfo, PersonRef, RoomMembers, Someone, MEMBER_LIST_LIMIT};
use common::room::is_direct_name;
use common::{RoomKind, RoomName, RoomRole, RoomTopic, UserId};
use std::collections::HashMap;

/// Members whose accounts the member list looks up one by one; a larger
/// room has every account read at once instead (one query rather than
/// hundreds).
pub const ONE_BY_ONE_LOOKUPS: usize = 16;

/// What [`Rooms::add_member`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddedMember {
    /// They are a member now.
    New(MemberInfo),
    /// They were one already; nothing changed.
    Already(MemberInfo),
}

impl Rooms {
    /// Joins `caller` to `room` and returns what they are to it then (a
    /// member): the HTTP join, and the WebSocket's join to come. A member
    /// joining again changes nothing. A room that does not exist is made,
    /// public, with the caller as its owner, as joining a new name always
    /// made a room (but never of a direct conversation's slug).
    pub async fn join(&self, caller: &Identity, room: &RoomName) -> Result<Access, RoomsError> {
        let mut access = self.store.access(room, caller.user_id).await?;
        if matches!(access, Access::NoRoom) && !is_direct_name(room) {
            self.has_room_for_caller(caller).await?;
            let made = self
                .make(
                    caller,
                    room.clone(),
                    RoomKind::Public,
                    None,
                    RoomTopic::default(),
                )
                .await?;
            if let Created::New(_) = made {
                return Ok(self.store.access(room, caller.user_id).await?);
            }
            // Made by someone else a moment ago: join it as anyone would.
            access = self.store.access(room, caller.user_id).await?;
        }
        super::policy::decide(
            caller.role,
            &access,
            Action::Join,
            crate::accounts::now_ms(),
        )?;
        if let Access::Member(..) = access {
            return Ok(access);
        }
        self.has_room_for_caller(caller).await?;
        match self
            .store
            .add_member(
                room,
                caller.user_id,
                RoomRole::Member,
                crate::accounts::now_ms(),
            )
            .await?
        {
            Added::New => self.events.publish(RoomEvent::MemberAdded {
                room: room.clone(),
                user: caller.user_id,
                own: true,
            }),
            Added::Already => {}
            Added::Banned => return Err(RoomsError::Banned("you are banned from this room")),
        }
        Ok(self.store.access(room, caller.user_id).await?)
    }

    /// `POST /api/rooms/{room}/leave`.
    pub async fn leave(&self, caller: &Identity, room: &RoomName) -> Result<(), RoomsError> {
        self.allowed(caller, room, Action::Leave).await?;
        if !self.store.remove_member(room, caller.user_id).await? {
            return Err(RoomsError::NotMember("not a member of this room"));
        }
        self.events.publish(RoomEvent::MemberRemoved {
            room: room.clone(),
            user: caller.user_id,
            reason: RemovalReason::Left,
        });
        Ok(())
    }

    /// `GET /api/rooms/{room}/members`: the first [`MEMBER_LIST_LIMIT`]
    /// members, the earliest to join first.
    pub async fn members(
        &self,
        caller: &Identity,
        room: &RoomName,
    ) -> Result<RoomMembers, RoomsError> {
        self.allowed(caller, room, Action::Read).await?;
        let mut members = self.store.members(room).await?;
        let total = u64::try_from(members.len()).unwrap_or(u64::MAX);
        members.truncate(MEMBER_LIST_LIMIT);
        let accounts = self.accounts_of(&members).await?;
        let members = members
            .iter()
            .filter_map(|member| Some(member_info(member, accounts.get(&member.user)?)))
            .collect();
        Ok(RoomMembers {
            room: room.clone(),
            members,
            total,
        })
    }

    /// The accounts of `members`, by id.
    async fn accounts_of(
        &self,
        members: &[MemberRecord],
    ) -> Result<HashMap<UserId, Account>, RoomsError> {
        if members.len() > ONE_BY_ONE_LOOKUPS {
            let all = self.accounts.accounts().await?;
            return Ok(all
                .into_iter()
                .map(|account| (account.id, account))
                .collect());
        }
        let mut found = HashMap::new();
        for member in members {
            if let Some(account) = self.accounts.account(member.user).await? {
                found.insert(account.id, account);
            }
        }
        Ok(found)
    }

    /// `POST /api/rooms/{room}/members`: makes an active account a member
    /// (of a public or private room; direct conversations' people are
    /// fixed).
    pub async fn add_member(
        &self,
        caller: &Identity,
        room: &RoomName,
        someone: &Someone,
    ) -> Result<AddedMember, RoomsError> {
        let person = someone.person().ok_or(RoomsError::BadRequest(
            "name one person: `user` or `username`",
        ))?;
        self.allowed(caller, room, Action::AddMember).await?;
        let account = self.account_of(&person, true).await?;
        if let Access::Member(_, member) = self.store.access(room, account.id).await? {
            return Ok(AddedMember::Already(member_info(&member, &account)));
        }
        self.has_room_for(account.id, "they are in as many rooms as one may be")
            .await?;
        let now = crate::accounts::now_ms();
        match self
            .store
            .add_member(room, account.id, RoomRole::Member, now)
            .await?
        {
            Added::Banned => {
                return Err(RoomsError::Banned(
                    "they are banned from this room; a moderator lifts the ban first",
                ))
            }
            Added::Already => {}
            Added::New => {
                self.record(
                    Entry::new(Some(caller.user_id), AuditAction::MemberAdd)
                        .target(account.id)
                        .room(room)
                        .detail(format!("added {}", account.username)),
                )
                .await;
                self.events.publish(RoomEvent::MemberAdded {
                    room: room.clone(),
                    user: account.id,
                    own: false,
                });
            }
        }
        match self.store.access(room, account.id).await? {
            Access::Member(_, member) => Ok(AddedMember::New(member_info(&member, &account))),
            // Removed again at once, by someone else.
            _ => Err(RoomsError::NotMember("they are no longer a member")),
        }
    }

    /// `DELETE /api/rooms/{room}/members/{user}`.
    pub async fn remove_member(
        &self,
        caller: &Identity,
        room: &RoomName,
        user: UserId,
    ) -> Result<(), RoomsError> {
        let (_, _, account) = self
            .on_target(caller, room, &PersonRef::Id(user), Action::RemoveMember)
            .await?;
        if !self.store.remove_member(room, user).await? {
            return Err(RoomsError::NotMember("they are not a member of this room"));
        }
        self.record(
            Entry::new(Some(caller.user_id), AuditAction::MemberRemove)
                .target(user)
                .room(room)
                .detail(format!("removed {}", account.username)),
        )
        .await;
        self.events.publish(RoomEvent::MemberRemoved {
            room: room.clone(),
            user,
            reason: RemovalReason::Removed,
        });
        Ok(())
    }

    /// `PUT /api/rooms/{room}/members/{user}/role`: moderator or member
    /// (a room's one owner is who made it).
    pub async fn set_role(
        &self,
        caller: &Identity,
        room: &RoomName,
        user: UserId,
        role: RoomRole,
    ) -> Result<MemberInfo, RoomsError> {
        if role == RoomRole::Owner {
            return Err(RoomsError::BadRequest(
                "a room has one owner, who made it: name a moderator or a member",
            ));
        }
        let (target, _, account) = self
            .on_target(caller, room, &PersonRef::Id(user), Action::SetRole)
            .await?;
        let member = self.store.set_member_role(room, user, role).await?;
        if target.role != Some(role) {
            self.record(
                Entry::new(Some(caller.user_id), AuditAction::MemberRole)
                    .target(user)
                    .room(room)
                    .detail(format!("{} is now {role}", account.username)),
            )
            .await;
            self.events.publish(RoomEvent::RoleChanged {
                room: room.clone(),
                user,
                role,
            });
        }
        Ok(member_info(&member, &account))
    }
}
