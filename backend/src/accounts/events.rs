//! What live connections must hear of when accounts change: a broadcast
//! channel of [`AccountEvent`]s. [`super::Accounts`] publishes each event
//! after the store committed the change it describes; the WebSocket side
//! (and, in cluster mode, the cluster) subscribes with
//! [`super::Accounts::subscribe`] and closes or updates its connections.
//!
//! A receiver that falls more than [`EVENT_CAPACITY`] events behind gets
//! `RecvError::Lagged`: it should then treat every connection's credential
//! as suspect and check it again with the store.

use crate::store::accounts::{ApiTokenId, SessionId};
use common::{DisplayName, UserId};
use tokio::sync::broadcast;

/// Events a subscriber may be behind before it lags.
pub const EVENT_CAPACITY: usize = 1024;

/// A change to accounts that open connections must act on. Serializable:
/// in cluster mode it travels to the other instances (`cluster::events`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountEvent {
    /// These sessions ended (signed out, ended from the list of sessions,
    /// a password change or reset, a deactivation, idle expiry): their
    /// sockets close.
    SessionsEnded(Vec<SessionId>),
    /// The account was deactivated: every socket of it closes (its API
    /// tokens stop working; its sessions' end is published too).
    AccountDeactivated(UserId),
    /// The account's display name changed: the rooms it is in show the
    /// new one.
    ProfileChanged {
        /// Whose.
        user: UserId,
        /// The new display name.
        display_name: DisplayName,
    },
    /// The API token was revoked: its sockets close.
    ApiTokenRevoked(ApiTokenId),
}

/// The sending side, shared by every clone of [`super::Accounts`].
#[derive(Debug, Clone)]
pub(super) struct Events(broadcast::Sender<AccountEvent>);

impl Events {
    pub(super) fn new() -> Self {
        Self(broadcast::channel(EVENT_CAPACITY).0)
    }

    /// Publishes `event` to the current subscribers (none is fine).
    pub(super) fn publish(&self, event: AccountEvent) {
        let _ = self.0.send(event);
    }

    /// Publishes the end of `sessions`, if there are any.
    pub(super) fn sessions_ended(&self, sessions: Vec<SessionId>) {
        if !sessions.is_empty() {
            self.publish(AccountEvent::SessionsEnded(sessions));
        }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<AccountEvent> {
        self.0.subscribe()
    }
}
