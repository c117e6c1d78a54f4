//! Rooms people belong to, as the server uses them: public and private
//! rooms, direct conversations, memberships with roles and read state,
//! moderation (removing, banning, muting), built on the room store
//! ([`crate::store::rooms`]) and the accounts' ([`crate::store::accounts`]).
//!
//! [`Rooms`] is the one value the HTTP handlers call (and, later, the
//! WebSocket's join and send): each method is one use case, takes the
//! caller's [`Identity`], asks [`policy::decide`] first, and returns a
//! refusal as a [`RoomsError`] value. The rules themselves are all in
//! [`policy`]: who sees a room, who may join, post, moderate, and what a
//! room's kind and state allow.
//!
//! Every moderation action, and every change to a room's settings, is
//! written to the audit log ([`crate::audit`]) once the store committed
//! it; so is the making of a room. Joining, leaving, reading and starting
//! a direct conversation are the caller's own business and are not.
//!
//! # Layout
//!
//! - [`policy`]: [`policy::decide`], who may do what, and its table of
//!   tests.
//! - [`error`]: [`RoomsError`], and its code and HTTP status.
//! - [`events`]: [`RoomEvent`]s for live connections, published after the
//!   store committed.
//! - [`settings`]: making a room, one room's details, changing its title,
//!   topic, kind and archived state.
//! - [`listing`]: the caller's room list.
//! - [`direct`]: starting (or finding again) a direct conversation.
//! - [`members`]: joining, leaving, the member list, adding and removing
//!   members, their roles.
//! - [`moderation`]: bans and mutes.
//! - [`read`]: read state: marking a room read, or every room.
//! - [`log`]: reading the audit log (administrators).
//! - [`live`]: what the WebSocket side asks: a connection's join, the
//!   people a message calls by name.

pub mod direct;
pub mod error;
pub mod events;
pub mod listing;
pub mod live;
pub mod log;
pub mod members;
pub mod moderation;
pub mod policy;
pub mod read;
pub mod settings;
#[cfg(test)]
mod tests;

pub use error::RoomsError;
pub use events::{RemovalReason, RoomEvent};
pub use policy::{Action, Denial, Target};

use crate::accounts::{now_ms, Identity};
use crate::audit::{Audit, Entry};
use crate::store::accounts::Account;
use crate::store::rooms::{Access, MemberRecord, RoomRecord, MAX_ROOMS_PER_PERSON};
use crate::store::{AccountStore, RoomStore};
use common::api::rooms::{MemberInfo, Membership, PersonRef, RoomInfo};
use common::{AccountState, Role, RoomName, UserId};
use std::sync::Arc;
use tokio::sync::broadcast;

/// The words of [`RoomsError::TooManyRooms`] for the caller.
const YOU_ARE_FULL: &str = "you are in as many rooms as one may be; leave one first";

/// The use cases of rooms. Cheap to clone: clones share the stores, the
/// audit log and the events.
#[derive(Clone)]
pub struct Rooms {
    store: Arc<dyn RoomStore>,
    accounts: Arc<dyn AccountStore>,
    audit: Audit,
    events: events::Events,
}

impl Rooms {
    /// The use cases on `store`, with people from `accounts`, writing to
    /// `audit`.
    pub fn new(store: Arc<dyn RoomStore>, accounts: Arc<dyn AccountStore>, audit: Audit) -> Self {
        Self {
            store,
            accounts,
            audit,
            events: events::Events::new(),
        }
    }

    /// Events published from now on (see [`events`]).
    pub fn subscribe(&self) -> broadcast::Receiver<RoomEvent> {
        self.events.subscribe()
    }

    /// What `caller` is to `room`, once [`policy::decide`] allowed them
    /// `action` there: the check of the routes whose work is elsewhere
    /// (history pages, posting).
    pub async fn allowed(
        &self,
        caller: &Identity,
        room: &RoomName,
        action: Action,
    ) -> Result<Access, RoomsError> {
        let access = self.store.access(room, caller.user_id).await?;
        policy::decide(caller.role, &access, action, now_ms())?;
        Ok(access)
    }

