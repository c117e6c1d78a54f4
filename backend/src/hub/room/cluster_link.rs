//! A room's link to the cluster (cluster mode only): its subscription to
//! the room's channel, and the ordering of what arrives on it.
//!
//! Each instance publishes the messages it stored after their commit, so
//! those of one room may arrive out of id order (two instances posting at
//! once), or not at all (the room subscribed after they were published, or
//! the connection to the broker dropped). A [`Sequencer`] passes messages
//! on strictly in id order, one after the other; at a gap it keeps what
//! came after it, and the room reads the missing ones from the database,
//! which has them: a message is published only after its commit, and a
//! room's ids commit in order. Ids the database does not have (a database
//! restored from an older backup) are passed over, not waited for.
//!
//! The link also carries the room's part in cluster-wide presence (see
//! `cluster::presence`): a join waits until the joiner's name is claimed
//! in the broker, names of members who left are released, and after the
//! broker comes back the room's members are registered again.

use super::handle::JoinCommand;
use super::sleep_until_due;
use crate::cluster::{
    Bus, Claim, Cluster, Presence, Publisher, Resync, RoomEvent, RoomEvents, SubscriptionId,
};
use crate::hub::client::ClientId;
use crate::store::{MessageStore, StoreError, StoreFuture};
use common::{ChatMessage, MessageId, Person, RoomName};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Most messages one read of the database brings while catching up; a
/// longer gap takes several reads.
pub const CATCH_UP_BATCH: usize = 1_000;

/// Pause before a read of missed messages, or registering the members
/// again, that failed is tried again (the first command on a connection to
/// a broker that just came back may fail).
pub const LINK_RETRY_DELAY: Duration = Duration::from_millis(500);

/// What failed and is to be tried again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Retry {
    /// Reading missed messages.
    pub(super) catch_up: bool,
    /// Registering the members again.
    pub(super) resync: bool,
}

/// What [`ClusterLink::next`] brings.
pub(super) enum LinkEvent {
    /// An event from the bus.
    Bus(RoomEvent),
    /// A read of missed messages ended.
    Read(Result<Vec<ChatMessage>, StoreError>),
    /// The claim of a joiner's name ended: `Ok(true)` if the name is its.
    Claimed(Box<JoinCommand>, Result<bool, StoreError>),
    /// Registering the room's members again ended; with the presence
    /// changes that arrived meanwhile (see [`ClusterLink::resync`]).
    Resynced(Result<Resync, StoreError>, Vec<RoomEvent>),
    /// What failed (see [`ClusterLink::retry_later`]) is due again.
    Retry(Retry),
}

type PendingClaim =
    Pin<Box<dyn Future<Output = (Box<JoinCommand>, Result<bool, StoreError>)> + Send>>;

/// A room's subscription and what it is catching up on.
pub(super) struct ClusterLink {
    store: Arc<dyn MessageStore>,
    publisher: Publisher,
    bus: Bus,
    subscription: SubscriptionId,
    events: RoomEvents,
    sequencer: Sequencer,
    /// The read of missing messages under way, if any.
    catch_up: Option<StoreFuture<Vec<ChatMessage>>>,
    presence: Presence,
    /// Joins waiting for their names to be claimed.
    claims: FuturesUnordered<PendingClaim>,
    /// Registering the members again, and the presence changes that came
    /// meanwhile.
    resync: Option<(StoreFuture<Resync>, Vec<RoomEvent>)>,
    /// What to try again, and when.
    retry: Option<(Instant, Retry)>,
}

impl ClusterLink {
    /// Subscribes to `room`'s channel. Messages with ids up to the one the
    /// room then starts from (see [`ClusterLink::start_after`]) are not
    /// passed on.
    pub(super) async fn subscribe(
        cluster: &Cluster,
        store: Arc<dyn MessageStore>,
        room: &RoomName,
    ) -> Result<Self, StoreError> {
        let (subscription, events) = cluster.bus.subscribe(room).await?;
        Ok(Self {
            store,
            publisher: cluster.publisher.clone(),
            bus: cluster.bus.clone(),
            subscription,
            events,
            sequencer: Sequencer::new(1),
            catch_up: None,
            presence: cluster.presence.clone(),
            claims: FuturesUnordered::new(),
            resync: None,
            retry: None,
        })
    }

