//! The instance's subscription to the broker: one pub/sub connection that
//! carries the messages of every room with members here, each to its room.
//!
//! Pub/sub delivers at most once, so it is only the fast path: a room that
//! sees a gap in the ids (it subscribed late, or the connection was lost)
//! reads the missing messages from the database (see `hub::room`). When
//! the connection is lost, every room is told (it tells its members), and
//! the bus reconnects by itself, subscribes again and tells the rooms to
//! catch up. A room that falls [`EVENTS_PER_ROOM`] events behind is caught
//! up the same way, so a busy room costs bounded memory.

use super::broker_error;
use super::events::Listener;
use super::keys;
use super::presence::{InstanceId, MemberTag};
use crate::store::StoreError;
use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName, UserId, Username};
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError};
use tokio_util::sync::CancellationToken;

/// Longest the bus waits for the broker to accept a connection or answer a
/// subscription before it counts the attempt as failed.
pub const BROKER_TIMEOUT: Duration = Duration::from_secs(2);

/// First pause before connecting to the broker again after losing it; it
/// doubles with each failed attempt up to [`RECONNECT_MAX_DELAY`].
pub const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);

/// Longest pause between attempts to reconnect to the broker.
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);

/// Most events from the bus that may wait for one room. A room this far
/// behind (a busy room on a loaded instance) misses what comes next; once
/// it has taken those waiting, it is told [`RoomEvent::BrokerBack`]: it
/// reads what it missed from the database and registers its members
/// again, as after an outage. So nothing is lost, and the memory of a room
/// that cannot keep up stays bounded.
pub const EVENTS_PER_ROOM: usize = 4_096;

/// What the bus tells a room.
#[derive(Debug, Clone)]
pub enum RoomEvent {
    /// A message posted to the room (on any instance), in id order.
    Message(ChatMessage),
    /// The connection to the broker is lost: nothing arrives until
    /// [`RoomEvent::BrokerBack`].
    BrokerLost,
    /// The connection is back, or the broker had taken this instance for
    /// dead: messages posted meanwhile must be read from the database,
    /// and the room's members registered again.
    BrokerBack,
    /// Members of another instance joined (or re-registered, renamed).
    MembersJoined(PresenceChange),
    /// Members of another instance left, or their instance died.
    MembersLeft(PresenceChange),
}

/// Members of one instance who joined or left a room.
#[derive(Debug, Clone, Deserialize)]
pub struct PresenceChange {
    /// The instance they are (or were) connected to.
    #[serde(deserialize_with = "instance_from_string")]
    pub instance: InstanceId,
    /// Each one's connection and person. (The field is `names`: the
    /// broker's scripts publish what a member is held as, see
    /// `presence::MemberTag`.)
    #[serde(rename = "names")]
    pub members: Vec<MemberTag>,
}

/// Identifies one subscription of a room, so that a retiring room does not
/// end the subscription of the room that replaced it.
pub type SubscriptionId = u64;

/// The instance's subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

/// The bus's way to one room's [`RoomEvents`].
#[derive(Clone)]
struct RoomSender {
    subscription: SubscriptionId,
    events: mpsc::Sender<RoomEvent>,
    /// Set when an event was dropped because the room was too far behind.
    lagged: Arc<AtomicBool>,
}

impl RoomSender {
    /// Queues `event` for the room without waiting (the bus serves every
    /// room): if the room is too far behind, the event is dropped and the
    /// room told later to catch up.
    fn send(&self, event: RoomEvent) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.lagged.store(true, Ordering::Release);
        }
    }
}

/// What the bus brings one room (see [`Bus::subscribe`]).
pub struct RoomEvents {
    events: mpsc::Receiver<RoomEvent>,
    lagged: Arc<AtomicBool>,
}

