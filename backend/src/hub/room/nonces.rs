//! The nonces a room remembers, so that a `send` repeated by a client that
//! did not see its confirmation (its connection broke) is not stored twice.
//!
//! A nonce is remembered per author name (its uniqueness key), for
//! [`DEDUP_WINDOW`] after the message was accepted and for at most the
//! room's last [`DEDUP_MAX_NONCES`] nonces. The room reloads them from the
//! store when it starts, so the window holds across restarts and crashes.

use super::ClientId;
use common::{MessageId, Nonce};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// How long after a message was accepted a repeated `send` of it (same
/// room, same name, same nonce) is still recognised. Longer than any
/// reconnect: a client that has been away for longer joins with `since`,
/// sees its message in the history and does not resend it.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Most nonces one room remembers; the oldest are forgotten first. Bounds
/// the memory of a busy room (about 150 bytes each) even within the window.
pub const DEDUP_MAX_NONCES: usize = 10_000;

/// Who sent a nonce: the author's name key and the nonce.
pub(super) type NonceKey = (String, Nonce);

/// What the room knows of a nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    /// Its message is on its way to the database. Clients that repeat it
    /// meanwhile wait with it: they get its broadcast, or its failure.
    Pending { repeated_by: Vec<ClientId> },
    /// Its message is stored under this id.
    Stored(MessageId),
}

/// The remembered nonces of one room.
#[derive(Debug, Default)]
pub(super) struct RecentNonces {
    /// Each key with what is known and when it was accepted (ms).
    seen: HashMap<NonceKey, (Seen, u64)>,
    /// Keys in the order they were accepted, with their timestamps (ms).
    order: VecDeque<(NonceKey, u64)>,
}

impl RecentNonces {
    /// What is known of `key`, if anything.
    pub(super) fn get_mut(&mut self, key: &NonceKey) -> Option<&mut Seen> {
        self.seen.get_mut(key).map(|(seen, _)| seen)
    }

    /// Remembers `key`, accepted at `ts` (ms since the epoch), and forgets
    /// the oldest nonces past the window or the cap.
    pub(super) fn insert(&mut self, key: NonceKey, seen: Seen, ts: u64) {
        self.forget_before(ts.saturating_sub(window_ms()));
        while self.order.len() >= DEDUP_MAX_NONCES {
            self.forget_oldest();
        }
        self.order.push_back((key.clone(), ts));
        self.seen.insert(key, (seen, ts));
    }

    /// Marks a pending nonce as stored; returns who repeated it meanwhile.
    pub(super) fn stored(&mut self, key: &NonceKey, id: MessageId) -> Vec<ClientId> {
        match self.get_mut(key) {
            Some(seen) => match std::mem::replace(seen, Seen::Stored(id)) {
                Seen::Pending { repeated_by } => repeated_by,
                Seen::Stored(_) => Vec::new(),
            },
            None => Vec::new(),
        }
    }

    /// Forgets a pending nonce whose message could not be stored, so that
    /// sending it again stores it; returns who repeated it meanwhile.
    pub(super) fn failed(&mut self, key: &NonceKey) -> Vec<ClientId> {
        match self.seen.remove(key) {
            Some((Seen::Pending { repeated_by }, _)) => repeated_by,
            Some(stored @ (Seen::Stored(_), _)) => {
                // Not ours to forget (cannot happen: a key is pending once).
                self.seen.insert(key.clone(), stored);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// How many nonces are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.seen.len()
    }

    fn forget_before(&mut self, oldest_kept_ts: u64) {
        while self
            .order
            .front()
            .is_some_and(|(_, ts)| *ts < oldest_kept_ts)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((key, ts)) = self.order.pop_front() {
            // The key may have been forgotten after a failure and accepted
            // again later: only the entry of this acceptance goes. Pending
            // keys are the newest (at most `MAX_PENDING_WRITES` of them), so
            // one is never the oldest of a full window; were it so,
            // forgetting it only means its repeaters learn of a failure
            // from their own resend.
            if self
                .seen
                .get(&key)
                .is_some_and(|(_, seen_ts)| *seen_ts == ts)
            {
                self.seen.remove(&key);
            }
        }
    }
}

/// [`DEDUP_WINDOW`] in milliseconds.
pub(crate) fn window_ms() -> u64 {
    DEDUP_WINDOW.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, nonce: &str) -> NonceKey {
        (name.to_owned(), Nonce::parse(nonce).expect("valid nonce"))
    }

    #[test]
    fn a_nonce_is_pending_then_stored_and_repeaters_are_returned() {
        let mut nonces = RecentNonces::default();
        nonces.insert(
            key("ann", "n1"),
            Seen::Pending {
                repeated_by: vec![],
            },
            1_000,
        );
        match nonces.get_mut(&key("ann", "n1")) {
            Some(Seen::Pending { repeated_by }) => repeated_by.push(7),
            other => panic!("expected pending, got {other:?}"),
        }
        assert_eq!(nonces.stored(&key("ann", "n1"), 42), vec![7]);
        assert_eq!(
            nonces.get_mut(&key("ann", "n1")),
            Some(&mut Seen::Stored(42))
        );
        // Another author may use the same nonce.
        assert_eq!(nonces.get_mut(&key("bob", "n1")), None);
    }

    #[test]
    fn a_failed_nonce_is_forgotten_so_it_can_be_sent_again() {
        let mut nonces = RecentNonces::default();
        nonces.insert(
            key("ann", "n1"),
            Seen::Pending {
                repeated_by: vec![3],
            },
            1_000,
        );
        assert_eq!(nonces.failed(&key("ann", "n1")), vec![3]);
        assert_eq!(nonces.get_mut(&key("ann", "n1")), None);
    }

    #[test]
    fn nonces_older_than_the_window_are_forgotten() {
        let mut nonces = RecentNonces::default();
        nonces.insert(key("ann", "old"), Seen::Stored(1), 1_000);
        nonces.insert(key("ann", "recent"), Seen::Stored(2), 1_000 + window_ms());
        assert!(nonces.get_mut(&key("ann", "old")).is_some());
        nonces.insert(key("ann", "new"), Seen::Stored(3), 1_001 + window_ms());
        assert_eq!(nonces.get_mut(&key("ann", "old")), None);
        assert!(nonces.get_mut(&key("ann", "recent")).is_some());
    }

    #[test]
    fn at_most_the_cap_is_remembered() {
        let mut nonces = RecentNonces::default();
        for i in 0..DEDUP_MAX_NONCES + 5 {
            nonces.insert(key("ann", &format!("n{i}")), Seen::Stored(i as u64), 1_000);
        }
        assert_eq!(nonces.len(), DEDUP_MAX_NONCES);
        assert_eq!(nonces.get_mut(&key("ann", "n4")), None);
        assert!(nonces.get_mut(&key("ann", "n5")).is_some());
    }
}
