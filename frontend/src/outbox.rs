//! The offline queue: messages a person wrote that the server has not
//! confirmed yet.
//!
//! Every message gets a [`Nonce`] when it is written. It stays here, shown as
//! pending, until a `message` frame (live or in a history) carries the same
//! nonce back. A `send` on a socket that already died can look successful,
//! so nothing is dropped on the strength of having been sent: after a
//! reconnect, whatever is still here and was not sent on the new connection
//! is sent again, with the same nonce, once the room's history (which holds
//! any copy the server did store) has been read.

use crate::saved::SavedPending;
use common::{MessageText, Nonce};

/// Where a pending message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingState {
    /// Waiting for a connection (never sent, or sent on one that died).
    Queued,
    /// Sent on the connection with this number; waiting for the echo.
    Sent {
        /// The connection it was sent on.
        connection: u64,
    },
    /// The server refused it; the text says why. Not sent again unless the
    /// person asks ([`Outbox::retry`]).
    Failed(String),
}

/// A message written but not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Matches the confirmation to this message.
    pub nonce: Nonce,
    /// What was written.
    pub text: MessageText,
    /// Whether it is waiting, on its way, or refused.
    pub state: PendingState,
}

/// The pending messages of one room, in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    items: Vec<Pending>,
}

impl Outbox {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a new message.
    pub fn push(&mut self, nonce: Nonce, text: MessageText) {
        self.items.push(Pending {
            nonce,
            text,
            state: PendingState::Queued,
        });
    }

    /// The server confirmed the message with this nonce; it leaves the
    /// queue. Returns whether it was one of ours.
    pub fn confirm(&mut self, nonce: &Nonce) -> bool {
        let before = self.items.len();
        self.items.retain(|item| &item.nonce != nonce);
        self.items.len() != before
    }

    /// The server refused the message with this nonce. Returns whether it
    /// was one of ours.
    pub fn fail(&mut self, nonce: &Nonce, reason: impl Into<String>) -> bool {
        match self.items.iter_mut().find(|item| &item.nonce == nonce) {
            Some(item) => {
                item.state = PendingState::Failed(reason.into());
                true
            }
            None => false,
        }
    }

    /// Puts a message the server turned away for now (a rate limit) back
    /// in line without asking the person. Returns whether it was one of ours.
    pub fn requeue(&mut self, nonce: &Nonce) -> bool {
        self.retry(nonce)
    }

    /// Marks every message that went out on `connection` and is still
    /// unconfirmed as failed, for `reason`: used when that connection was
    /// closed because of what it sent, so it must not be sent again by
    /// itself.
    pub fn fail_sent_on(&mut self, connection: u64, reason: &str) {
        for item in &mut self.items {
            if item.state == (PendingState::Sent { connection }) {
                item.state = PendingState::Failed(reason.to_owned());
            }
        }
    }

    /// Puts a refused message back in line, to go out with the next
    /// [`Outbox::take_unsent`].
    pub fn retry(&mut self, nonce: &Nonce) -> bool {
        match self.items.iter_mut().find(|item| &item.nonce == nonce) {
            Some(item) => {
                item.state = PendingState::Queued;
                true
            }
            None => false,
        }
    }

    /// Drops a message the person gave up on.
    pub fn discard(&mut self, nonce: &Nonce) -> bool {
        self.confirm(nonce)
    }

    /// The messages to send on `connection` now, oldest first: every one
    /// not yet sent on it and not refused. They are marked as sent on it.
    pub fn take_unsent(&mut self, connection: u64) -> Vec<(Nonce, MessageText)> {
        self.items
            .iter_mut()
            .filter(|item| match item.state {
                PendingState::Queued => true,
                PendingState::Sent { connection: sent } => sent != connection,
                PendingState::Failed(_) => false,
            })
            .map(|item| {
                item.state = PendingState::Sent { connection };
                (item.nonce.clone(), item.text.clone())
            })
            .collect()
    }

    /// The queue as kept across pages ([`crate::saved`]): whether each
    /// message went out does not matter to the next page, which sends it
    /// again (with its nonce) unless it was refused.
    pub fn saved(&self) -> Vec<SavedPending> {
        self.items
            .iter()
            .map(|item| SavedPending {
                nonce: item.nonce.clone(),
                text: item.text.clone(),
                failed: match &item.state {
                    PendingState::Failed(reason) => Some(reason.clone()),
                    PendingState::Queued | PendingState::Sent { .. } => None,
                },
            })
            .collect()
    }

