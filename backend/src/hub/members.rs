//! The members of one room and the fan-out to them. Owned by the room's
//! task, like everything else of the room.
//!
//! A member is one connection; a person (an account) with three tabs in the
//! room is three members, and is listed once: member lists and presence
//! are about people, by user id. A person joins the list with their first
//! connection in the room and leaves it with their last.
//!
//! Presence is sent as deltas (who joined, who left, who changed their
//! display name), and changes are gathered until the room calls
//! [`Members::flush_presence`] (a delay that grows with the room): a storm
//! of joins costs one small frame per member per burst, not the whole list
//! per join (which made joins O(members²)). A joiner's `joined` frame lists
//! the people as last announced, so the next delta continues exactly from it.
//!
//! In cluster mode the list also holds the members of the room on other
//! instances (see `cluster::presence`), by instance and connection: they
//! are listed, but frames go to local members only. Local members who leave
//! are kept as departures until the room releases them in the broker.

use super::client::{ClientHandle, ClientId};
use super::TRACER;
use crate::cluster::{InstanceId, RemoteMember};
use crate::websocket::OutgoingFrame;
use common::{DisplayName, MessageId, Person, RoomName, ServerFrame, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A member of the room: one connection.
pub(super) struct Member {
    pub(super) client: ClientHandle,
    /// Who it is signed in as, as the room shows them (shared with the
    /// connection's own copy until a rename).
    pub(super) person: Arc<Person>,
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
    /// Whether a message reaches (or reached) the member by broadcast
    /// rather than in its history: it then needs no other answer to a
    /// `send` repeated with the message's nonce.
    pub(super) fn receives_by_broadcast(&self, id: MessageId) -> bool {
        id > self.history_end
    }

    /// Whether the member has its `joined` frame (its history is loaded).
    pub(super) fn is_live(&self) -> bool {
        self.backlog.is_none()
    }
}

/// A member of the room on another instance (cluster mode).
struct Remote {
    person: Arc<Person>,
    /// When it was first listed here: remote members are listed in this
    /// order, after the local ones.
    listed: u64,
}

/// A local member who left, whom the room is to release in the broker
/// (cluster mode).
pub(super) struct Departure {
    pub(super) client: ClientId,
    pub(super) person: Arc<Person>,
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
    /// The people live members were last told about (their `joined` frame
    /// or the last presence delta), in order of joining. Shared with the
    /// members (an idle room keeps no second copy of anyone's names).
    announced: Vec<Arc<Person>>,
    /// Whether members joined, left or were renamed since `announced`.
    presence_changed: bool,
    /// Members on other instances, by instance and connection (cluster mode).
    remote: HashMap<(InstanceId, ClientId), Remote>,
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

    /// Lists (or updates) members of another instance who joined, each
    /// its connection there (`holder`) and its person.
    pub(super) fn remote_joined(&mut self, instance: InstanceId, members: Vec<(ClientId, Person)>) {
        for (holder, person) in members {
            match self.remote.get_mut(&(instance, holder)) {
                Some(remote) if *remote.person == person => continue,
                Some(remote) => remote.person = Arc::new(person),
                None => {
                    let listed = self.next_listed;
                    self.next_listed += 1;
                    let person = Arc::new(person);
                    self.remote
                        .insert((instance, holder), Remote { person, listed });
                }
            }
            self.presence_changed = true;
        }
        self.store_count();
    }

    /// Removes members of another instance who left.
    pub(super) fn remote_left(&mut self, instance: InstanceId, holders: &[ClientId]) {
        for holder in holders {
            if self.remote.remove(&(instance, *holder)).is_some() {
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
            let key = (member.instance, member.holder);
            let listed = match before.remove(&key) {
                Some(old) => {
                    self.presence_changed |= *old.person != member.person;
                    old.listed
                }
                None => {
                    self.presence_changed = true;
                    self.next_listed += 1;
                    self.next_listed - 1
                }
            };
            let remote = Remote {
                person: Arc::new(member.person),
                listed,
            };
            self.remote.insert(key, remote);
        }
        self.presence_changed |= !before.is_empty();
        self.store_count();
    }

    /// Shows `user`'s new display name on their local members; returns
    /// whether the room has any.
    pub(super) fn rename(&mut self, user: UserId, display_name: &DisplayName) -> bool {
        let mut renamed = false;
        for member in &mut self.list {
            if member.person.user_id == user && member.person.display_name != *display_name {
                let mut person = Person::clone(&member.person);
                person.display_name = display_name.clone();
                member.person = Arc::new(person);
                renamed = true;
            }
        }
        self.presence_changed |= renamed;
        renamed
    }

    /// The local members who left since the last call (cluster mode).
    pub(super) fn take_departures(&mut self) -> Vec<Departure> {
        std::mem::take(&mut self.departures)
    }

    /// Adds a member whose history is still loading and ends at
    /// `history_end`; the others are told at the next
    /// [`Members::flush_presence`].
    pub(super) fn add_loading(&mut self, client: ClientHandle, history_end: MessageId) {
        let person = client.person();
        tracing::debug!(target: TRACER, room = %self.room, client = client.id(), user = person.user_id, "join");
        self.list.push(Member {
            client,
            person,
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

    /// The people live members were last told of, and `joiner` (at the
    /// end, unless they are already there): the member list of a `joined`
    /// frame, which the next presence delta continues from.
    pub(super) fn announced_with(&self, joiner: &Person) -> Vec<Person> {
        let mut people: Vec<Person> = self
            .announced
            .iter()
            .map(|person| Person::clone(person))
            .collect();
        if !people.iter().any(|person| person.user_id == joiner.user_id) {
            people.push(joiner.clone());
        }
        people
    }

    /// The people in the room, each once: those with local members in
    /// order of joining, then those of other instances in the order they
    /// were listed here.
    pub(super) fn people(&self) -> Vec<Arc<Person>> {
        let mut remote: Vec<&Remote> = self.remote.values().collect();
        remote.sort_unstable_by_key(|remote| remote.listed);
        let mut seen = HashSet::new();
        self.list
            .iter()
            .map(|member| &member.person)
            .chain(remote.into_iter().map(|remote| &remote.person))
            .filter(|person| seen.insert(person.user_id))
            .cloned()
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
            let now = self.people();
            let before: HashMap<UserId, &Person> = self
                .announced
                .iter()
                .map(|person| (person.user_id, &**person))
                .collect();
            let after: HashSet<UserId> = now.iter().map(|person| person.user_id).collect();
            let mut joined = Vec::new();
            let mut updated = Vec::new();
            for person in &now {
                match before.get(&person.user_id) {
                    None => joined.push(Person::clone(person)),
                    Some(known) if *known != &**person => updated.push(Person::clone(person)),
                    Some(_) => {}
                }
            }
            let left: Vec<UserId> = self
                .announced
                .iter()
                .map(|person| person.user_id)
                .filter(|user| !after.contains(user))
                .collect();
            self.announced = now;
            if joined.is_empty() && left.is_empty() && updated.is_empty() {
                continue;
            }
            let frame = encode(&ServerFrame::Presence {
                room: self.room.clone(),
                joined,
                left,
                updated,
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
            tracing::debug!(target: TRACER, room = %room, client = member.client.id(), user = member.person.user_id, "leave");
            if let Some(backlog) = &member.backlog {
                // A member that leaves while loading frees what it reserved.
                member.client.unreserve(backlog.iter().map(|frame| frame.len()).sum());
            }
            if keeps_departures {
                departures.push(Departure {
                    client: member.client.id(),
                    person: Arc::clone(&member.person),
                });
            }
            false
        });
        self.store_count();
        self.presence_changed = true;
    }
}

/// Serializes a frame once, to be shared by every recipient.
pub(crate) fn encode(frame: &ServerFrame) -> OutgoingFrame {
    OutgoingFrame::text(&frame.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::client::tests::client_of;

    fn person(user_id: UserId, name: &str) -> Person {
        Person {
            user_id,
            username: common::Username::parse(name.to_lowercase()).expect("valid"),
            display_name: DisplayName::parse(name).expect("valid"),
        }
    }

    fn remote(instance: InstanceId, holder: ClientId, user_id: UserId, who: &str) -> RemoteMember {
        RemoteMember {
            instance,
            holder,
            person: person(user_id, who),
        }
    }

    fn cluster_room() -> (Members, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let room = RoomName::parse("lobby").expect("valid");
        (Members::new(room, Arc::clone(&count), true), count)
    }

    fn listed(members: &Members) -> Vec<String> {
        members
            .people()
            .iter()
            .map(|person| person.display_name.to_string())
            .collect()
    }

    #[test]
    fn a_person_with_several_connections_is_listed_once_and_leaves_with_the_last() {
        let (mut members, count) = cluster_room();
        members.add_loading(client_of(1, person(10, "Ann")), 0);
        members.add_loading(client_of(2, person(10, "Ann")), 0);
        members.remote_joined(7, vec![(5, person(10, "Ann")), (6, person(11, "Bob"))]);
        assert_eq!(listed(&members), ["Ann", "Bob"]);
        // Connections are counted: the room list shows how busy a room is.
        assert_eq!(count.load(Ordering::Relaxed), 4);
        members.flush_presence();

        members.remove(&[1]);
        members.remote_left(7, &[5]);
        assert_eq!(listed(&members), ["Ann", "Bob"]);
        members.remove(&[2]);
        assert_eq!(listed(&members), ["Bob"]);
    }

    #[test]
    fn presence_tells_who_joined_left_and_was_renamed() {
        let (mut members, _) = cluster_room();
        members.add_loading(client_of(1, person(10, "Ann")), 0);
        members.remote_joined(7, vec![(6, person(11, "Bob"))]);
        members.flush_presence();
        assert_eq!(members.announced.len(), 2);

        assert!(members.rename(10, &DisplayName::parse("Annie").expect("valid")));
        assert!(!members.rename(12, &DisplayName::parse("Cid").expect("valid")));
        members.remote_left(7, &[6]);
        members.remote_joined(7, vec![(8, person(12, "Cid"))]);
        assert!(members.presence_changed());
        let annie = Person {
            display_name: DisplayName::parse("Annie").expect("valid"),
            ..person(10, "Ann")
        };
        assert_eq!(
            members.people(),
            [Arc::new(annie), Arc::new(person(12, "Cid"))]
        );
    }

    #[test]
    fn a_fresh_read_of_the_broker_replaces_remote_members_keeping_their_places() {
        let (mut members, _) = cluster_room();
        members.remote_joined(2, vec![(1, person(11, "Bob")), (2, person(12, "Cid"))]);
        members.flush_presence();
        assert!(!members.presence_changed());

        members.replace_remote(vec![
            remote(2, 3, 13, "Dee"),
            remote(2, 2, 12, "Cid"),
            remote(2, 1, 11, "Bob"),
        ]);
        assert_eq!(listed(&members), ["Bob", "Cid", "Dee"]);
        assert!(members.presence_changed());
        members.flush_presence();

        // Nothing new: no presence to send.
        members.replace_remote(vec![
            remote(2, 2, 12, "Cid"),
            remote(2, 1, 11, "Bob"),
            remote(2, 3, 13, "Dee"),
        ]);
        assert!(!members.presence_changed());
        // Bob gone (his instance died while the broker was away).
        members.replace_remote(vec![remote(2, 2, 12, "Cid"), remote(2, 3, 13, "Dee")]);
        assert!(members.presence_changed());
        assert_eq!(listed(&members), ["Cid", "Dee"]);
    }

    #[test]
    fn local_members_who_leave_are_kept_as_departures_in_cluster_mode_only() {
        let (mut members, _) = cluster_room();
        members.add_loading(client_of(7, person(10, "Ann")), 0);
        members.remove(&[7]);
        let departures = members.take_departures();
        assert_eq!(departures.len(), 1);
        assert_eq!(
            (departures[0].client, departures[0].person.user_id),
            (7, 10)
        );
        assert!(members.take_departures().is_empty());

        let room = RoomName::parse("lobby").expect("valid");
        let mut single = Members::new(room, Arc::new(AtomicUsize::new(0)), false);
        single.add_loading(client_of(8, person(11, "Bob")), 0);
        single.remove(&[8]);
        assert!(single.take_departures().is_empty());
    }
}