impl RoomEvents {
    /// The next event, or `None` once the subscription ended. After events
    /// were dropped (see [`EVENTS_PER_ROOM`]), brings those that waited,
    /// then [`RoomEvent::BrokerBack`]: the room's catching up must come
    /// after the older events, or they would undo what it reads. Cancel
    /// safe.
    pub async fn recv(&mut self) -> Option<RoomEvent> {
        match self.events.try_recv() {
            Ok(event) => return Some(event),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        // Events are dropped only while some wait, so the room gets here
        // after it has taken them.
        if self.lagged.swap(false, Ordering::AcqRel) {
            return Some(RoomEvent::BrokerBack);
        }
        self.events.recv().await
    }
}

/// A room's channel of at most `capacity` waiting events.
fn room_channel(subscription: SubscriptionId, capacity: usize) -> (RoomSender, RoomEvents) {
    let (events, receiver) = mpsc::channel(capacity);
    let lagged = Arc::new(AtomicBool::new(false));
    let sender = RoomSender {
        subscription,
        events,
        lagged: Arc::clone(&lagged),
    };
    (
        sender,
        RoomEvents {
            events: receiver,
            lagged,
        },
    )
}

struct BusInner {
    rooms: Mutex<HashMap<RoomName, RoomSender>>,
    /// Where changes published by other instances go (accounts, …), one
    /// listener per broker channel.
    listeners: Vec<Arc<dyn Listener>>,
    /// The way to subscribe while connected; `None` while the broker is lost.
    sink: Mutex<Option<PubSubSink>>,
    next_id: AtomicU64,
}

/// The body of a room channel's publication: `{"message": …}` (see
/// `publisher`), `{"joined": …}` or `{"left": …}` (see `presence`).
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Publication {
    Message(PublishedMessage),
    Joined(PresenceChange),
    Left(PresenceChange),
}

#[derive(Deserialize)]
struct PublishedMessage {
    id: MessageId,
    ts: u64,
    name: DisplayName,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    username: Option<Username>,
    text: MessageText,
    #[serde(default)]
    nonce: Option<Nonce>,
}

/// An instance number written as a string (see `scripts::CLAIM`).
fn instance_from_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<InstanceId, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

impl Bus {
    /// Connects to the broker and starts delivering to rooms until
    /// `shutdown` is cancelled.
    pub(super) async fn start(
        client: redis::Client,
        listeners: Vec<Arc<dyn Listener>>,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let bus = Self {
            inner: Arc::new(BusInner {
                rooms: Mutex::default(),
                listeners,
                sink: Mutex::default(),
                next_id: AtomicU64::new(1),
            }),
        };
        let stream = bus.connect(&client).await?;
        tokio::spawn(bus.clone().run(client, stream, shutdown));
        Ok(bus)
    }

    /// Subscribes `room`: from the moment this returns, every message
    /// published to it reaches the returned receiver.
    pub async fn subscribe(
        &self,
        room: &RoomName,
    ) -> Result<(SubscriptionId, RoomEvents), StoreError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = room_channel(id, EVENTS_PER_ROOM);
        self.inner.rooms().insert(room.clone(), sender);
        let sink = self.inner.sink().clone();
        let Some(mut sink) = sink else {
            self.unsubscribe(room, id);
            return Err(StoreError::broker("the broker is unreachable"));
        };
        match tokio::time::timeout(BROKER_TIMEOUT, sink.subscribe(keys::channel(room))).await {
            Ok(Ok(())) => Ok((id, receiver)),
            Ok(Err(err)) => {
                self.unsubscribe(room, id);
                Err(broker_error(err))
            }
            Err(_) => {
                self.unsubscribe(room, id);
                Err(StoreError::broker(
                    "the broker did not answer a subscription",
                ))
            }
        }
    }

    /// Ends subscription `id` of `room`, if it is still the room's.
    pub fn unsubscribe(&self, room: &RoomName, id: SubscriptionId) {
        {
            let mut rooms = self.inner.rooms();
            if rooms
                .get(room)
                .is_none_or(|current| current.subscription != id)
            {
                return;
            }
            rooms.remove(room);
        }
        if let Some(mut sink) = self.inner.sink().clone() {
            let channel = keys::channel(room);
            let room = room.clone();
            let bus = self.clone();
            tokio::spawn(async move {
                let _ =
                    tokio::time::timeout(BROKER_TIMEOUT, sink.unsubscribe(channel.clone())).await;
                // A room that started again meanwhile may have subscribed
                // before this went out, and lost its subscription to it:
                // subscribe again, and have the room read what it missed.
                let restarted = bus.inner.rooms().get(&room).cloned();
                if let Some(restarted) = restarted {
                    let _ = tokio::time::timeout(BROKER_TIMEOUT, sink.subscribe(channel)).await;
                    restarted.send(RoomEvent::BrokerBack);
                }
            });
        }
    }

    /// Connects the pub/sub connection and subscribes every room already
    /// known (after a loss).
    async fn connect(
        &self,
        client: &redis::Client,
    ) -> Result<redis::aio::PubSubStream, StoreError> {
        let pubsub = tokio::time::timeout(BROKER_TIMEOUT, client.get_async_pubsub())
            .await
            .map_err(|_| StoreError::broker("connecting to the broker timed out"))?
            .map_err(broker_error)?;
        let (mut sink, stream) = pubsub.split();
        let mut channels: Vec<String> = self.inner.rooms().keys().map(keys::channel).collect();
        channels.extend(
            self.inner
                .listeners
                .iter()
                .map(|listener| listener.channel().to_owned()),
        );
        tokio::time::timeout(BROKER_TIMEOUT, sink.subscribe(channels))
            .await
            .map_err(|_| StoreError::broker("the broker did not answer a subscription"))?
            .map_err(broker_error)?;
        *self.inner.sink() = Some(sink);
        Ok(stream)
    }

