//! Loss and duplicate accounting: what one member of one room received,
//! checked against what was sent.
//!
//! Every message carries its publisher and that publisher's sequence number
//! in its text (see [`crate::wire::Stamp`]), and the server gives it an id.
//! Frames of one connection are handled in order and ids increase strictly
//! in a room, so a member must see each publisher's sequence as 0, 1, 2, ...
//! and ids strictly increasing. A sequence number that skips ahead means
//! messages were lost; one that goes back means a duplicate (or a reorder,
//! which the protocol forbids as well); an id that does not increase means
//! a duplicate or reorder too. What is still missing at the end is lost.
//!
//! Increasing ids per member are one order for all only if every member
//! gets each message with the same id: [`RoomOrder`] keeps the id each
//! message first arrived with, so that a member that sees it with another
//! one (as could happen when the room's members are spread over instances
//! that number messages apart) is caught.

/// What one member received in one room during one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    /// The next sequence number expected from each publisher of the room.
    next_seq: Vec<u64>,
    /// The largest id seen.
    last_id: u64,
    /// Messages recorded (duplicates included).
    received: u64,
    /// Messages skipped over by a later sequence number.
    skipped: u64,
    /// Messages whose sequence number was already passed.
    repeated: u64,
    /// Messages whose id did not increase.
    id_regressions: u64,
    /// Messages from a publisher the room does not have.
    foreign: u64,
}

/// The verdict on one [`Ledger`] once the run's sending is over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Messages received, duplicates included.
    pub received: u64,
    /// Messages sent to the room that never arrived.
    pub lost: u64,
    /// Messages that arrived more than once or out of order.
    pub duplicated: u64,
    /// Messages that do not belong (an unknown publisher, or a sequence
    /// number beyond what the publisher sent).
    pub unexpected: u64,
}

impl Tally {
    /// True when everything sent arrived exactly once, in order.
    pub fn is_exact(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unexpected == 0
    }

    /// Adds `other` to this tally.
    pub fn add(&mut self, other: Tally) {
        self.received += other.received;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.unexpected += other.unexpected;
    }
}

impl Ledger {
    /// An empty ledger for a room with `publishers` publishers.
    pub fn new(publishers: usize) -> Self {
        Self {
            next_seq: vec![0; publishers],
            last_id: 0,
            received: 0,
            skipped: 0,
            repeated: 0,
            id_regressions: 0,
            foreign: 0,
        }
    }

    /// Records message `id` with sequence number `seq` from `publisher`.
    pub fn record(&mut self, id: u64, publisher: usize, seq: u64) {
        self.received += 1;
        if id <= self.last_id {
            self.id_regressions += 1;
        } else {
            self.last_id = id;
        }
        let Some(next) = self.next_seq.get_mut(publisher) else {
            self.foreign += 1;
            return;
        };
        if seq < *next {
            self.repeated += 1;
        } else {
            self.skipped += seq - *next;
            *next = seq + 1;
        }
    }

    /// Checks the ledger against `sent`, the number of messages each
    /// publisher of the room sent in the run.
    pub fn tally(&self, sent: &[u64]) -> Tally {
        let mut lost = self.skipped;
        let mut unexpected = self.foreign;
        for (publisher, &next) in self.next_seq.iter().enumerate() {
            let sent = sent.get(publisher).copied().unwrap_or(0);
            if next < sent {
                lost += sent - next;
            } else {
                // Sequence numbers at or beyond `sent` were never sent.
                unexpected += next - sent;
            }
        }
        // A repeated sequence number and a non-increasing id are usually
        // the same message; count the larger of the two.
        let duplicated = self.repeated.max(self.id_regressions);
        Tally {
            received: self.received,
            lost,
            duplicated,
            unexpected,
        }
    }
}

/// The id each message of one room arrived with first, during one run:
/// every member must see the same one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomOrder {
    /// Per publisher, by sequence number: the id, 0 while no member has
    /// received the message (the server's ids start at 1).
    ids: Vec<Vec<u64>>,
}

