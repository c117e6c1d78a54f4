//! The room hub: finds or starts the actor of each room, and is the one
//! interface connections use for fan-out.
//!
//! - [`room`]: a room's actor, the single owner of its members and ids.
//! - `members`: a room's members and the fan-out to them.
//! - [`client`]: a connection as rooms see it (an outgoing queue and a way
//!   to close it).
//!
//! Rooms start on their first join and retire when empty, so memory follows
//! the active rooms, not every room ever used.

pub mod client;
mod members;
pub(crate) use members::encode;
pub mod room;

use crate::cluster::Cluster;
use crate::metrics::Metrics;
use crate::store::{MessageStore, Posted};
use client::ClientHandle;
use common::{
    DisplayName, ErrorCode, MessageId, MessageText, Nonce, Person, RequestError, RoomName, UserId,
};
use room::{JoinGrant, Moderation, Room, RoomHandle};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio_util::task::TaskTracker;

/// The tracing target of the room tracer (`--trace`): joins, leaves and
/// forwarded messages, at debug level, never message text.
pub const TRACER: &str = "chat_server::tracer";

/// How often a join is retried when its room retired just as the join
/// reached it. Once is almost always enough; more means something is wrong.
const JOIN_ATTEMPTS: usize = 3;

/// The rooms that are running, by name.
type Registry = Arc<Mutex<HashMap<RoomName, RoomEntry>>>;

struct RoomEntry {
    handle: RoomHandle,
    member_count: Arc<AtomicUsize>,
}

fn lock_registry(registry: &Registry) -> MutexGuard<'_, HashMap<RoomName, RoomEntry>> {
    // The lock guards plain map operations that cannot leave it half-done,
    // so a panic elsewhere while holding it does not poison the data.
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The room hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    registry: Registry,
    store: Arc<dyn MessageStore>,
    /// The broker rooms post through in cluster mode.
    cluster: Option<Cluster>,
    rooms: TaskTracker,
    metrics: Metrics,
}

impl Hub {
    /// A hub storing messages in `store` and counting in `metrics`; in
    /// cluster mode, `cluster` is the broker rooms publish through and hear
    /// the other instances on (and `store` its
    /// [`crate::cluster::ClusterStore`], on the shared database).
    pub fn new(store: Arc<dyn MessageStore>, cluster: Option<Cluster>, metrics: Metrics) -> Self {
        Self {
            registry: Registry::default(),
            store,
            cluster,
            rooms: TaskTracker::new(),
            metrics,
        }
    }

    /// Joins `client` to `room` as the person it is signed in as. The
    /// `joined` frame follows through the client's queue once the history
    /// is read; the returned handle reaches the room from then on.
    pub async fn join(
        &self,
        room: &RoomName,
        client: &ClientHandle,
        since: Option<MessageId>,
        grant: JoinGrant,
    ) -> Result<RoomHandle, RequestError> {
        for _ in 0..JOIN_ATTEMPTS {
            let handle = self.room(room);
            match handle.join(client.clone(), since, grant).await {
                Ok(answer) => return answer.map(|()| handle),
                // The room retired as the join arrived: the next lookup
                // starts a new one.
                Err(room::RoomGone) => continue,
            }
        }
        Err(RequestError::new(
            ErrorCode::Unavailable,
            "the room could not be joined; try again",
        )
        .about(room, None))
    }

    /// Posts `text` to `room` by `author` from outside any connection (the
    /// HTTP API's `POST /api/rooms/{room}/messages`): stored and broadcast
    /// like a member's `send`, calling `mentions` by name, once per
    /// `nonce` (a repeat answers the original's id).
    pub async fn post_as(
        &self,
        room: &RoomName,
        author: &Person,
        text: MessageText,
        nonce: Nonce,
        mentions: Vec<UserId>,
    ) -> Result<Posted, RequestError> {
        for _ in 0..JOIN_ATTEMPTS {
            let handle = self.room(room);
            match handle
                .post_as(
                    author.clone(),
                    text.clone(),
                    nonce.clone(),
                    mentions.clone(),
                )
                .await
            {
                Ok(answer) => return answer,
                // The room retired as the post arrived: ask again.
                Err(room::RoomGone) => continue,
            }
        }
        Err(RequestError::new(
            ErrorCode::Unavailable,
            "the room could not be reached; try again",
        )
        .about(room, Some(&nonce)))
    }

    /// Shows `user`'s new display name in every running room they are in
    /// on this instance (the rooms tell their members, and in cluster mode
    /// the other instances). Rooms without them pass it by.
    pub async fn rename(&self, user: UserId, display_name: &DisplayName) {
        let rooms: Vec<RoomHandle> = lock_registry(&self.registry)
            .values()
            .map(|entry| entry.handle.clone())
            .collect();
        for room in rooms {
            // A room that retired meanwhile had no members left.
            let _ = room.rename(user, display_name.clone()).await;
        }
    }

    /// The accounts connected to `room` now, on every instance: the
    /// room's own list when it runs here, otherwise (in cluster mode) the
    /// broker's list of the other instances' members. A broker out of
    /// reach tells nobody.
    pub async fn online(&self, room: &RoomName) -> HashSet<UserId> {
        let handle = lock_registry(&self.registry)
            .get(room)
            .map(|entry| entry.handle.clone());
        if let Some(handle) = handle {
            if let Ok(people) = handle.online().await {
                return people.into_iter().collect();
            }
        }
        let Some(cluster) = &self.cluster else {
            return HashSet::new();
        };
        match cluster.presence.remote_members(room).await {
            Ok(members) => members
                .into_iter()
                .map(|member| member.person.user_id)
                .collect(),
            Err(err) => {
                tracing::warn!(room = %room, error = %err, "cannot read who is online from the broker");
                HashSet::new()
            }
        }
    }

    /// Applies `change` to `room` if it runs on this instance (a room that
    /// does not run has no one to remove, and reads its rules anew with
    /// each join), and returns once the room has applied it (see
    /// `RoomHandle::moderate`).
    pub async fn moderate(&self, room: &RoomName, change: Moderation) {
        let handle = lock_registry(&self.registry)
            .get(room)
            .map(|entry| entry.handle.clone());
        if let Some(handle) = handle {
            // A room that retired meanwhile had no members left.
            let _ = handle.moderate(change).await;
        }
    }

    /// The running rooms and how many members each has.
    pub fn live_rooms(&self) -> Vec<(RoomName, usize)> {
        lock_registry(&self.registry)
            .iter()
            .map(|(name, entry)| (name.clone(), entry.member_count.load(Ordering::Relaxed)))
            .collect()
    }

    /// Waits until every room has retired, which they do once their members
    /// are gone and their messages committed.
    pub async fn wait_for_rooms(&self) {
        self.rooms.close();
        self.rooms.wait().await;
    }

    fn room(&self, name: &RoomName) -> RoomHandle {
        let mut rooms = lock_registry(&self.registry);
        if let Some(entry) = rooms.get(name) {
            return entry.handle.clone();
        }
        let (room, handle, inbox, member_count) = Room::new(
            name.clone(),
            Arc::clone(&self.store),
            self.cluster.clone(),
            Arc::clone(&self.registry),
            self.metrics.clone(),
        );
        rooms.insert(
            name.clone(),
            RoomEntry {
                handle: handle.clone(),
                member_count,
            },
        );
        self.rooms.spawn(room.run(inbox));
        handle
    }
}