    async fn run(
        self,
        client: redis::Client,
        mut stream: redis::aio::PubSubStream,
        shutdown: CancellationToken,
    ) {
        loop {
            loop {
                let message = tokio::select! {
                    () = shutdown.cancelled() => return,
                    message = stream.next() => message,
                };
                match message {
                    Some(message) => self.route(&message),
                    None => break,
                }
            }
            *self.inner.sink() = None;
            tracing::error!("lost the connection to the cluster broker; reconnecting");
            self.tell_every_room(&RoomEvent::BrokerLost);
            let mut delay = RECONNECT_MIN_DELAY;
            stream = loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                match self.connect(&client).await {
                    Ok(stream) => break stream,
                    Err(err) => {
                        tracing::debug!(error = %err, "the cluster broker is still unreachable");
                        delay = (delay * 2).min(RECONNECT_MAX_DELAY);
                    }
                }
            };
            tracing::info!("reconnected to the cluster broker");
            self.tell_every_room(&RoomEvent::BrokerBack);
            for listener in &self.inner.listeners {
                listener.missed();
            }
        }
    }

    fn route(&self, message: &redis::Msg) {
        let channel = message.get_channel_name();
        if let Some(listener) = self
            .inner
            .listeners
            .iter()
            .find(|listener| listener.channel() == channel)
        {
            listener.received(message.get_payload_bytes());
            return;
        }
        let Some(room) = keys::room_of_channel(message.get_channel_name()) else {
            return;
        };
        let publication: Publication = match serde_json::from_slice(message.get_payload_bytes()) {
            Ok(publication) => publication,
            Err(err) => {
                // Never the body: it may hold a message's text.
                tracing::warn!(%room, error = %err, "ignored a publication that is not understood");
                return;
            }
        };
        let event = match publication {
            Publication::Message(published) => RoomEvent::Message(ChatMessage {
                room: room.clone(),
                id: published.id,
                name: published.name,
                user_id: published.user_id,
                username: published.username,
                text: published.text,
                ts: published.ts,
                nonce: published.nonce,
            }),
            Publication::Joined(change) => RoomEvent::MembersJoined(change),
            Publication::Left(change) => RoomEvent::MembersLeft(change),
        };
        if let Some(sender) = self.inner.rooms().get(&room) {
            sender.send(event);
        }
    }

    /// Tells every room to catch up and register its members again, as
    /// after a lost connection (see [`RoomEvent::BrokerBack`]).
    pub(super) fn resync_every_room(&self) {
        self.tell_every_room(&RoomEvent::BrokerBack);
    }

    fn tell_every_room(&self, event: &RoomEvent) {
        for sender in self.inner.rooms().values() {
            sender.send(event.clone());
        }
    }
}

impl BusInner {
    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomName, RoomSender>> {
        // Plain map operations: a panic cannot leave the map half-changed.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sink(&self) -> MutexGuard<'_, Option<PubSubSink>> {
        self.sink.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_publications_keep_every_digit_of_the_instance_number() {
        let body = r#"{"joined":{"instance":"120949013429028","names":["4 1 ann Ann","5 2 bob Bob Lee"]}}"#;
        let Ok(Publication::Joined(change)) = serde_json::from_str(body) else {
            panic!("a joined publication");
        };
        assert_eq!(change.instance, 120_949_013_429_028);
        let names: Vec<&str> = change
            .members
            .iter()
            .map(|tag| tag.person.display_name.as_str())
            .collect();
        assert_eq!(names, ["Ann", "Bob Lee"]);
        assert_eq!(change.members[1].holder, 5);
        let left = r#"{"left":{"instance":"1.2e14","names":["4 1 ann Ann"]}}"#;
        assert!(serde_json::from_str::<Publication>(left).is_err());
    }

    fn presence(name: &str) -> RoomEvent {
        RoomEvent::MembersJoined(PresenceChange {
            instance: 7,
            members: vec![MemberTag::parse(&format!("1 1 user {name}")).expect("a tag")],
        })
    }

    /// What `events` brings next, named; fails the test if nothing comes.
    async fn next(events: &mut RoomEvents) -> String {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("an event comes");
        match event {
            Some(RoomEvent::MembersJoined(change)) => {
                change.members[0].person.display_name.as_str().to_owned()
            }
            Some(RoomEvent::BrokerBack) => "back".to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_room_too_far_behind_catches_up_after_what_waited() {
        let (sender, mut events) = room_channel(1, 2);
        for name in ["Ann", "Bob", "Cid", "Dan"] {
            sender.send(presence(name));
        }
        // Cid and Dan found no room: dropped, and the room told to catch
        // up once it has taken Ann and Bob.
        assert_eq!(next(&mut events).await, "Ann");
        sender.send(presence("Eve")); // Room again: it waits as usual.
        assert_eq!(next(&mut events).await, "Bob");
        assert_eq!(next(&mut events).await, "Eve");
        assert_eq!(next(&mut events).await, "back");
        // Once.
        sender.send(presence("Fay"));
        assert_eq!(next(&mut events).await, "Fay");
        drop(sender);
        assert_eq!(next(&mut events).await, "None");
    }
}
