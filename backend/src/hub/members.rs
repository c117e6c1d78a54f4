//! The members of one room and the fan-out to them. Owned by the room's
//! task, like everything else of the room.
//!
//! Presence is sent as deltas (who joined, who left), and changes are
//! gathered until the room calls [`Members::flush_presence`] (a delay that
//! grows with the room): a storm of joins costs one small frame per member
//! per burst, not the whole member list per join (which made joins
//! O(members²)). A joiner's `joined` frame lists the members as last
//! announced, so the next delta continues exactly from it.
//!
//! In cluster mode the list also holds the members of the room on other
//! instances (see `cluster::presence`): they are listed and their names
//! taken, but frames go to local members only. Local members who leave are
//! kept as departures until the room releases their names in the broker.

use super::client::{ClientHandle, ClientId};
use super::TRACER;
use crate::cluster::{InstanceId, RemoteMember};
use crate::websocket::OutgoingFrame;
use common::{DisplayName, MessageId, RoomName, ServerFrame};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A member of the room.
pub(super) struct Member {
    pub(super) client: ClientHandle,
    pub(super) name: DisplayName,
    /// A hash of the name's uniqueness key: most comparisons end with it,
    /// and a hash costs 8 bytes per member where the key would cost a
    /// string of its own (every idle connection is a member).
    key_hash: u64,
    /// The last message id of the member's history: every later message
    /// reaches it by broadcast.
    history_end: MessageId,
    /// `Some` while the member's history loads: the frames to send after
    /// it, already counted against the member's outgoing queue. Boxed, so
    /// that the many members who are not loading pay 8 bytes for it.
    #[allow(clippy::box_collection)]
    backlog: Option<Box<Vec<OutgoingFrame>>>,
}

impl Member {
    /// The member's name as compared for uniqueness.
    pub(super) fn uniqueness_key(&self) -> String {
        self.name.uniqueness_key()
    }

    /// Whether a message reaches (or reached) the member by broadcast
    /// rather than in its history: it then needs no other answer to a
    /// `send` repeated with the message's nonce.
    pub(super) fn receives_by_broadcast(&self, id: MessageId) -> bool {
        id > self.history_end
    }

    /// Whether the member's name has uniqueness key `key` (with hash `hash`).
    fn has_key(&self, key: &str, hash: u64) -> bool {
        self.key_hash == hash && self.name.uniqueness_key() == key
    }

    /// Whether the member has its `joined` frame (its history is loaded).
    pub(super) fn is_live(&self) -> bool {
        self.backlog.is_none()
    }
}

/// A member of the room on another instance (cluster mode).
struct Remote {
    instance: InstanceId,
    name: DisplayName,
    /// When it was first listed here: remote members are listed in this
    /// order, after the local ones.
    listed: u64,
}

/// A local member who left, whose name the room is to release in the
/// broker (cluster mode).
pub(super) struct Departure {
    pub(super) client: ClientId,
    pub(super) name: DisplayName,
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
    /// Members on other instances, by name key (cluster mode).
    remote: HashMap<String, Remote>,
    /// The next [`Remote::listed`].
    next_listed: u64,
    /// Local members who left, while `keeps_departures` (cluster mode).
    departures: Vec<Departure>,
    keeps_departures: bool,
}

impl Members {
    /// The members of `room`; `count` is kept at their number (local and
    /// remote). In cluster mode (`keeps_departures`) local members who
    /// leave are kept for [`Members::take_departures`].
    pub(super) fn new(room: RoomName, count: Arc<AtomicUsize>, keeps_departures: bool) -> Self {
        Self {
            room,
            list: Vec::new(),
            count,
            announced: Vec::new(),
            presence_changed: false,
            remote: HashMap::new(),
            next_listed: 0,
            departures: Vec::new(),
            keeps_departures,
        }
    }

    pub(super) fn get(&self, client: ClientId) -> Option<&Member> {
        self.list.iter().find(|member| member.client.id() == client)
    }

    /// Whether the room has no local members (remote ones need no room).
    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The number of local members: those frames go to.
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// The local members, in order of joining.
    pub(super) fn local(&self) -> impl Iterator<Item = &Member> {
        self.list.iter()
    }

    /// Whether a local member already goes by `name`, ignoring case.
    ///
    /// Members of other instances are not asked: what this room last heard
    /// of them may be behind, and the broker's claim decides (see
    /// [`Members::forget_remote`]).
    pub(super) fn name_taken(&self, name: &DisplayName) -> bool {
        self.holds_locally(&name.uniqueness_key())
    }