    /// The members of the room on other instances, as the broker has them.
    pub(super) fn remote_members(
        &self,
        room: &RoomName,
    ) -> StoreFuture<Vec<crate::cluster::RemoteMember>> {
        self.presence.remote_members(room)
    }

    /// The instance this room runs on.
    pub(super) fn instance(&self) -> crate::cluster::InstanceId {
        self.presence.instance()
    }

    /// Starts registering `join` in the broker; the join goes on
    /// when [`LinkEvent::Claimed`] comes.
    pub(super) fn claim(&mut self, room: &RoomName, join: Box<JoinCommand>) {
        let claim = Claim {
            holder: join.client.id(),
            person: Person::clone(&join.client.person()),
        };
        let claimed = self.presence.claim(room, vec![claim]);
        self.claims.push(Box::pin(async move {
            let result = claimed.await.map(|refused| refused.is_empty());
            (join, result)
        }));
    }

    /// Releases a member who left, in the background: a release that
    /// fails (the broker is away) is made good by the next
    /// [`ClusterLink::resync`], or by the instance's end.
    pub(super) fn release(&self, room: &RoomName, holder: ClientId, person: &Person) {
        let release = self.presence.release(room, holder, person);
        let room = room.clone();
        tokio::spawn(async move {
            if let Err(err) = release.await {
                tracing::warn!(%room, error = %err, "cannot release a member's name in the cluster");
            }
        });
    }

    /// Starts registering the room's `local` members again and reading the
    /// members of other instances. Presence changes arriving meanwhile must
    /// be passed to [`ClusterLink::note_presence`]: they come back with the
    /// result, to be applied again on top of what was read.
    pub(super) fn resync(&mut self, room: &RoomName, local: Vec<Claim>) {
        let noted = self
            .resync
            .take()
            .map(|(_, noted)| noted)
            .unwrap_or_default();
        self.resync = Some((self.presence.resync(room, local), noted));
    }

    /// Tries `failed` again after [`LINK_RETRY_DELAY`] (with anything else
    /// already waiting to be tried again).
    pub(super) fn retry_later(&mut self, failed: Retry) {
        let (due, mut retry) = self
            .retry
            .unwrap_or((Instant::now() + LINK_RETRY_DELAY, Retry::default()));
        retry.catch_up |= failed.catch_up;
        retry.resync |= failed.resync;
        self.retry = Some((due, retry));
    }

    /// Keeps a presence change for the resync under way, if any.
    pub(super) fn note_presence(&mut self, event: &RoomEvent) {
        if let Some((_, noted)) = &mut self.resync {
            noted.push(event.clone());
        }
    }

    /// The room has every message up to `last` (it read them at start).
    pub(super) fn start_after(&mut self, last: MessageId) {
        self.sequencer = Sequencer::new(last + 1);
    }

    /// A message this instance stored: published for the other
    /// instances, and what may be broadcast here now, in order.
    pub(super) fn stored(&mut self, room: &RoomName, message: ChatMessage) -> Vec<ChatMessage> {
        self.publisher.publish(&message);
        self.arrived(room, message)
    }

