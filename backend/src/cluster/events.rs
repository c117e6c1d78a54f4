//! Changes between instances, on one broker channel per kind: an instance
//! publishes each event its own use cases made (the accounts'
//! [`AccountEvent`]s on [`ACCOUNTS`], the rooms' on [`ROOMS`]) and every
//! other instance hears it, so a session ended on one instance closes its
//! sockets on all of them, a rename shows in every room, and a ban takes
//! the room away from the person's every connection.
//!
//! A publication is `{"instance": "<n>", "event": …}`; an instance passes
//! its own by. What is published while an instance is cut off from the
//! broker does not reach it: when it is back, its listeners hear
//! [`Heard::Missed`] and read again from the database what the events
//! would have told (every open connection's credential, for accounts).

use super::presence::InstanceId;
use crate::accounts::AccountEvent;
use redis::aio::ConnectionManager;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

/// The broker's channel of account changes.
pub const ACCOUNTS: &str = "chat:accounts";

/// The broker's channel of room changes ([`crate::rooms::RoomEvent`]).
pub const ROOMS: &str = "chat:rooms";

/// Events from other instances a listener may be behind before it hears
/// [`Heard::Missed`] (as `RecvError::Lagged`).
pub const HEARD_CAPACITY: usize = 1024;

/// Publications of one channel waiting for the broker. One task sends
/// them in order (a mute then an unmute must not arrive the other way
/// round); past this many the newest is dropped with a warning, as when
/// the broker is lost, and made good the same way.
pub const PUBLISH_QUEUE: usize = 1024;

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard<E> {
    /// Another instance made this change.
    Event(E),
    /// Changes may have been missed (the broker was out of reach).
    Missed,
}

#[derive(Serialize, Deserialize)]
struct Publication<E> {
    /// As a string: the broker's scripts and JSON readers keep every digit.
    instance: String,
    event: E,
}

/// What an event must be to cross instances.
pub trait Event: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}
impl<E: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> Event for E {}

/// This instance's end of one channel. Cheap to clone.
#[derive(Clone)]
pub struct EventChannel<E> {
    name: &'static str,
    /// To the task that publishes, in order.
    outbox: mpsc::Sender<String>,
    instance: InstanceId,
    heard: broadcast::Sender<Heard<E>>,
}

/// The account changes' channel.
pub type AccountChannel = EventChannel<AccountEvent>;

impl<E: Event> EventChannel<E> {
    pub(super) fn new(
        name: &'static str,
        connection: ConnectionManager,
        instance: InstanceId,
    ) -> Self {
        let (outbox, queued) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publish_in_order(name, connection, queued));
        Self {
            name,
            outbox,
            instance,
            heard: broadcast::channel(HEARD_CAPACITY).0,
        }
    }

    /// Publishes `event`, made on this instance, to the others. A
    /// publication lost to a broker outage is made good by their reading
    /// again once they are back ([`Heard::Missed`]).
    pub fn publish(&self, event: &E) {
        let body = Publication {
            instance: self.instance.to_string(),
            event: event.clone(),
        };
        let Ok(body) = serde_json::to_string(&body) else {
            return; // Numbers and strings always encode.
        };
        if self.outbox.try_send(body).is_err() {
            tracing::warn!(
                channel = self.name,
                "too many changes wait for the broker; one is not published"
            );
        }
    }

    /// What other instances publish from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Heard<E>> {
        self.heard.subscribe()
    }
}

/// Sends `channel`'s publications to the broker one after the other, in
/// the order they were made, until every [`EventChannel`] clone is gone.
async fn publish_in_order(
    channel: &'static str,
    mut connection: ConnectionManager,
    mut queued: mpsc::Receiver<String>,
) {
    while let Some(body) = queued.recv().await {
        let published: Result<(), _> = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(body)
            .query_async(&mut connection)
            .await;
        if let Err(err) = published {
            tracing::warn!(channel, error = %err, "cannot publish a change to the cluster");
        }
    }
}

/// What a follower of one kind of change hears: the changes its own
/// instance makes, each published to the other instances as it is heard
/// (in cluster mode), and those the others publish.
pub struct Changes<E> {
    local: broadcast::Receiver<E>,
    channel: Option<EventChannel<E>>,
    remote: Option<broadcast::Receiver<Heard<E>>>,
}

impl<E: Event> Changes<E> {
    /// Changes from `local`, and in cluster mode from `channel`.
    pub fn new(local: broadcast::Receiver<E>, channel: Option<EventChannel<E>>) -> Self {
        let remote = channel.as_ref().map(EventChannel::subscribe);
        Self {
            local,
            channel,
            remote,
        }
    }

    /// The next change, or [`Heard::Missed`] when some may have been
    /// missed (the follower fell behind, or the broker was lost); `None`
    /// once the instance's own source is gone.
    pub async fn next(&mut self) -> Option<Heard<E>> {
        tokio::select! {
            event = self.local.recv() => match event {
                Ok(event) => {
                    if let Some(channel) = &self.channel {
                        channel.publish(&event);
                    }
                    Some(Heard::Event(event))
                }
                Err(RecvError::Lagged(_)) => Some(Heard::Missed),
                Err(RecvError::Closed) => None,
            },
            event = next_heard(&mut self.remote) => match event {
                Ok(heard) => Some(heard),
                Err(RecvError::Lagged(_)) => Some(Heard::Missed),
                Err(RecvError::Closed) => None,
            },
        }
    }
}

/// The next change heard from other instances on `remote`, if this
/// instance is in a cluster; never, if it is not.
async fn next_heard<E: Clone>(
    remote: &mut Option<broadcast::Receiver<Heard<E>>>,
) -> Result<Heard<E>, RecvError> {
    match remote {
        Some(remote) => remote.recv().await,
        None => std::future::pending().await,
    }
}

/// A channel as the bus sees it: a name to subscribe, and where its
/// publications go.
pub(super) trait Listener: Send + Sync {
    /// The broker's channel.
    fn channel(&self) -> &'static str;
    /// A publication the bus received on it.
    fn received(&self, payload: &[u8]);
    /// The bus was cut off from the broker and is back.
    fn missed(&self);
}

impl<E: Event> Listener for EventChannel<E> {
    fn channel(&self) -> &'static str {
        self.name
    }

    fn received(&self, payload: &[u8]) {
        let publication: Publication<E> = match serde_json::from_slice(payload) {
            Ok(publication) => publication,
            Err(err) => {
                tracing::warn!(channel = self.name, error = %err, "ignored a change that is not understood");
                return;
            }
        };
        if publication.instance != self.instance.to_string() {
            let _ = self.heard.send(Heard::Event(publication.event));
        }
    }

    fn missed(&self) {
        let _ = self.heard.send(Heard::Missed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::DisplayName;

    #[test]
    fn a_publication_keeps_the_event_and_the_whole_instance_number() {
        let event = AccountEvent::ProfileChanged {
            user: 7,
            display_name: DisplayName::parse("Ann Lee").expect("valid"),
        };
        let body = Publication {
            instance: 120_949_013_429_028_u64.to_string(),
            event: event.clone(),
        };
        let text = serde_json::to_string(&body).expect("encodes");
        let back: Publication<AccountEvent> = serde_json::from_str(&text).expect("decodes");
        assert_eq!(back.instance, "120949013429028");
        assert_eq!(back.event, event);
    }
}
