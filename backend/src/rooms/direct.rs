//! `POST /api/direct`: the direct conversation of the caller and the
//! people they name. Its slug is made from their ids
//! ([`direct_room_name`]), so starting it again finds the same room:
//! [`Opened::Existing`], with nothing changed. Not audited: it is the
//! caller's own conversation, not moderation.

use super::{record_of, Action, RoomEvent, Rooms, RoomsError};
use crate::accounts::{now_ms, Identity};
use crate::store::rooms::{Access, Created, NewRoom};
use common::api::rooms::{RoomInfo, StartDirect};
use common::room::{direct_room_name, DIRECT_MAX_PEOPLE};
use common::{RoomError, RoomKind, RoomTopic};

/// What [`Rooms::start_direct`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Made it, with its people as members.
    New(RoomInfo),
    /// It existed: the same conversation, unchanged.
    Existing(RoomInfo),
}

impl Rooms {
    /// The direct conversation of `caller` and `request.people` (2 to
    /// [`DIRECT_MAX_PEOPLE`] active accounts with the caller), made when
    /// it is new.
    pub async fn start_direct(
        &self,
        caller: &Identity,
        request: StartDirect,
    ) -> Result<Opened, RoomsError> {
        // Refused before anyone is looked up: a list this long names too
        // many people whatever its repeats.
        if request.people.len() > DIRECT_MAX_PEOPLE {
            return Err(RoomError::DirectPeople.into());
        }
        let mut people = vec![caller.user_id];
        for person in &request.people {
            people.push(self.account_of(person, true).await?.id);
        }
        let (room, people) = direct_room_name(&people)?;
        let access = self.store.access(&room, caller.user_id).await?;
        if record_of(&access).is_some() {
            return Ok(Opened::Existing(self.opened(caller, &access).await?));
        }
        for &person in &people {
            let who = if person == caller.user_id {
                super::YOU_ARE_FULL
            } else {
                "one of them is in as many rooms as one may be"
            };
            self.has_room_for(person, who).await?;
        }
        let others: Vec<_> = people
            .iter()
            .copied()
            .filter(|&person| person != caller.user_id)
            .collect();
        let made = self
            .store
            .create_room(NewRoom {
                room: room.clone(),
                kind: RoomKind::Direct,
                title: None,
                topic: RoomTopic::default(),
                owner: Some(caller.user_id),
                members: others,
                now: now_ms(),
            })
            .await?;
        let new = matches!(made, Created::New(_));
        if new {
            tracing::info!(room = %room, people = people.len(), "direct conversation started");
            for &user in &people {
                self.events.publish(RoomEvent::MemberAdded {
                    room: room.clone(),
                    user,
                    own: user == caller.user_id,
                });
            }
        }
        // Read again: made now, or by someone else a moment ago.
        let access = self.store.access(&room, caller.user_id).await?;
        let info = self.opened(caller, &access).await?;
        Ok(if new {
            Opened::New(info)
        } else {
            Opened::Existing(info)
        })
    }

    /// The conversation of `access`, which the caller may read; a room of
    /// its slug that is not a direct conversation (made before slugs of
    /// `dm-` were kept for them) is in the way.
    async fn opened(&self, caller: &Identity, access: &Access) -> Result<RoomInfo, RoomsError> {
        if record_of(access).is_some_and(|room| room.kind != RoomKind::Direct) {
            return Err(RoomsError::RoomExists);
        }
        super::policy::decide(caller.role, access, Action::Read, now_ms())?;
        self.info_for(caller, access).await
    }
}
