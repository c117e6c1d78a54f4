//! The instance's one way to publish the messages it stored, in order.
//!
//! A message is published after its commit to the database, on its room's
//! channel, for the other instances (this one passes it to its room at
//! once). Publications sent as separate commands could pass each other in
//! the connection's bounded queue, so every publication of the instance
//! goes through one task, in the order the rooms made them: it sends what
//! has gathered as one pipeline (one write, run by the broker in order).
//!
//! Pub/sub is only the fast path: a publication that is lost (the broker is
//! away) leaves a gap that the other instances fill from the database when
//! a later message of the room, or the broker's return, reveals it.

use super::keys;
use common::ChatMessage;
use redis::aio::ConnectionManager;
use serde::Serialize;
use tokio::sync::mpsc;

/// Most publications one pipeline carries; more wait for the next. Bounds
/// how long one pipeline keeps the broker from everything else.
pub const PUBLISHES_PER_PIPELINE: usize = 256;

/// The body of a message's publication, `{"message": …}`, as the bus reads
/// it (`bus::Publication`): the room is the channel's.
#[derive(Serialize)]
struct Publication<'a> {
    message: PublishedMessage<'a>,
}

#[derive(Serialize)]
struct PublishedMessage<'a> {
    id: u64,
    ts: u64,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// The way to the instance's publishing task. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    queue: mpsc::UnboundedSender<(String, String)>,
}

impl Publisher {
    /// Starts the publishing task; it ends when every `Publisher` is
    /// dropped.
    pub(super) fn start(connection: ConnectionManager) -> Self {
        // Unbounded: publications are bounded upstream (a room takes no
        // more commands past `MAX_PENDING_WRITES` posts on their way).
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(connection, pending));
        Self { queue }
    }

    /// Queues `message` for publication behind every one made before it.
    pub fn publish(&self, message: &ChatMessage) {
        let body = Publication {
            message: PublishedMessage {
                id: message.id,
                ts: message.ts,
                name: message.name.as_str(),
                user_id: message.user_id,
                username: message.username.as_ref().map(|username| username.as_str()),
                text: message.text.as_str(),
                nonce: message.nonce.as_ref().map(|nonce| nonce.as_str()),
            },
        };
        let Ok(body) = serde_json::to_string(&body) else {
            return; // Strings and numbers always encode.
        };
        let _ = self.queue.send((keys::channel(&message.room), body));
    }
}

async fn run(
    mut connection: ConnectionManager,
    mut queue: mpsc::UnboundedReceiver<(String, String)>,
) {
    let mut batch = Vec::with_capacity(PUBLISHES_PER_PIPELINE);
    while queue.recv_many(&mut batch, PUBLISHES_PER_PIPELINE).await > 0 {
        let mut pipeline = redis::pipe();
        for (channel, body) in batch.drain(..) {
            pipeline.cmd("PUBLISH").arg(channel).arg(body).ignore();
        }
        if let Err(err) = pipeline.query_async::<()>(&mut connection).await {
            // The other instances read what they missed from the database.
            tracing::debug!(error = %err, "messages not published; other instances will read them");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publication_is_what_the_bus_reads() {
        let body = Publication {
            message: PublishedMessage {
                id: 7,
                ts: 1_000,
                name: "Ann",
                user_id: Some(3),
                username: Some("ann"),
                text: "hi \"there\"",
                nonce: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&body).expect("encodes"),
            r#"{"message":{"id":7,"ts":1000,"name":"Ann","user_id":3,"username":"ann","text":"hi \"there\""}}"#
        );
    }
}
