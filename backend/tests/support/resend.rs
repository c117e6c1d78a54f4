//! A client that does what the protocol asks of a reliable one: it numbers
//! its messages with nonces, and after any fault it reconnects, re-joins
//! with `since` = the last id it saw, marks what the history shows as
//! confirmed, and resends what is still unconfirmed, with the same nonces.
//! The tests cut its connection (or kill the server) at random points.

use super::Client;
use common::{MessageId, ServerFrame};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Longest a reconnect keeps retrying a connection refused (the server
/// is restarting).
pub const RECONNECT_PATIENCE: Duration = Duration::from_secs(20);

/// Pause before connecting again after a connection was refused.
const CONNECT_RETRY: Duration = Duration::from_millis(20);

/// A small deterministic random number generator (xorshift64*), so that a
/// failing run can be replayed from the seed it prints.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CHAT_TEST_SEED` if set, else from the clock.
    pub fn from_env() -> Self {
        let seed = std::env::var("CHAT_TEST_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |elapsed| elapsed.as_nanos() as u64)
            });
        eprintln!("random seed: CHAT_TEST_SEED={seed}");
        Self(seed.max(1))
    }

    /// A number in `range`.
    pub fn between(&mut self, range: std::ops::RangeInclusive<usize>) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let random = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        range.start() + (random % (range.end() - range.start() + 1) as u64) as usize
    }
}

/// The text of message number `n`.
pub fn text_of(n: usize) -> String {
    format!("message {n}")
}

/// The nonce of message number `n`.
pub fn nonce_of(n: usize) -> String {
    format!("n{n}")
}

/// A writer of `total` numbered messages to one room.
pub struct ResendingWriter {
    pub room: String,
    pub name: String,
    pub total: usize,
    /// Messages the server confirmed (their `message` was seen).
    pub confirmed: BTreeSet<usize>,
    /// The next message never sent yet.
    pub next_new: usize,
    /// The last message id seen in the room.
    pub last_seen: Option<MessageId>,
    /// How many times the writer (re)connected.
    pub connections: usize,
    /// Sends repeated after a reconnect.
    pub resent: usize,
    /// The writer's API token, once it has one: every server of the test
    /// shares the database, so it works across restarts and instances.
    token: Option<String>,
}

impl ResendingWriter {
    pub fn new(room: &str, name: &str, total: usize) -> Self {
        Self {
            room: room.to_owned(),
            name: name.to_owned(),
            total,
            confirmed: BTreeSet::new(),
            next_new: 0,
            last_seen: None,
            connections: 0,
            resent: 0,
            token: None,
        }
    }

    pub fn done(&self) -> bool {
        self.confirmed.len() == self.total
    }

    /// Connects to `url` (signed in as the writer) and joins with `since`,
    /// retrying while the server restarts. Returns the client and the
    /// history of its `joined` frame (already processed).
    pub async fn reconnect(&mut self, url: &str) -> (Client, Vec<common::ChatMessage>) {
        let started = Instant::now();
        loop {
            assert!(
                started.elapsed() < RECONNECT_PATIENCE,
                "could not rejoin within {RECONNECT_PATIENCE:?}"
            );
            let token = match &self.token {
                Some(token) => token.clone(),
                None => {
                    let addr = super::accounts::addr_of(url).expect("a server's URL");
                    let token = super::accounts::token_for(addr, &self.name).await;
                    self.token = Some(token.clone());
                    token
                }
            };
            let Ok(mut client) = Client::try_connect_quietly(url, &token).await else {
                tokio::time::sleep(CONNECT_RETRY).await;
                continue;
            };
            let since = match self.last_seen {
                Some(id) => format!(r#","since":{id}"#),
                None => String::new(),
            };
            let join = format!(r#"{{"type":"join","room":"{}"{since}}}"#, self.room);
            if client.try_send_text(&join).await.is_err() {
                continue;
            }
            match client.try_recv_quietly(super::FRAME_TIMEOUT).await {
                Some(ServerFrame::Joined { history, .. }) => {
                    for message in &history {
                        self.saw(message);
                    }
                    self.connections += 1;
                    return (client, history);
                }
                // The server went away meanwhile: connect again.
                None => continue,
                Some(other) => panic!("unexpected answer to a join: {other:?}"),
            }
        }
    }

    /// Records a message of the room: confirms it if it is one of ours.
    pub fn saw(&mut self, message: &common::ChatMessage) {
        self.last_seen = Some(message.id);
        if message.name.as_str() != self.name {
            return;
        }
        if let Some(n) = message
            .nonce
            .as_ref()
            .and_then(|nonce| nonce.as_str().strip_prefix('n'))
            .and_then(|n| n.parse().ok())
        {
            self.confirmed.insert(n);
        }
    }

    /// Sends every unconfirmed message sent before (the same nonce), then
    /// up to `new` never sent, in order. Returns how many frames it sent.
    pub async fn send_some(&mut self, client: &mut Client, new: usize) -> usize {
        let unconfirmed = self.unconfirmed();
        let fresh = self.take_new(new);
        self.send_all(client, unconfirmed.into_iter().chain(fresh))
            .await
    }

    /// Sends every unconfirmed message sent before, with its nonce: what a
    /// client does once it has joined again. Returns how many frames it sent.
    pub async fn resend_unconfirmed(&mut self, client: &mut Client) -> usize {
        let unconfirmed = self.unconfirmed();
        self.send_all(client, unconfirmed.into_iter()).await
    }

    /// Sends up to `new` messages never sent, in order. Returns how many
    /// frames it sent.
    pub async fn send_new(&mut self, client: &mut Client, new: usize) -> usize {
        let fresh = self.take_new(new);
        self.send_all(client, fresh).await
    }

    /// The messages sent before and not confirmed yet, counted as resent.
    fn unconfirmed(&mut self) -> Vec<usize> {
        let unconfirmed: Vec<usize> = (0..self.next_new)
            .filter(|n| !self.confirmed.contains(n))
            .collect();
        self.resent += unconfirmed.len();
        unconfirmed
    }

    /// The next `new` messages never sent, counted as sent from now on.
    fn take_new(&mut self, new: usize) -> std::ops::Range<usize> {
        let fresh = self.next_new..(self.next_new + new).min(self.total);
        self.next_new = fresh.end;
        fresh
    }

    /// Sends `numbers` until the connection fails; returns how many it sent.
    async fn send_all(&self, client: &mut Client, numbers: impl Iterator<Item = usize>) -> usize {
        let mut sent = 0;
        for n in numbers {
            let frame = format!(
                r#"{{"type":"send","room":"{}","text":"{}","nonce":"{}"}}"#,
                self.room,
                text_of(n),
                nonce_of(n)
            );
            if client.try_send_text(&frame).await.is_err() {
                break; // The connection is gone; the next round resends.
            }
            sent += 1;
        }
        sent
    }

    /// Reads up to `count` frames (or until the connection fails or
    /// `wait` passes without one), recording confirmations.
    pub async fn read_some(&mut self, client: &mut Client, count: usize, wait: Duration) {
        for _ in 0..count {
            match client.try_recv_quietly(wait).await {
                Some(ServerFrame::Message(message)) => self.saw(&message),
                Some(_) => {}
                None => return,
            }
        }
    }
}
