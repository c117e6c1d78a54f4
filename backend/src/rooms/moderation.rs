//! Bans and mutes, by a room's moderators (and administrators), each
//! audited and published once the store holds it.
//!
//! A ban ends a membership and keeps the person out (they neither join
//! nor are added, and a public room answers them `banned`); a mute keeps
//! a member from posting for up to [`MAX_MUTE_MINUTES`].

use super::{member_info, Action, RemovalReason, RoomEvent, Rooms, RoomsError};
use crate::accounts::{now_ms, Identity};
use crate::audit::{time_words, AuditAction, Entry};
use crate::store::rooms::{Access, BanRecord};
use common::api::rooms::{BanInfo, MemberInfo, PersonRef, Someone, MAX_MUTE_MINUTES};
use common::{RoomName, UserId};

/// What [`Rooms::ban`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Banned {
    /// The ban is new.
    New(BanInfo),
    /// They were banned already; the ban stays as it was.
    Already(BanInfo),
}

impl Rooms {
    /// `GET /api/rooms/{room}/bans`, the oldest first.
    pub async fn bans(
        &self,
        caller: &Identity,
        room: &RoomName,
    ) -> Result<Vec<BanInfo>, RoomsError> {
        self.allowed(caller, room, Action::ListBans).await?;
        let mut bans = Vec::new();
        for ban in self.store.bans(room).await? {
            bans.push(self.ban_info(ban).await?);
        }
        Ok(bans)
    }

    async fn ban_info(&self, ban: BanRecord) -> Result<BanInfo, RoomsError> {
        let username = self
            .accounts
            .account(ban.user)
            .await?
            .map(|account| account.username);
        Ok(BanInfo {
            user: ban.user,
            username,
            by: ban.by,
            at_ms: ban.at_ms,
        })
    }

    /// `POST /api/rooms/{room}/bans`: bans a member, or someone before they
    /// come; ends their membership.
    pub async fn ban(
        &self,
        caller: &Identity,
        room: &RoomName,
        someone: &Someone,
    ) -> Result<Banned, RoomsError> {
        let person = someone.person().ok_or(RoomsError::BadRequest(
            "name one person: `user` or `username`",
        ))?;
        let (target, theirs, account) = self.on_target(caller, room, &person, Action::Ban).await?;
        let user = account.id;
        if let Access::Banned(_) = theirs {
            let ban = self
                .store
                .bans(room)
                .await?
                .into_iter()
                .find(|ban| ban.user == user);
            if let Some(ban) = ban {
                return Ok(Banned::Already(self.ban_info(ban).await?));
            }
        }
        let now = now_ms();
        self.store.ban(room, user, caller.user_id, now).await?;
        self.record(
            Entry::new(Some(caller.user_id), AuditAction::Ban)
                .target(user)
                .room(room)
                .detail(format!("banned {}", account.username)),
        )
        .await;
        if target.role.is_some() {
            self.events.publish(RoomEvent::MemberRemoved {
                room: room.clone(),
                user,
                reason: RemovalReason::Banned,
            });
        }
        Ok(Banned::New(BanInfo {
            user,
            username: Some(account.username),
            by: caller.user_id,
            at_ms: now,
        }))
    }

    /// `DELETE /api/rooms/{room}/bans/{user}`: they may join (or be added)
    /// again; they are not a member until then.
    pub async fn unban(
        &self,
        caller: &Identity,
        room: &RoomName,
        user: UserId,
    ) -> Result<(), RoomsError> {
        self.allowed(caller, room, Action::Unban).await?;
        if !self.store.unban(room, user).await? {
            return Err(RoomsError::NotFound("ban"));
        }
        self.record(
            Entry::new(Some(caller.user_id), AuditAction::Unban)
                .target(user)
                .room(room),
        )
        .await;
        Ok(())
    }

    /// `PUT /api/rooms/{room}/members/{user}/mute`: for 1 to
    /// [`MAX_MUTE_MINUTES`] minutes from now.
    pub async fn mute(
        &self,
        caller: &Identity,
        room: &RoomName,
        user: UserId,
        minutes: u32,
    ) -> Result<MemberInfo, RoomsError> {
        if !(1..=MAX_MUTE_MINUTES).contains(&minutes) {
            return Err(RoomsError::BadRequest(
                "a mute lasts from one minute to 30 days (MAX_MUTE_MINUTES); ban for longer",
            ));
        }
        let (_, _, account) = self
            .on_target(caller, room, &PersonRef::Id(user), Action::Mute)
            .await?;
        let until = now_ms().saturating_add(u64::from(minutes) * 60_000);
        let member = self.store.set_muted_until(room, user, Some(until)).await?;
        self.record(
            Entry::new(Some(caller.user_id), AuditAction::Mute)
                .target(user)
                .room(room)
                .detail(format!(
                    "muted {} for {minutes} minutes, until {}",
                    account.username,
                    time_words(until)
                )),
        )
        .await;
        self.events.publish(RoomEvent::Muted {
            room: room.clone(),
            user,
            until: Some(until),
        });
        Ok(member_info(&member, &account))
    }

    /// `DELETE /api/rooms/{room}/members/{user}/mute`.
    pub async fn unmute(
        &self,
        caller: &Identity,
        room: &RoomName,
        user: UserId,
    ) -> Result<MemberInfo, RoomsError> {
        let (_, _, account) = self
            .on_target(caller, room, &PersonRef::Id(user), Action::Unmute)
            .await?;
        let member = self.store.set_muted_until(room, user, None).await?;
        self.record(
            Entry::new(Some(caller.user_id), AuditAction::Unmute)
                .target(user)
                .room(room)
                .detail(format!("unmuted {}", account.username)),
        )
        .await;
        self.events.publish(RoomEvent::Muted {
            room: room.clone(),
            user,
            until: None,
        });
        Ok(member_info(&member, &account))
    }
}