    /// The queue an earlier page kept ([`Outbox::saved`]): queued, or
    /// refused with its reason.
    pub fn restored(saved: Vec<SavedPending>) -> Self {
        Self {
            items: saved
                .into_iter()
                .map(|kept| Pending {
                    nonce: kept.nonce,
                    text: kept.text,
                    state: kept
                        .failed
                        .map_or(PendingState::Queued, PendingState::Failed),
                })
                .collect(),
        }
    }

    /// The pending messages, oldest first.
    pub fn items(&self) -> &[Pending] {
        &self.items
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(n: &str) -> Nonce {
        Nonce::parse(n).expect("valid nonce")
    }

    fn text(t: &str) -> MessageText {
        MessageText::parse(t).expect("valid text")
    }

    fn queue(entries: &[&str]) -> Outbox {
        let mut outbox = Outbox::new();
        for entry in entries {
            outbox.push(nonce(entry), text(&format!("text of {entry}")));
        }
        outbox
    }

    fn nonces(sent: &[(Nonce, MessageText)]) -> Vec<&str> {
        sent.iter().map(|(nonce, _)| nonce.as_str()).collect()
    }

    #[test]
    fn queued_messages_go_out_in_order_once_per_connection() {
        let mut outbox = queue(&["a", "b"]);
        let sent = outbox.take_unsent(1);
        assert_eq!(nonces(&sent), ["a", "b"]);
        assert_eq!(sent[0].1.as_str(), "text of a");
        assert!(
            outbox.take_unsent(1).is_empty(),
            "not twice on one connection"
        );
        assert_eq!(outbox.items().len(), 2, "still pending until confirmed");
    }

    #[test]
    fn unconfirmed_messages_are_sent_again_on_the_next_connection() {
        let mut outbox = queue(&["a", "b"]);
        outbox.take_unsent(1);
        assert!(outbox.confirm(&nonce("a")));
        assert_eq!(nonces(&outbox.take_unsent(2)), ["b"]);
    }

    #[test]
    fn a_confirmation_removes_only_its_own_message() {
        let mut outbox = queue(&["a", "b", "c"]);
        assert!(outbox.confirm(&nonce("b")));
        assert!(!outbox.confirm(&nonce("b")), "a second echo is not ours");
        assert!(!outbox.confirm(&nonce("zzz")));
        let left: Vec<&str> = outbox.items().iter().map(|p| p.nonce.as_str()).collect();
        assert_eq!(left, ["a", "c"]);
    }

    #[test]
    fn refused_messages_wait_for_the_person() {
        let mut outbox = queue(&["a", "b"]);
        outbox.take_unsent(1);
        assert!(outbox.fail(&nonce("a"), "you are sending too fast"));
        assert_eq!(
            outbox.items()[0].state,
            PendingState::Failed("you are sending too fast".to_owned())
        );
        assert_eq!(
            nonces(&outbox.take_unsent(2)),
            ["b"],
            "not resent by itself"
        );
        assert!(outbox.retry(&nonce("a")));
        assert_eq!(nonces(&outbox.take_unsent(2)), ["a"]);
        assert!(outbox.discard(&nonce("b")));
        assert_eq!(outbox.items().len(), 1);
        assert!(!outbox.fail(&nonce("nope"), "x"));
        assert!(!outbox.retry(&nonce("nope")));
    }

    #[test]
    fn a_kept_queue_comes_back_queued_except_what_was_refused() {
        let mut outbox = queue(&["a", "b", "c"]);
        outbox.take_unsent(1);
        outbox.push(nonce("d"), text("not sent yet"));
        outbox.fail(&nonce("b"), "too fast");
        let mut back = Outbox::restored(outbox.saved());
        let states: Vec<_> = back.items().iter().map(|p| p.state.clone()).collect();
        assert_eq!(
            states,
            [
                PendingState::Queued,
                PendingState::Failed("too fast".to_owned()),
                PendingState::Queued,
                PendingState::Queued,
            ]
        );
        assert_eq!(back.items()[3].text.as_str(), "not sent yet");
        // The next connection sends them again with their own nonces.
        assert_eq!(nonces(&back.take_unsent(1)), ["a", "c", "d"]);
    }

    #[test]
    fn messages_of_a_connection_closed_for_them_are_not_resent() {
        let mut outbox = queue(&["a"]);
        outbox.take_unsent(1);
        outbox.push(nonce("b"), text("later"));
        outbox.fail_sent_on(1, "too big");
        assert!(matches!(outbox.items()[0].state, PendingState::Failed(_)));
        assert_eq!(outbox.items()[1].state, PendingState::Queued);
        assert_eq!(nonces(&outbox.take_unsent(2)), ["b"]);
    }
}