impl RoomOrder {
    /// Whether message `seq` of `publisher` arriving with `id` agrees with
    /// the id other members got it with (the first sets it). Only messages
    /// that were sent (`seq` below `sent`, what that publisher sent so far)
    /// are kept, so that a bogus sequence number cannot make it grow: the
    /// others are the ledger's unexpected messages, and agree here.
    pub fn agrees(&mut self, publisher: usize, seq: u64, sent: u64, id: u64) -> bool {
        if seq >= sent {
            return true;
        }
        if self.ids.len() <= publisher {
            self.ids.resize_with(publisher + 1, Vec::new);
        }
        let ids = &mut self.ids[publisher];
        let seq = seq as usize;
        if ids.len() <= seq {
            ids.resize(seq + 1, 0);
        }
        match ids[seq] {
            0 => {
                ids[seq] = id;
                true
            }
            first => first == id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_once_in_order_is_exact() {
        let mut ledger = Ledger::new(2);
        let mut id = 0;
        for seq in 0..10 {
            for publisher in 0..2 {
                id += 1;
                ledger.record(id, publisher, seq);
            }
        }
        let tally = ledger.tally(&[10, 10]);
        assert!(tally.is_exact(), "{tally:?}");
        assert_eq!(tally.received, 20);
    }

    #[test]
    fn a_gap_in_the_middle_is_lost() {
        let mut ledger = Ledger::new(1);
        ledger.record(1, 0, 0);
        ledger.record(4, 0, 3); // 1 and 2 never came.
        ledger.record(5, 0, 4);
        let tally = ledger.tally(&[5]);
        assert_eq!(tally.lost, 2);
        assert_eq!(tally.duplicated, 0);
        assert!(!tally.is_exact());
    }

    #[test]
    fn a_missing_tail_is_lost() {
        let mut ledger = Ledger::new(2);
        ledger.record(1, 0, 0);
        ledger.record(2, 1, 0);
        let tally = ledger.tally(&[3, 1]);
        assert_eq!(tally.lost, 2);
        assert!(!tally.is_exact());
    }

    #[test]
    fn a_message_twice_is_duplicated() {
        let mut ledger = Ledger::new(1);
        ledger.record(1, 0, 0);
        ledger.record(2, 0, 1);
        ledger.record(2, 0, 1); // Same message again.
        let tally = ledger.tally(&[2]);
        assert_eq!(tally.duplicated, 1);
        assert_eq!(tally.lost, 0);
        assert_eq!(tally.received, 3);
    }

    #[test]
    fn decreasing_ids_are_duplicates_even_with_fresh_sequences() {
        // The server reusing an id for a new message breaks the protocol.
        let mut ledger = Ledger::new(2);
        ledger.record(5, 0, 0);
        ledger.record(5, 1, 0);
        let tally = ledger.tally(&[1, 1]);
        assert_eq!(tally.duplicated, 1);
    }

    #[test]
    fn messages_beyond_what_was_sent_or_from_nowhere_are_unexpected() {
        let mut ledger = Ledger::new(1);
        ledger.record(1, 0, 0);
        ledger.record(2, 0, 1);
        ledger.record(3, 7, 0); // No publisher 7 in this room.
        let tally = ledger.tally(&[1]);
        assert_eq!(tally.unexpected, 2);
        assert!(!tally.is_exact());
    }

    #[test]
    fn tallies_add_up() {
        let mut total = Tally::default();
        total.add(Tally {
            received: 3,
            lost: 1,
            duplicated: 0,
            unexpected: 0,
        });
        total.add(Tally {
            received: 2,
            lost: 0,
            duplicated: 2,
            unexpected: 1,
        });
        assert_eq!(
            total,
            Tally {
                received: 5,
                lost: 1,
                duplicated: 2,
                unexpected: 1
            }
        );
    }

    #[test]
    fn every_member_must_get_a_message_with_the_same_id() {
        let mut order = RoomOrder::default();
        // Two members get publisher 1's first two messages, the same way.
        assert!(order.agrees(1, 0, 2, 7));
        assert!(order.agrees(1, 1, 2, 9));
        assert!(order.agrees(1, 0, 2, 7));
        assert!(order.agrees(1, 1, 2, 9));
        // A third gets the second one numbered as another message.
        assert!(!order.agrees(1, 1, 2, 8));
        // Not sent (yet): the ledger's business, and nothing is kept.
        assert!(order.agrees(0, 5, 2, 3));
        assert!(order.agrees(0, u64::MAX, 2, 3));
        assert_eq!(order.ids[0], Vec::<u64>::new());
    }
}
