//! The members of one room and the fan-out to them. Owned by the room's
//! task, like everything else of the room.
//!
//! Presence is sent as deltas (who joined, who left), and changes are
//! gathered until the room calls [`Members::flush_presence`] (a delay that
//! grows with the room): a storm of joins costs one small frame per member
//! per burst, not the whole member list per join (which made joins
//! O(members²)). A joiner's `joined` frame lists the members as last
//! announced, so the next delta continues exactly from it.

use super::client::{ClientHandle, ClientId};
use super::TRACER;
use crate::websocket::OutgoingFrame;
use common::{DisplayName, RoomName, ServerFrame};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A member of the room.
pub(super) struct Member {
    pub(super) client: ClientHandle,
    pub(super) name: DisplayName,
    uniqueness_key: String,
    /// `Some` while the member's history loads: the frames to send after
    /// it, already counted against the member's outgoing queue.
    backlog: Option<Vec<OutgoingFrame>>,
}

impl Member {
    /// The member's name as compared for uniqueness.
    pub(super) fn uniqueness_key(&self) -> &str {
        &self.uniqueness_key
    }

    /// Whether the member has its `joined` frame (its history is loaded).
    pub(super) fn is_live(&self) -> bool {
        self.backlog.is_none()
    }
}

/// Which members get a frame that is not for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    /// Live members, and loading ones after their history: a message.
    Everyone,
    /// Live members only: presence and typing, which a loading member's
    /// `joined` and later frames supersede.
    Live,
    /// Live members but one: a typing notice, not echoed to the typist.
    LiveExcept(ClientId),
}

/// The members of one room, in order of joining.
pub(super) struct Members {
    room: RoomName,
    list: Vec<Member>,
    /// Shared with the hub's registry, so the room list can count members
    /// without asking the room.
    count: Arc<AtomicUsize>,
    /// The names live members were last told about (their `joined` frame
    /// or the last presence delta), in order of joining.
    announced: Vec<DisplayName>,
    /// Whether members joined or left since `announced`.
    presence_changed: bool,
}

impl Members {
    pub(super) fn new(room: RoomName, count: Arc<AtomicUsize>) -> Self {
        Self {
            room,
            list: Vec::new(),
            count,
            announced: Vec::new(),
            presence_changed: false,
        }
    }