    /// The next event from the bus, or the end of a read of the database.
    pub(super) async fn next(&mut self) -> LinkEvent {
        let catch_up = &mut self.catch_up;
        let read = async {
            match catch_up.as_mut() {
                Some(read) => {
                    let result = read.await;
                    *catch_up = None;
                    result
                }
                None => std::future::pending().await,
            }
        };
        let resync = &mut self.resync;
        let resynced = async {
            match resync.as_mut() {
                Some((read, _)) => {
                    let result = read.await;
                    let noted = resync.take().map(|(_, noted)| noted).unwrap_or_default();
                    (result, noted)
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // The bus keeps the sender while the room is subscribed.
            Some(event) = self.events.recv() => LinkEvent::Bus(event),
            read = read => LinkEvent::Read(read),
            Some((join, result)) = self.claims.next(), if !self.claims.is_empty() => {
                LinkEvent::Claimed(join, result)
            }
            (result, noted) = resynced => LinkEvent::Resynced(result, noted),
            () = sleep_until_due(self.retry.map(|(due, _)| due)), if self.retry.is_some() => {
                LinkEvent::Retry(self.retry.take().map(|(_, retry)| retry).unwrap_or_default())
            }
        }
    }

    /// The messages that may be broadcast after `message` arrived, in
    /// order; starts reading the database if it reveals a gap.
    pub(super) fn arrived(&mut self, room: &RoomName, message: ChatMessage) -> Vec<ChatMessage> {
        let ready = self.sequencer.offer(message);
        if self.sequencer.has_gap() {
            self.catch_up(room);
        }
        ready
    }

    /// Starts reading the messages after the last one passed on (after the
    /// broker came back, everything since may have been missed).
    pub(super) fn catch_up(&mut self, room: &RoomName) {
        if self.catch_up.is_none() {
            let after = self.sequencer.next - 1;
            self.catch_up = Some(self.store.messages_after(room, after, CATCH_UP_BATCH));
        }
    }

    /// The messages that may be broadcast after a read of the database brought
    /// `read`; reads on if the read was full or a gap remains.
    pub(super) fn caught_up(
        &mut self,
        room: &RoomName,
        read: Vec<ChatMessage>,
    ) -> Vec<ChatMessage> {
        let full = read.len() == CATCH_UP_BATCH;
        let (ready, passed_over) = self.sequencer.fill(read);
        if passed_over > 0 {
            tracing::warn!(
                %room,
                passed_over,
                "messages missed here are not in the database (restored from an older backup?); members here go on without them"
            );
        }
        if full || self.sequencer.has_gap() {
            self.catch_up(room);
        }
        ready
    }

    /// Whether no read of the database, claim or resync is under way or due.
    pub(super) fn is_idle(&self) -> bool {
        self.catch_up.is_none()
            && self.claims.is_empty()
            && self.resync.is_none()
            && self.retry.is_none()
    }

    /// Ends the subscription (the room retires).
    pub(super) fn unsubscribe(&self, room: &RoomName) {
        self.bus.unsubscribe(room, self.subscription);
    }
}

/// Passes messages on in id order without gaps.
#[derive(Debug)]
pub(super) struct Sequencer {
    /// The id of the next message to pass on.
    next: MessageId,
    /// Messages that came after a gap, by id.
    waiting: BTreeMap<MessageId, ChatMessage>,
}

impl Sequencer {
    pub(super) fn new(next: MessageId) -> Self {
        Self {
            next,
            waiting: BTreeMap::new(),
        }
    }

    /// Takes a message from the bus: what may be passed on now, in order.
    pub(super) fn offer(&mut self, message: ChatMessage) -> Vec<ChatMessage> {
        if message.id < self.next {
            return Vec::new(); // Already passed on (read from the database).
        }
        self.waiting.insert(message.id, message);
        self.drain()
    }

    /// Takes messages read from the database, oldest first: all that it held
    /// after an id below [`Sequencer::next`]. Returns those that may be
    /// passed on now, and how many ids were passed over.
    ///
    /// Each id is in the database from the moment it is assigned, before
    /// later ones commit, so ids missing below the first one read are not
    /// there (a database restored from an older backup): they are passed
    /// over, as waiting for them would never end.
    pub(super) fn fill(&mut self, read: Vec<ChatMessage>) -> (Vec<ChatMessage>, MessageId) {
        let database_lacks_next = read.first().is_some_and(|first| first.id > self.next);
        for message in read {
            if message.id >= self.next {
                self.waiting.entry(message.id).or_insert(message);
            }
        }
        let mut passed_over = 0;
        if database_lacks_next {
            if let Some(&first) = self.waiting.keys().next() {
                passed_over = first - self.next;
                self.next = first;
            }
        }
        (self.drain(), passed_over)
    }

    /// Whether messages wait behind a missing one.
    pub(super) fn has_gap(&self) -> bool {
        !self.waiting.is_empty()
    }

    fn drain(&mut self) -> Vec<ChatMessage> {
        let mut ready = Vec::new();
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            ready.push(entry.remove());
            self.next += 1;
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::message;
    use super::*;

    fn ids(messages: &[ChatMessage]) -> Vec<MessageId> {
        messages.iter().map(|message| message.id).collect()
    }

    #[test]
    fn messages_in_order_pass_at_once_and_old_ones_are_dropped() {
        let mut sequencer = Sequencer::new(5);
        assert!(sequencer.offer(message(4)).is_empty());
        assert_eq!(ids(&sequencer.offer(message(5))), [5]);
        assert_eq!(ids(&sequencer.offer(message(6))), [6]);
        assert!(sequencer.offer(message(6)).is_empty());
        assert!(!sequencer.has_gap());
    }

    #[test]
    fn a_gap_holds_later_messages_until_the_database_fills_it() {
        let mut sequencer = Sequencer::new(1);
        assert!(sequencer.offer(message(3)).is_empty());
        assert!(sequencer.offer(message(4)).is_empty());
        assert!(sequencer.has_gap());
        // The database brings 1..=3; 3 came twice, and is passed on once.
        let (ready, passed_over) = sequencer.fill(vec![message(1), message(2), message(3)]);
        assert_eq!((ids(&ready), passed_over), (vec![1, 2, 3, 4], 0));
        assert!(!sequencer.has_gap());
        assert_eq!(ids(&sequencer.offer(message(5))), [5]);
    }

    #[test]
    fn a_partial_fill_keeps_the_rest_waiting() {
        let mut sequencer = Sequencer::new(1);
        assert!(sequencer.offer(message(10)).is_empty());
        assert_eq!(ids(&sequencer.fill(vec![message(1), message(2)]).0), [1, 2]);
        assert!(sequencer.has_gap());
        assert_eq!(
            ids(&sequencer.fill((3..=9).map(message).collect()).0),
            [3, 4, 5, 6, 7, 8, 9, 10]
        );
    }

    #[test]
    fn ids_the_database_lacks_are_passed_over() {
        // The database lacks 2 to 6: the read after 1 starts at 7.
        let mut sequencer = Sequencer::new(2);
        assert!(sequencer.offer(message(9)).is_empty());
        let (ready, passed_over) = sequencer.fill(vec![message(7), message(8)]);
        assert_eq!((ids(&ready), passed_over), (vec![7, 8, 9], 5));
        assert!(!sequencer.has_gap());
        assert_eq!(ids(&sequencer.offer(message(10))), [10]);
    }

    #[test]
    fn a_message_from_the_bus_below_the_first_one_read_is_passed_on() {
        // 4 came by the bus, but the read finds only what follows 5.
        let mut sequencer = Sequencer::new(2);
        assert!(sequencer.offer(message(4)).is_empty());
        let (ready, passed_over) = sequencer.fill(vec![message(6)]);
        assert_eq!((ids(&ready), passed_over), (vec![4], 2));
        // 5 is neither in the database nor here yet: it is waited for.
        assert!(sequencer.has_gap());
    }

    #[test]
    fn a_read_that_starts_at_the_next_id_passes_nothing_over() {
        let mut sequencer = Sequencer::new(3);
        assert!(sequencer.offer(message(8)).is_empty());
        let (ready, passed_over) = sequencer.fill(vec![message(3), message(5)]);
        assert_eq!((ids(&ready), passed_over), (vec![3], 0));
        assert!(sequencer.has_gap());
    }
}