    /// Forgets a member of another instance who went by `name`: the broker
    /// gave the name to a local member, so that member has left, whatever
    /// this room heard so far.
    pub(super) fn forget_remote(&mut self, name: &DisplayName) {
        if self.remote.remove(&name.uniqueness_key()).is_some() {
            self.presence_changed = true;
            self.store_count();
        }
    }

    fn holds_locally(&self, key: &str) -> bool {
        let hash = key_hash(key);
        self.list.iter().any(|member| member.has_key(key, hash))
    }

    /// Lists members of another instance who joined. A name a local member
    /// holds is left alone: the broker gave it to one of them, and the room
    /// learns which when it registers its members again.
    pub(super) fn remote_joined(&mut self, instance: InstanceId, names: Vec<DisplayName>) {
        for name in names {
            let key = name.uniqueness_key();
            if self.holds_locally(&key) {
                continue;
            }
            if let Some(remote) = self.remote.get_mut(&key) {
                if remote.instance == instance && remote.name == name {
                    continue;
                }
                remote.instance = instance;
                remote.name = name;
            } else {
                let listed = self.next_listed;
                self.next_listed += 1;
                self.remote.insert(
                    key,
                    Remote {
                        instance,
                        name,
                        listed,
                    },
                );
            }
            self.presence_changed = true;
        }
        self.store_count();
    }

    /// Removes members of another instance who left (if they still belong
    /// to that instance here).
    pub(super) fn remote_left(&mut self, instance: InstanceId, names: &[DisplayName]) {
        for name in names {
            let key = name.uniqueness_key();
            if self
                .remote
                .get(&key)
                .is_some_and(|remote| remote.instance == instance)
            {
                self.remote.remove(&key);
                self.presence_changed = true;
            }
        }
        self.store_count();
    }

    /// Replaces the members of other instances with `members`, as read
    /// from the broker; those already listed keep their place.
    pub(super) fn replace_remote(&mut self, members: Vec<RemoteMember>) {
        let mut before = std::mem::take(&mut self.remote);
        for member in members {
            let key = member.name.uniqueness_key();
            if self.holds_locally(&key) {
                continue;
            }
            let listed = match before.remove(&key) {
                Some(old) if old.instance == member.instance && old.name == member.name => {
                    old.listed
                }
                _ => {
                    self.presence_changed = true;
                    self.next_listed += 1;
                    self.next_listed - 1
                }
            };
            let remote = Remote {
                instance: member.instance,
                name: member.name,
                listed,
            };
            self.remote.insert(key, remote);
        }
        self.presence_changed |= !before.is_empty();
        self.store_count();
    }

    /// The local members who left since the last call (cluster mode).
    pub(super) fn take_departures(&mut self) -> Vec<Departure> {
        std::mem::take(&mut self.departures)
    }

    /// Adds a member whose history is still loading and ends at
    /// `history_end`; the others are told at the next
    /// [`Members::flush_presence`].
    pub(super) fn add_loading(
        &mut self,
        client: ClientHandle,
        name: DisplayName,
        history_end: MessageId,
    ) {
        tracing::debug!(target: TRACER, room = %self.room, client = client.id(), name = %name, "join");
        let key_hash = key_hash(&name.uniqueness_key());
        self.list.push(Member {
            client,
            name,
            key_hash,
            history_end,
            backlog: Some(Box::default()),
        });
        self.store_count();
        self.presence_changed = true;
    }

