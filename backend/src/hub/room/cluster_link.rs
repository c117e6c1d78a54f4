//! A room's link to the cluster (cluster mode only): its subscription to
//! the room's channel, and the ordering of what arrives on it.
//!
//! The broker publishes a room's messages in id order, but pub/sub may
//! lose some (the room subscribed after they were published, or the
//! connection to the broker dropped). A [`Sequencer`] passes messages on
//! strictly in id order, one after the other; at a gap it keeps what came
//! after it, and the room reads the missing ones from the room's log.

use crate::cluster::{Bus, Cluster, RedisStore, RoomEvent, SubscriptionId};
use crate::store::{StoreError, StoreFuture};
use common::{ChatMessage, MessageId, RoomName};
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// Most messages one read of the log brings while catching up; a longer
/// gap takes several reads.
pub const CATCH_UP_BATCH: usize = 1_000;

/// What [`ClusterLink::next`] brings.
pub(super) enum LinkEvent {
    /// An event from the bus.
    Bus(RoomEvent),
    /// A read of missed messages ended.
    Read(Result<Vec<ChatMessage>, StoreError>),
}

/// A room's subscription and what it is catching up on.
pub(super) struct ClusterLink {
    store: RedisStore,
    bus: Bus,
    subscription: SubscriptionId,
    events: mpsc::UnboundedReceiver<RoomEvent>,
    sequencer: Sequencer,
    /// The read of missing messages under way, if any.
    catch_up: Option<StoreFuture<Vec<ChatMessage>>>,
}

impl ClusterLink {
    /// Subscribes to `room`'s channel. Messages with ids up to the one the
    /// room then starts from (see [`ClusterLink::start_after`]) are not
    /// passed on.
    pub(super) async fn subscribe(cluster: &Cluster, room: &RoomName) -> Result<Self, StoreError> {
        let (subscription, events) = cluster.bus.subscribe(room).await?;
        Ok(Self {
            store: cluster.store.clone(),
            bus: cluster.bus.clone(),
            subscription,
            events,
            sequencer: Sequencer::new(1),
            catch_up: None,
        })
    }

    /// The room has every message up to `last` (it read them at start).
    pub(super) fn start_after(&mut self, last: MessageId) {
        self.sequencer = Sequencer::new(last + 1);
    }

    /// Posts a message through the broker.
    pub(super) fn post(&self, draft: crate::cluster::Draft) -> StoreFuture<crate::cluster::Posted> {
        self.store.post(draft)
    }

    /// The next event from the bus, or the end of a read of the log.
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
        tokio::select! {
            // The bus keeps the sender while the room is subscribed.
            Some(event) = self.events.recv() => LinkEvent::Bus(event),
            read = read => LinkEvent::Read(read),
        }
    }

    /// The messages that may be broadcast after `message` arrived, in
    /// order; starts reading the log if it reveals a gap.
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
            self.catch_up = Some(self.store.read_after(room, after, CATCH_UP_BATCH));
        }
    }

    /// The messages that may be broadcast after a read of the log brought
    /// `read`; reads on if the read was full or a gap remains.
    pub(super) fn caught_up(
        &mut self,
        room: &RoomName,
        read: Vec<ChatMessage>,
    ) -> Vec<ChatMessage> {
        let full = read.len() == CATCH_UP_BATCH;
        let ready = self.sequencer.fill(read);
        if full || self.sequencer.has_gap() {
            self.catch_up(room);
        }
        ready
    }

    /// Whether no read of the log is under way.
    pub(super) fn is_idle(&self) -> bool {
        self.catch_up.is_none()
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
            return Vec::new(); // Already passed on (read from the log).
        }
        self.waiting.insert(message.id, message);
        self.drain()
    }

    /// Takes messages read from the log, oldest first.
    pub(super) fn fill(&mut self, read: Vec<ChatMessage>) -> Vec<ChatMessage> {
        for message in read {
            if message.id >= self.next {
                self.waiting.entry(message.id).or_insert(message);
            }
        }
        self.drain()
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
    use super::*;
    use common::{DisplayName, MessageText};

    fn message(id: MessageId) -> ChatMessage {
        ChatMessage {
            room: RoomName::parse("lobby").expect("valid"),
            id,
            name: DisplayName::parse("ann").expect("valid"),
            text: MessageText::parse(format!("message {id}")).expect("valid"),
            ts: 0,
            nonce: None,
        }
    }

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
    fn a_gap_holds_later_messages_until_the_log_fills_it() {
        let mut sequencer = Sequencer::new(1);
        assert!(sequencer.offer(message(3)).is_empty());
        assert!(sequencer.offer(message(4)).is_empty());
        assert!(sequencer.has_gap());
        // The log brings 1..=3; 3 came twice, and is passed on once.
        let ready = sequencer.fill(vec![message(1), message(2), message(3)]);
        assert_eq!(ids(&ready), [1, 2, 3, 4]);
        assert!(!sequencer.has_gap());
        assert_eq!(ids(&sequencer.offer(message(5))), [5]);
    }

    #[test]
    fn a_partial_fill_keeps_the_rest_waiting() {
        let mut sequencer = Sequencer::new(1);
        assert!(sequencer.offer(message(10)).is_empty());
        assert_eq!(ids(&sequencer.fill(vec![message(1), message(2)])), [1, 2]);
        assert!(sequencer.has_gap());
        assert_eq!(
            ids(&sequencer.fill((3..=9).map(message).collect())),
            [3, 4, 5, 6, 7, 8, 9, 10]
        );
    }
}