    /// Whether `caller` may post in `room` now. A room that does not exist
    /// yet may be posted in, unless its name is a direct conversation's:
    /// the store makes it, public and without an owner, as posting to a
    /// new name always made a room.
    pub async fn may_post(&self, caller: &Identity, room: &RoomName) -> Result<(), RoomsError> {
        let access = self.store.access(room, caller.user_id).await?;
        if matches!(access, Access::NoRoom) && !common::room::is_direct_name(room) {
            return Ok(());
        }
        policy::decide(caller.role, &access, Action::Post, now_ms())?;
        Ok(())
    }

    /// The account `person` names and what they are to `room`, once the
    /// caller may do `action` to them there. The caller's sight of the
    /// room is checked before anyone is looked up, so that an outsider of
    /// a private room learns nothing of its members.
    async fn on_target(
        &self,
        caller: &Identity,
        room: &RoomName,
        person: &PersonRef,
        action: fn(Target) -> Action,
    ) -> Result<(Target, Access, Account), RoomsError> {
        let mine = self.allowed(caller, room, Action::Read).await?;
        let account = self.account_of(person, false).await?;
        let user = account.id;
        let theirs = self.store.access(room, user).await?;
        let role = match &theirs {
            Access::Member(_, member) => Some(member.role),
            _ => None,
        };
        let target = Target {
            role,
            admin: account.role == Role::Admin,
            is_self: user == caller.user_id,
        };
        policy::decide(caller.role, &mine, action(target), now_ms())?;
        Ok((target, theirs, account))
    }

    /// The account `person` names: any that exists, or, when
    /// `active_only`, an active one (a deactivated account is not found).
    async fn account_of(
        &self,
        person: &PersonRef,
        active_only: bool,
    ) -> Result<Account, RoomsError> {
        let account = match person {
            // Stores keep ids as signed 64-bit numbers: a larger one names
            // nobody, and could not even be looked up.
            PersonRef::Id(id) if i64::try_from(*id).is_err() => None,
            PersonRef::Id(id) => self.accounts.account(*id).await?,
            PersonRef::Username(username) => self.accounts.account_by_username(username).await?,
        };
        account
            .filter(|account| !active_only || account.state == AccountState::Active)
            .ok_or(RoomsError::NotFound("account"))
    }

    /// Refuses the caller a new membership when they have the most rooms a
    /// person may.
    async fn has_room_for_caller(&self, caller: &Identity) -> Result<(), RoomsError> {
        self.has_room_for(caller.user_id, YOU_ARE_FULL).await
    }

    /// Refuses a new membership of `user` when they have the most rooms
    /// a person may.
    async fn has_room_for(&self, user: UserId, who: &'static str) -> Result<(), RoomsError> {
        let count = self.store.count_rooms_of(user).await?;
        if count >= u64::try_from(MAX_ROOMS_PER_PERSON).unwrap_or(u64::MAX) {
            return Err(RoomsError::TooManyRooms(who));
        }
        Ok(())
    }

    /// Writes an audit entry, now.
    async fn record(&self, entry: Entry) {
        self.audit.record(entry, now_ms()).await;
    }
}

/// The room an access names, when it exists.
pub fn record_of(access: &Access) -> Option<&RoomRecord> {
    match access {
        Access::Outsider(room) | Access::Member(room, _) | Access::Banned(room) => Some(room),
        Access::NoRoom => None,
    }
}

/// A room as its readers see it, with the caller's membership if any.
pub fn room_info(room: &RoomRecord, membership: Option<Membership>) -> RoomInfo {
    RoomInfo {
        room: room.room.clone(),
        kind: room.kind,
        title: room.title.clone(),
        topic: room.topic.clone(),
        archived: room.archived,
        owner: room.owner,
        created_ms: room.created_ms,
        last_id: room.last_id,
        membership,
    }
}

/// A member's membership of `room`, with `mentions` unread ones.
pub fn membership_of(room: &RoomRecord, member: &MemberRecord, mentions: u64) -> Membership {
    Membership {
        role: member.role,
        last_read: member.last_read,
        unread: room.last_id.saturating_sub(member.last_read),
        mentions,
        muted_until: member.muted_until.filter(|_| member.is_muted(now_ms())),
    }
}

/// One member as listed, with their account's names.
pub fn member_info(member: &MemberRecord, account: &Account) -> MemberInfo {
    MemberInfo {
        user: member.user,
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        role: member.role,
        joined_ms: member.joined_ms,
        muted_until: member.muted_until.filter(|_| member.is_muted(now_ms())),
        online: None,
    }
}