    fn store_count(&self) {
        self.count
            .store(self.list.len() + self.remote.len(), Ordering::Relaxed);
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
        let mut backlog = member
            .backlog
            .take()
            .map(|backlog| *backlog)
            .unwrap_or_default()
            .into_iter();
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

    /// The members' names: local ones in order of joining, then those of
    /// other instances in the order they were listed here.
    pub(super) fn names(&self) -> Vec<DisplayName> {
        let mut remote: Vec<&Remote> = self.remote.values().collect();
        remote.sort_unstable_by_key(|remote| remote.listed);
        self.list
            .iter()
            .map(|member| member.name.clone())
            .chain(remote.into_iter().map(|remote| remote.name.clone()))
            .collect()
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
        let departures = &mut self.departures;
        let keeps_departures = self.keeps_departures;
        self.list.retain(|member| {
            if !ids.contains(&member.client.id()) {
                return true;
            }
            tracing::debug!(target: TRACER, room = %room, client = member.client.id(), name = %member.name, "leave");
            if let Some(backlog) = &member.backlog {
                // A member that leaves while loading frees what it reserved.
                member.client.unreserve(backlog.iter().map(|frame| frame.len()).sum());
            }
            if keeps_departures {
                departures.push(Departure {
                    client: member.client.id(),
                    name: member.name.clone(),
                });
            }
            false
        });
        self.store_count();
        self.presence_changed = true;
    }
}

/// The hash of a name's uniqueness key that members keep. The default
/// hasher's keys are fixed: the same key always has the same hash, and a
/// collision costs only one more comparison of the keys themselves.
fn key_hash(key: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Serializes a frame once, to be shared by every recipient.
pub(super) fn encode(frame: &ServerFrame) -> OutgoingFrame {
    OutgoingFrame::text(&frame.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(name: &str) -> DisplayName {
        DisplayName::parse(name).expect("valid")
    }

    fn remote(instance: InstanceId, who: &str) -> RemoteMember {
        RemoteMember {
            instance,
            name: name(who),
        }
    }

    fn cluster_room() -> (Members, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let room = RoomName::parse("lobby").expect("valid");
        (Members::new(room, Arc::clone(&count), true), count)
    }

    fn listed(members: &Members) -> Vec<String> {
        members.names().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn remote_members_are_listed_after_local_ones_and_take_their_names() {
        let (mut members, count) = cluster_room();
        let peer = "127.0.0.1:1".parse().expect("address");
        members.add_loading(ClientHandle::new(1, peer, 1 << 20), name("Ann"), 0);
        members.remote_joined(2, vec![name("Bob"), name("ANN"), name("Cid")]);
        // "ANN" is Ann's name: the broker gave it to one of them, and the
        // room learns which when it registers its members again.
        assert_eq!(listed(&members), ["Ann", "Bob", "Cid"]);
        assert!(members.name_taken(&name("ann")));
        assert_eq!(count.load(Ordering::Relaxed), 3);

        // A leave from an instance that no longer holds the name is stale.
        members.remote_left(3, &[name("Bob")]);
        members.remote_left(2, &[name("Cid")]);
        assert_eq!(listed(&members), ["Ann", "Bob"]);
        assert_eq!(count.load(Ordering::Relaxed), 2);
        // The broker gave Bob's name to someone here: he is gone.
        members.forget_remote(&name("BOB"));
        assert_eq!(listed(&members), ["Ann"]);
    }

    #[test]
    fn a_fresh_read_of_the_broker_replaces_remote_members_keeping_their_places() {
        let (mut members, _) = cluster_room();
        members.remote_joined(2, vec![name("Bob"), name("Cid")]);
        members.flush_presence();
        assert!(!members.presence_changed());

        members.replace_remote(vec![remote(2, "Dee"), remote(2, "Cid"), remote(2, "Bob")]);
        assert_eq!(listed(&members), ["Bob", "Cid", "Dee"]);
        assert!(members.presence_changed());
        members.flush_presence();

        // Nothing new: no presence to send.
        members.replace_remote(vec![remote(2, "Cid"), remote(2, "Bob"), remote(2, "Dee")]);
        assert!(!members.presence_changed());
        // Bob gone (his instance died while the broker was away).
        members.replace_remote(vec![remote(2, "Cid"), remote(2, "Dee")]);
        assert!(members.presence_changed());
        assert_eq!(listed(&members), ["Cid", "Dee"]);
    }

    #[test]
    fn local_members_who_leave_are_kept_as_departures_in_cluster_mode_only() {
        let peer = "127.0.0.1:1".parse().expect("address");
        let (mut members, _) = cluster_room();
        members.add_loading(ClientHandle::new(7, peer, 1 << 20), name("Ann"), 0);
        members.remove(&[7]);
        let departures = members.take_departures();
        assert_eq!(departures.len(), 1);
        assert_eq!(
            (departures[0].client, departures[0].name.as_str()),
            (7, "Ann")
        );
        assert!(members.take_departures().is_empty());

        let room = RoomName::parse("lobby").expect("valid");
        let mut single = Members::new(room, Arc::new(AtomicUsize::new(0)), false);
        single.add_loading(ClientHandle::new(8, peer, 1 << 20), name("Bob"), 0);
        single.remove(&[8]);
        assert!(single.take_departures().is_empty());
    }
}
