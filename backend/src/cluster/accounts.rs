//! Account changes between instances: an instance publishes each
//! [`AccountEvent`] its own [`crate::accounts::Accounts`] made on the
//! broker's channel [`CHANNEL`], and every other instance hears it, so a
//! session ended on one instance closes its sockets on all of them, and a
//! rename shows in every room.
//!
//! A publication is `{"instance": "<n>", "event": …}`; an instance passes
//! its own by. What is published while an instance is cut off from the
//! broker does not reach it: when it is back, its listeners hear
//! [`Heard::Missed`] and check every open connection's credential with the
//! database instead.

use super::presence::InstanceId;
use crate::accounts::AccountEvent;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The broker's channel of account changes.
pub const CHANNEL: &str = "chat:accounts";

/// Events from other instances a listener may be behind before it hears
/// [`Heard::Missed`] (as `RecvError::Lagged`).
pub const HEARD_CAPACITY: usize = 1024;

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Another instance changed an account.
    Event(AccountEvent),
    /// Changes may have been missed (the broker was out of reach).
    Missed,
}

#[derive(Serialize, Deserialize)]
struct Publication {
    /// As a string: the broker's scripts and JSON readers keep every digit.
    instance: String,
    event: AccountEvent,
}

/// This instance's end of the channel. Cheap to clone.
#[derive(Clone)]
pub struct AccountChannel {
    connection: ConnectionManager,
    instance: InstanceId,
    heard: broadcast::Sender<Heard>,
}

impl AccountChannel {
    pub(super) fn new(connection: ConnectionManager, instance: InstanceId) -> Self {
        Self {
            connection,
            instance,
            heard: broadcast::channel(HEARD_CAPACITY).0,
        }
    }

    /// Publishes `event`, made on this instance, to the others. A
    /// publication lost to a broker outage is made good by their check of
    /// every credential once they are back.
    pub fn publish(&self, event: &AccountEvent) {
        let body = Publication {
            instance: self.instance.to_string(),
            event: event.clone(),
        };
        let Ok(body) = serde_json::to_string(&body) else {
            return; // Numbers and strings always encode.
        };
        let mut connection = self.connection.clone();
        tokio::spawn(async move {
            let published: Result<(), _> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(body)
                .query_async(&mut connection)
                .await;
            if let Err(err) = published {
                tracing::warn!(error = %err, "cannot publish an account change to the cluster");
            }
        });
    }

    /// What other instances publish from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.heard.subscribe()
    }

    /// A publication the bus received on [`CHANNEL`].
    pub(super) fn received(&self, payload: &[u8]) {
        let publication: Publication = match serde_json::from_slice(payload) {
            Ok(publication) => publication,
            Err(err) => {
                tracing::warn!(error = %err, "ignored an account change that is not understood");
                return;
            }
        };
        if publication.instance != self.instance.to_string() {
            let _ = self.heard.send(Heard::Event(publication.event));
        }
    }

    /// The bus was cut off from the broker and is back.
    pub(super) fn missed(&self) {
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
        let back: Publication = serde_json::from_str(&text).expect("decodes");
        assert_eq!(back.instance, "120949013429028");
        assert_eq!(back.event, event);
    }
}