    pub(super) fn get(&self, client: ClientId) -> Option<&Member> {
        self.list.iter().find(|member| member.client.id() == client)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether a member already goes by `name`, ignoring case.
    pub(super) fn name_taken(&self, name: &DisplayName) -> bool {
        let key = name.uniqueness_key();
        self.list.iter().any(|member| member.uniqueness_key == key)
    }

    /// Adds a member whose history is still loading; the others are told
    /// at the next [`Members::flush_presence`].
    pub(super) fn add_loading(&mut self, client: ClientHandle, name: DisplayName) {
        tracing::debug!(target: TRACER, room = %self.room, client = client.id(), name = %name, "join");
        let uniqueness_key = name.uniqueness_key();
        self.list.push(Member {
            client,
            name,
            uniqueness_key,
            backlog: Some(Vec::new()),
        });
        self.count.store(self.list.len(), Ordering::Relaxed);
        self.presence_changed = true;
    }

    /// Sends a loading member its `joined` frame and then its backlog, and
    /// makes it live. A member that cannot take them is removed.
    pub(super) fn finish_loading(&mut self, client: ClientId, joined: &ServerFrame) {
        let Some(member) = self
            .list
            .iter_mut()
            .find(|member| member.client.id() == client)
        else {
            return; // It left while its history loaded.
        };
        let mut backlog = member.backlog.take().unwrap_or_default().into_iter();
        let mut delivered = member.client.deliver(encode(joined));
        for frame in backlog.by_ref() {
            if !delivered {
                break;
            }
            delivered = member.client.deliver_reserved(frame);
        }
        // Whatever could not be sent gives its place in the queue back.
        member
            .client
            .unreserve(backlog.map(|frame| frame.len()).sum());
        if !delivered {
            self.remove(&[client]);
        }
    }

    /// The names live members were last told of, and `joiner` (at the end,
    /// unless it is already there): the member list of a `joined` frame,
    /// which the next presence delta continues from.
    pub(super) fn announced_with(&self, joiner: &DisplayName) -> Vec<DisplayName> {
        let mut names = self.announced.clone();
        if !names.contains(joiner) {
            names.push(joiner.clone());
        }
        names
    }

    /// The members' names, in order of joining.
    pub(super) fn names(&self) -> Vec<DisplayName> {
        self.list.iter().map(|member| member.name.clone()).collect()
    }

    /// Removes members; the others are told at the next
    /// [`Members::flush_presence`].
    pub(super) fn remove(&mut self, ids: &[ClientId]) {
        self.drop_members(ids);
    }

    /// Sends `frame` to `audience`. Members that cannot take it (gone, or
    /// slow consumers, who are disconnected) are removed; the others are
    /// told at the next [`Members::flush_presence`].
    pub(super) fn fan_out(&mut self, frame: &OutgoingFrame, audience: Audience) {
        let gone = self.deliver_to_all(frame, audience);
        if !gone.is_empty() {
            self.drop_members(&gone);
        }
    }

    /// Whether members joined or left since live members were last told.
    pub(super) fn presence_changed(&self) -> bool {
        self.presence_changed
    }

    /// Tells live members who joined and left since they were last told,
    /// in one frame.
    pub(super) fn flush_presence(&mut self) {
        // Telling the others can find members that are gone, which is news
        // again; loop rather than recurse, as each round only shrinks the room.
        while self.presence_changed {
            self.presence_changed = false;
            let now = self.names();
            let before: HashSet<&DisplayName> = self.announced.iter().collect();
            let after: HashSet<&DisplayName> = now.iter().collect();
            let joined: Vec<DisplayName> = now
                .iter()
                .filter(|name| !before.contains(name))
                .cloned()
                .collect();
            let left: Vec<DisplayName> = self
                .announced
                .iter()
                .filter(|name| !after.contains(name))
                .cloned()
                .collect();
            self.announced = now;
            if joined.is_empty() && left.is_empty() {
                continue;
            }
            let frame = encode(&ServerFrame::Presence {
                room: self.room.clone(),
                joined,
                left,
            });
            self.fan_out(&frame, Audience::Live);
        }
    }

    /// Delivers to every member of `audience`; returns those that could not take it.
    fn deliver_to_all(&mut self, frame: &OutgoingFrame, audience: Audience) -> Vec<ClientId> {
        let mut gone = Vec::new();
        for member in &mut self.list {
            let id = member.client.id();
            let delivered = match (&mut member.backlog, audience) {
                (_, Audience::LiveExcept(except)) if except == id => true,
                (None, _) => member.client.deliver(frame.clone()),
                (Some(_), Audience::Live | Audience::LiveExcept(_)) => true,
                // Counted against the queue now, so a backlog cannot grow
                // past what the queue may hold.
                (Some(backlog), Audience::Everyone) => {
                    let reserved = member.client.reserve(frame);
                    if reserved {
                        backlog.push(frame.clone());
                    }
                    reserved
                }
            };
            if !delivered {
                gone.push(id);
            }
        }
        gone
    }

    fn drop_members(&mut self, ids: &[ClientId]) {
        let room = &self.room;
        self.list.retain(|member| {
            if !ids.contains(&member.client.id()) {
                return true;
            }
            tracing::debug!(target: TRACER, room = %room, client = member.client.id(), name = %member.name, "leave");
            if let Some(backlog) = &member.backlog {
                // A member that leaves while loading frees what it reserved.
                member.client.unreserve(backlog.iter().map(|frame| frame.len()).sum());
            }
            false
        });
        self.count.store(self.list.len(), Ordering::Relaxed);
        self.presence_changed = true;
    }
}

/// Serializes a frame once, to be shared by every recipient.
pub(super) fn encode(frame: &ServerFrame) -> OutgoingFrame {
    OutgoingFrame::text(&frame.encode())
}
