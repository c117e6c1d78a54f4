//! What room changes do to open connections: [`follow`] takes every
//! [`RoomEvent`] this instance makes (and, in cluster mode, those the other
//! instances publish) and
//!
//! - tells every connection of the person concerned, in the room or not,
//!   what they now are to it (`membership`, `muted`) and how far they have
//!   read it (`read`), so each tab and device follows;
//! - has the running room apply it ([`crate::hub::Hub::moderate`]): a person no longer
//!   a member leaves it with every connection at once; a mute, an unmute
//!   or the archive changes who may post; a change of settings reaches
//!   its connections as `room_changed`.
//!
//! An event can be missed: this task fell more than
//! [`crate::rooms::events::EVENT_CAPACITY`] behind, or the broker was out
//! of reach. Then every running room reads its members and settings again
//! from the store (`check_every_room`), so nobody stays in a room they
//! were removed from, nor muted or unmuted, for long.

use super::ConnectionContext;
use crate::cluster::events::Changes;
use crate::cluster::{Cluster, Heard};
use crate::hub::room::Moderation;
use crate::rooms::{RemovalReason, RoomEvent, Rooms};
use crate::store::rooms::{Access, RoomRecord};
use crate::store::{RoomStore, StoreError};
use common::{MemberState, RoomName, ServerFrame, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Follows room changes until `shutdown`, as the module says.
pub async fn follow(
    rooms: Rooms,
    context: Arc<ConnectionContext>,
    cluster: Option<Cluster>,
    shutdown: CancellationToken,
) {
    let store = rooms.store();
    let channel = cluster.map(|cluster| cluster.rooms);
    let mut changes = Changes::new(rooms.subscribe(), channel);
    loop {
        let heard = tokio::select! {
            () = shutdown.cancelled() => return,
            heard = changes.next() => match heard {
                Some(heard) => heard,
                None => return,
            },
        };
        let applied = match heard {
            Heard::Event(event) => apply(store.as_ref(), &context, event).await,
            Heard::Missed => {
                tracing::warn!(
                    "room changes may have been missed; reading every running room again"
                );
                check_every_room(store.as_ref(), &context).await
            }
        };
        if let Err(err) = applied {
            tracing::error!(error = %err, "cannot apply a room change to the connections");
        }
    }
}

/// Applies one event to the person's connections, then to the room.
async fn apply(
    store: &dyn RoomStore,
    context: &ConnectionContext,
    event: RoomEvent,
) -> Result<(), StoreError> {
    match event {
        // A join of one's own is known where it was made (by its `joined`).
        RoomEvent::MemberAdded { own: true, .. } => {}
        RoomEvent::MemberAdded { room, user, .. } => {
            // The event says who, the store says as what.
            if let Access::Member(_, member) = store.access(&room, user).await? {
                tell_membership(context, user, room, MemberState::Member, Some(member.role));
            }
        }
        RoomEvent::RoleChanged { room, user, role } => {
            tell_membership(context, user, room, MemberState::Member, Some(role));
        }
        RoomEvent::MemberRemoved { room, user, reason } => {
            // Told once the room has let them go (`moderate` waits for
            // it): the room's last frame to them comes before this one, as
            // the protocol promises. Told as soon as the removal was on its
            // way, a busy room's messages still reached them after it.
            context
                .hub
                .moderate(&room, Moderation::Remove { user })
                .await;
            let state = match reason {
                RemovalReason::Left => MemberState::Left,
                RemovalReason::Removed => MemberState::Removed,
                RemovalReason::Banned => MemberState::Banned,
            };
            tell_membership(context, user, room, state, None);
        }
        RoomEvent::Muted { room, user, until } => {
            context
                .hub
                .moderate(&room, Moderation::Mute { user, until })
                .await;
            context.tell(user, &ServerFrame::Muted { room, until });
        }
        RoomEvent::RoomChanged { room } => {
            if let Some(record) = store.room(&room).await? {
                announce(context, record).await;
            }
        }
        RoomEvent::ReadMarked {
            room,
            user,
            last_read,
        } => context.tell(user, &ServerFrame::Read { room, last_read }),
    }
    Ok(())
}

fn tell_membership(
    context: &ConnectionContext,
    user: UserId,
    room: RoomName,
    state: MemberState,
    role: Option<common::RoomRole>,
) {
    context.tell(user, &ServerFrame::Membership { room, state, role });
}

/// Has the running room take `record`'s settings and show them to its
/// connections.
async fn announce(context: &ConnectionContext, record: RoomRecord) {
    let frame = ServerFrame::RoomChanged {
        room: record.room.clone(),
        kind: record.kind,
        title: record.title,
        topic: record.topic,
        archived: record.archived,
    };
    let change = Moderation::Changed {
        archived: record.archived,
        frame: Box::new(frame),
    };
    context.hub.moderate(&record.room, change).await;
}

/// Reads every running room's settings and members again and acts as the
/// missed events would have: the people who are no longer members leave,
/// and every member's mute is as stored.
async fn check_every_room(
    store: &dyn RoomStore,
    context: &ConnectionContext,
) -> Result<(), StoreError> {
    for (room, _) in context.hub.live_rooms() {
        let Some(record) = store.room(&room).await? else {
            continue;
        };
        let members: HashMap<UserId, Option<u64>> = store
            .members(&room)
            .await?
            .into_iter()
            .map(|member| (member.user, member.muted_until))
            .collect();
        let resync = Moderation::Resync(Arc::new(members));
        context.hub.moderate(&room, resync).await;
        announce(context, record).await;
    }
    Ok(())
}
