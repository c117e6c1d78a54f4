//! A room's newest messages, kept in memory so that a join (the common
//! case: no `since`, or a `since` a moment ago after a reconnect) is
//! answered without reading the database. A storm of joins, or every
//! client of a restarted server coming back at once, then costs no reads.

use crate::store::{page_from_newest, HistoryPage};
use common::{ChatMessage, MessageId};
use std::collections::VecDeque;
use std::convert::Infallible;

/// Messages a room keeps in memory: the history of a join without `since`
/// (50) several times over, so short reconnects are served from it too.
pub const RECENT_MESSAGES: usize = 256;

/// The newest committed messages of a room, oldest first.
#[derive(Debug, Default)]
pub(super) struct RecentMessages {
    messages: VecDeque<ChatMessage>,
    /// Whether `messages` holds every message of the room (none older
    /// exists), so that an answer from it is never missing older ones.
    complete: bool,
}

impl RecentMessages {
    /// Starts from the room's newest stored messages (oldest first);
    /// `has_older` says whether older ones exist.
    pub(super) fn new(messages: Vec<ChatMessage>, has_older: bool) -> Self {
        let mut messages = VecDeque::from(messages);
        // The page was allocated for a full one; an empty or new room
        // should not keep room for 256 messages it does not have.
        messages.shrink_to_fit();
        Self {
            messages,
            complete: !has_older,
        }
    }

    /// Adds a message just committed (ids only grow).
    pub(super) fn push(&mut self, message: ChatMessage) {
        if self.messages.len() == RECENT_MESSAGES {
            self.messages.pop_front();
            self.complete = false;
        }
        self.messages.push_back(message);
    }

    /// The history of a join, if these messages can answer it: the newest
    /// `limit` messages after `since` (all when `None`), under the same byte
    /// budget as the store's pages. `None` when older messages the answer
    /// needs are not kept here.
    pub(super) fn history(&self, since: Option<MessageId>, limit: usize) -> Option<HistoryPage> {
        let after = since.unwrap_or(0);
        let newest_first = self
            .messages
            .iter()
            .rev()
            .take_while(|message| message.id > after)
            .map(|message| Ok::<_, Infallible>(message.clone()));
        let page = match page_from_newest(newest_first, limit) {
            Ok(page) => page,
            Err(never) => match never {},
        };
        if page.has_older {
            return Some(page); // Cut by the limit or the byte budget.
        }
        // Every kept message after `since` fits; the answer is whole if no
        // message after `since` is older than the ones kept.
        let oldest_kept = self.messages.front().map(|message| message.id);
        let whole = self.complete || oldest_kept.is_some_and(|oldest| oldest <= after + 1);
        whole.then_some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::message;
    use super::*;

    fn ids(page: &HistoryPage) -> Vec<MessageId> {
        page.messages.iter().map(|m| m.id).collect()
    }

    #[test]
    fn a_complete_room_answers_every_join() {
        let recent = RecentMessages::new((1..=10).map(message).collect(), false);
        let page = recent.history(None, 50).expect("answered");
        assert_eq!(ids(&page), (1..=10).collect::<Vec<_>>());
        assert!(!page.has_older);
        let page = recent.history(Some(7), 1_000).expect("answered");
        assert_eq!(ids(&page), [8, 9, 10]);
        let page = recent.history(None, 4).expect("answered");
        assert_eq!(ids(&page), [7, 8, 9, 10]);
        assert!(page.has_older);
        assert!(RecentMessages::new(Vec::new(), false)
            .history(None, 50)
            .is_some());
        // Before the room has loaded anything, it knows nothing.
        assert!(RecentMessages::default().history(None, 50).is_none());
    }

    #[test]
    fn a_room_with_older_messages_answers_only_what_it_keeps_whole() {
        let mut recent = RecentMessages::new((100..=109).map(message).collect(), true);
        // The last 5: kept, and cut by the limit, so older ones exist.
        let page = recent.history(None, 5).expect("answered");
        assert_eq!(ids(&page), [105, 106, 107, 108, 109]);
        assert!(page.has_older);
        // All 50 asked, only 10 kept: the store must answer.
        assert!(recent.history(None, 50).is_none());
        // After 99: everything is kept. After 50: not.
        assert_eq!(
            ids(&recent.history(Some(99), 1_000).expect("kept")).len(),
            10
        );
        assert!(recent.history(Some(50), 1_000).is_none());
        // Filling past the capacity forgets the oldest.
        for id in 110..110 + RECENT_MESSAGES as u64 {
            recent.push(message(id));
        }
        assert!(recent.history(Some(105), 1_000).is_none());
        let page = recent.history(Some(200), 1_000).expect("kept");
        assert_eq!(page.messages.first().map(|m| m.id), Some(201));
    }
}
