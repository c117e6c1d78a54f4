//! A room itself: making one, its details, and changing its title, topic,
//! kind and archived state. Making a room and every change are audited;
//! a change is published as [`RoomEvent::RoomChanged`].

use super::{membership_of, record_of, room_info, Action, RoomEvent, Rooms, RoomsError};
use crate::accounts::{now_ms, Identity};
use crate::audit::{AuditAction, Entry};
use crate::store::rooms::{Access, Created, NewRoom, RoomChange, RoomRecord};
use common::api::rooms::{CreateRoom, Membership, RoomInfo, RoomUpdate};
use common::room::is_direct_name;
use common::{RoomError, RoomKind, RoomName};

impl Rooms {
    /// `POST /api/rooms`: a public or private room, whose owner and first
    /// member is the caller.
    pub async fn create_room(
        &self,
        caller: &Identity,
        request: CreateRoom,
    ) -> Result<RoomInfo, RoomsError> {
        if request.kind == RoomKind::Direct {
            return Err(RoomsError::BadRequest(
                "a direct conversation is started with POST /api/direct",
            ));
        }
        if is_direct_name(&request.room) {
            return Err(RoomError::DirectPrefix.into());
        }
        self.has_room_for_caller(caller).await?;
        let made = self
            .make(
                caller,
                request.room,
                request.kind,
                request.title,
                request.topic.unwrap_or_default(),
            )
            .await?;
        let Created::New(room) = made else {
            return Err(RoomsError::RoomExists);
        };
        Ok(room_info(&room, Some(owner_membership(&room))))
    }

    /// Makes a room of `caller`'s (they are its owner), audited and
    /// published when it is new: what creating a room and joining a new
    /// name share.
    pub(super) async fn make(
        &self,
        caller: &Identity,
        room: RoomName,
        kind: RoomKind,
        title: Option<common::RoomTitle>,
        topic: common::RoomTopic,
    ) -> Result<Created, RoomsError> {
        let made = self
            .store
            .create_room(NewRoom {
                room,
                kind,
                title,
                topic,
                owner: Some(caller.user_id),
                members: Vec::new(),
                now: now_ms(),
            })
            .await?;
        if let Created::New(room) = &made {
            tracing::info!(room = %room.room, kind = %room.kind, user = caller.user_id, "room created");
            self.record(
                Entry::new(Some(caller.user_id), AuditAction::RoomCreate)
                    .room(&room.room)
                    .detail(format!("a {} room", room.kind)),
            )
            .await;
            self.events.publish(RoomEvent::MemberAdded {
                room: room.room.clone(),
                user: caller.user_id,
                own: true,
            });
        }
        Ok(made)
    }

    /// `GET /api/rooms/{room}`: for those who may read it.
    pub async fn details(
        &self,
        caller: &Identity,
        room: &RoomName,
    ) -> Result<RoomInfo, RoomsError> {
        let access = self.allowed(caller, room, Action::Read).await?;
        self.info_for(caller, &access).await
    }

    /// The room of `access` (which the caller may read: what
    /// [`Rooms::allowed`] or [`Rooms::join`] answered), with the caller's
    /// membership and its mentions.
    pub async fn info_for(
        &self,
        caller: &Identity,
        access: &Access,
    ) -> Result<RoomInfo, RoomsError> {
        match access {
            Access::Member(room, member) => {
                // Mentions are counted with the room list, one read for
                // every room of the caller's.
                let mentions = self
                    .store
                    .rooms_of(caller.user_id)
                    .await?
                    .into_iter()
                    .find(|mine| mine.room.room == room.room)
                    .map_or(0, |mine| mine.mentions);
                Ok(room_info(room, Some(membership_of(room, member, mentions))))
            }
            Access::Outsider(room) | Access::Banned(room) => Ok(room_info(room, None)),
            Access::NoRoom => Err(RoomsError::NotFound("room")),
        }
    }

    /// `PATCH /api/rooms/{room}`: each field given is its own action for
    /// the policy (a title [`Action::Rename`], a topic
    /// [`Action::SetTopic`], a kind [`Action::ChangeKind`], archiving
    /// [`Action::Archive`]); the rest are checked against the room as the
    /// request leaves it archived or not, so that one request may bring a
    /// room back and rename it. Each change is audited.
    pub async fn update_room(
        &self,
        caller: &Identity,
        room: &RoomName,
        update: RoomUpdate,
    ) -> Result<RoomInfo, RoomsError> {
        let mut access = self.store.access(room, caller.user_id).await?;
        let before = record_of(&access).cloned();
        let now = now_ms();
        if let Some(archived) = update.archived {
            super::policy::decide(caller.role, &access, Action::Archive, now)?;
            if let Access::Outsider(room) | Access::Member(room, _) | Access::Banned(room) =
                &mut access
            {
                room.archived = archived;
            }
        }
        let mut actions = vec![Action::Read];
        actions.extend(update.title.as_ref().map(|_| Action::Rename));
        actions.extend(update.topic.as_ref().map(|_| Action::SetTopic));
        actions.extend(update.kind.map(|_| Action::ChangeKind));
        for action in actions {
            super::policy::decide(caller.role, &access, action, now)?;
        }
        let Some(before) = before else {
            return Err(RoomsError::NotFound("room"));
        };
        if update.kind == Some(RoomKind::Direct) {
            return Err(RoomsError::BadRequest(
                "a room is public or private; only direct conversations are direct",
            ));
        }
        let change = RoomChange {
            title: update.title.clone(),
            topic: update.topic.clone(),
            kind: update.kind,
            archived: update.archived,
        };
        if change == RoomChange::default() {
            return self.info_for(caller, &access).await;
        }
        let after = self.store.update_room(room, change).await?;
        self.audit_changes(caller, &before, &after).await;
        self.events
            .publish(RoomEvent::RoomChanged { room: room.clone() });
        let access = self.store.access(room, caller.user_id).await?;
        self.info_for(caller, &access).await
    }

    /// An audit entry for each setting that `before` and `after` differ in.
    async fn audit_changes(&self, caller: &Identity, before: &RoomRecord, after: &RoomRecord) {
        let entry = |action| Entry::new(Some(caller.user_id), action).room(&after.room);
        if before.title != after.title {
            let detail = match &after.title {
                Some(title) => format!("title set to \"{}\"", title.as_str()),
                None => "title removed".to_owned(),
            };
            self.record(entry(AuditAction::RoomRename).detail(detail))
                .await;
        }
        if before.topic != after.topic {
            let detail = format!("topic set to \"{}\"", after.topic.as_str());
            self.record(entry(AuditAction::RoomTopic).detail(detail))
                .await;
        }
        if before.kind != after.kind {
            let detail = format!("{} → {}", before.kind, after.kind);
            self.record(entry(AuditAction::RoomKind).detail(detail))
                .await;
        }
        if before.archived != after.archived {
            let action = if after.archived {
                AuditAction::RoomArchive
            } else {
                AuditAction::RoomUnarchive
            };
            self.record(entry(action)).await;
        }
    }
}

/// The membership of a room's maker: its owner, with nothing unread.
fn owner_membership(room: &RoomRecord) -> Membership {
    Membership {
        role: common::RoomRole::Owner,
        last_read: room.last_id,
        unread: 0,
        mentions: 0,
        muted_until: None,
    }
}
