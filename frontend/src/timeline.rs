//! The rows of a room's message list, ready for the view: confirmed
//! messages in id order, then the pending ones, each marked with whether it
//! starts a group (a new author, or a pause) and whether it is one's own.

use crate::outbox::PendingState;
use crate::state::{author_key, Room};
use common::{DisplayName, MessageId, Nonce, Person};

/// Consecutive messages of one author further apart than this start a new
/// group (with the name and time shown again), in milliseconds.
pub const GROUP_GAP_MS: u64 = 5 * 60 * 1000;

/// How a row's message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    /// Stored by the server.
    Confirmed,
    /// Written while offline: goes out when the connection is back.
    Queued,
    /// On its way: sent, not confirmed yet.
    Sending,
    /// Refused by the server, for this reason.
    Failed(String),
}

/// One message as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Identifies the row and changes whenever what it shows changes, so a
    /// keyed list re-renders exactly the rows that changed.
    pub key: String,
    /// The id, for confirmed messages.
    pub id: Option<MessageId>,
    /// The nonce, for pending messages (to retry or discard them).
    pub nonce: Option<Nonce>,
    /// Who wrote it: the display name at posting.
    pub author: String,
    /// Whether the author has no account: a message from before accounts,
    /// whose name anyone could have used. The list says so beside the
    /// name.
    pub no_account: bool,
    /// What was written (plain text, never HTML).
    pub text: String,
    /// When the server accepted it (milliseconds since the epoch).
    pub ts: Option<u64>,
    /// Whether this client wrote it.
    pub own: bool,
    /// Whether it starts a group: the author's name and the time are shown.
    pub starts_group: bool,
    /// Confirmed, or how far it got.
    pub status: RowStatus,
}

/// The rows of `room`; `me` is the account pending messages are shown
/// under before the room is joined.
pub fn rows(room: &Room, me: Option<&Person>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(room.message_count() + room.outbox().items().len());
    // Rows are grouped by who wrote them (the account, not the name).
    let mut authors: Vec<String> = Vec::with_capacity(rows.capacity());
    for message in room.messages() {
        authors.push(author_key(message));
        rows.push(Row {
            key: String::new(),
            id: Some(message.id),
            nonce: None,
            author: message.name.to_string(),
            no_account: message.user_id.is_none(),
            text: message.text.to_string(),
            ts: Some(message.ts),
            own: room.is_me(message.user_id),
            starts_group: false,
            status: RowStatus::Confirmed,
        });
    }
    let me = room.me().or(me);
    let author = me.map(|me| me.display_name.to_string()).unwrap_or_default();
    let my_key = me.map(|me| format!("u{}", me.user_id)).unwrap_or_default();
    for pending in room.outbox().items() {
        authors.push(my_key.clone());
        rows.push(Row {
            key: String::new(),
            id: None,
            nonce: Some(pending.nonce.clone()),
            author: author.clone(),
            no_account: false,
            text: pending.text.to_string(),
            ts: None,
            own: true,
            starts_group: false,
            status: match &pending.state {
                PendingState::Queued => RowStatus::Queued,
                PendingState::Sent { .. } => RowStatus::Sending,
                PendingState::Failed(reason) => RowStatus::Failed(reason.clone()),
            },
        });
    }
    let mut previous: Option<(String, Option<u64>)> = None;
    for (row, author_key) in rows.iter_mut().zip(authors) {
        row.starts_group = match &previous {
            None => true,
            Some((previous_author, previous_ts)) => {
                *previous_author != author_key
                    || matches!((previous_ts, row.ts), (Some(a), Some(b)) if b.saturating_sub(*a) > GROUP_GAP_MS)
            }
        };
        row.key = match (&row.id, &row.nonce) {
            (Some(id), _) => format!("m{id}{}", u8::from(row.starts_group)),
            (None, Some(nonce)) => format!(
                "p{}{}{}",
                u8::from(row.starts_group),
                match &row.status {
                    RowStatus::Queued => "q".to_owned(),
                    RowStatus::Sending => "s".to_owned(),
                    RowStatus::Failed(reason) => format!("f{}:", reason.len()),
                    RowStatus::Confirmed => "c".to_owned(),
                },
                nonce
            ),
            (None, None) => String::new(),
        };
        previous = Some((author_key, row.ts.or(previous.and_then(|(_, ts)| ts))));
    }
    rows
}

/// The "… is typing" line for these names; empty when no one types.
pub fn typing_line(names: &[&DisplayName]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("{one} is typing…"),
        [one, two] => format!("{one} and {two} are typing…"),
        [one, two, three] => format!("{one}, {two} and {three} are typing…"),
        _ => "Several people are typing…".to_owned(),
    }
}

/// Avatar colours (hues): far enough apart that two people never look
/// alike when their names land on different ones.
const AVATAR_HUES: [u16; 8] = [210, 340, 150, 270, 30, 185, 0, 45];

/// The hue (0 to 359) of a person's avatar: the same name always gets the
/// same colour, ignoring the case of ASCII letters ("Ann" and "ANN" look
/// alike). Non-ASCII letters keep their case: folding it would need the
/// standard library's Unicode case tables (some 20 KB of the client) for a
/// colour.
pub fn hue_of(name: &str) -> u16 {
    // FNV-1a: tiny, stable across builds and platforms.
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte.to_ascii_lowercase())).wrapping_mul(0x0100_0193)
    });
    AVATAR_HUES[hash as usize % AVATAR_HUES.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Chat, Incoming};
    use common::{ChatMessage, MessageText, RoomName, ServerFrame, UserId, Username};

    fn name(n: &str) -> DisplayName {
        DisplayName::parse(n).expect("valid name")
    }

    /// Ann is account 1, Bob 2.
    fn id_of(n: &str) -> UserId {
        match n {
            "Ann" => 1,
            _ => 2,
        }
    }

    fn person(n: &str) -> Person {
        Person {
            user_id: id_of(n),
            username: Username::parse(n.to_lowercase()).expect("valid username"),
            display_name: name(n),
        }
    }

    fn lobby() -> RoomName {
        RoomName::parse("lobby").expect("valid room")
    }

    fn msg(id: MessageId, author: &str, ts: u64) -> Incoming {
        let mut message = old_msg(id, author, ts);
        if let Incoming::Frame(ServerFrame::Message(message)) = &mut message {
            message.user_id = Some(id_of(author));
            message.username = Some(person(author).username);
        }
        message
    }

    /// A message from before accounts.
    fn old_msg(id: MessageId, author: &str, ts: u64) -> Incoming {
        Incoming::Frame(ServerFrame::Message(ChatMessage {
            room: lobby(),
            id,
            name: name(author),
            user_id: None,
            username: None,
            text: MessageText::parse(format!("message {id}")).expect("valid"),
            ts,
            nonce: None,
        }))
    }

    fn chat_with(messages: Vec<Incoming>) -> Chat {
        let mut chat = Chat::new(Some(person("Ann")), vec![], Some(lobby()));
        chat.connected(1);
        chat.receive(
            Incoming::Frame(ServerFrame::Joined {
                room: lobby(),
                you: person("Ann"),
                members: vec![person("Ann")],
                history: vec![],
                has_older: false,
            }),
            0.0,
        );
        for message in messages {
            chat.receive(message, 0.0);
        }
        chat
    }

    fn starts(rows: &[Row]) -> Vec<bool> {
        rows.iter().map(|row| row.starts_group).collect()
    }

    #[test]
    fn consecutive_messages_of_one_author_are_grouped() {
        let minute = 60_000;
        let chat = chat_with(vec![
            msg(1, "Bob", 0),
            msg(2, "Bob", minute),
            msg(3, "Ann", 2 * minute),
            msg(4, "Ann", 3 * minute),
            msg(5, "Bob", 4 * minute),
            msg(6, "Bob", 4 * minute + GROUP_GAP_MS + 1),
        ]);
        let rows = rows(chat.room(&lobby()).expect("room"), None);
        assert_eq!(starts(&rows), [true, false, true, false, true, true]);
        let own: Vec<bool> = rows.iter().map(|row| row.own).collect();
        assert_eq!(own, [false, false, true, true, false, false]);
        assert_eq!(rows[0].text, "message 1");
        assert_eq!(rows[0].ts, Some(0));
    }

    #[test]
    fn messages_from_before_accounts_are_nobodys_and_say_so() {
        // "Ann" wrote before accounts existed; Ann's account is someone
        // who may or may not be the same person.
        let chat = chat_with(vec![
            old_msg(1, "Ann", 0),
            msg(2, "Ann", 1),
            old_msg(3, "Ann", 2),
            old_msg(4, "Ann", 3),
        ]);
        let rows = rows(chat.room(&lobby()).expect("room"), None);
        let marks: Vec<(bool, bool)> = rows.iter().map(|r| (r.no_account, r.own)).collect();
        assert_eq!(
            marks,
            [(true, false), (false, true), (true, false), (true, false)]
        );
        assert_eq!(starts(&rows), [true, true, true, false]);
        assert!(rows.iter().all(|row| row.author == "Ann"));
    }

    #[test]
    fn pending_messages_follow_in_order_and_join_ones_own_group() {
        let mut chat = chat_with(vec![msg(1, "Ann", 0)]);
        let text = |t: &str| MessageText::parse(t).expect("valid");
        let nonce = |n: &str| Nonce::parse(n).expect("valid");
        chat.post(&lobby(), text("sending"), nonce("n1"));
        chat.disconnected(Some(500), None);
        chat.post(&lobby(), text("queued"), nonce("n2"));
        let rows = rows(chat.room(&lobby()).expect("room"), None);
        assert_eq!(rows.len(), 3);
        assert_eq!(starts(&rows), [true, false, false]);
        assert_eq!(rows[1].status, RowStatus::Sending);
        assert_eq!(rows[2].status, RowStatus::Queued);
        assert_eq!(rows[2].author, "Ann");
        assert!(rows[2].own && rows[2].ts.is_none());
        let keys: std::collections::HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys.len(), 3, "keys are unique: {rows:?}");
    }

    #[test]
    fn a_row_changes_key_when_what_it_shows_changes() {
        let chat = chat_with(vec![msg(1, "Bob", 0), msg(2, "Bob", 1)]);
        let before = rows(chat.room(&lobby()).expect("room"), None);
        let chat = chat_with(vec![msg(2, "Bob", 1)]);
        let after = rows(chat.room(&lobby()).expect("room"), None);
        assert_ne!(before[1].key, after[0].key, "it now starts a group");
    }

    #[test]
    fn the_typing_line_names_up_to_three_people() {
        let (a, b, c, d) = (name("Ann"), name("Bob"), name("Cy"), name("Di"));
        assert_eq!(typing_line(&[]), "");
        assert_eq!(typing_line(&[&a]), "Ann is typing…");
        assert_eq!(typing_line(&[&a, &b]), "Ann and Bob are typing…");
        assert_eq!(typing_line(&[&a, &b, &c]), "Ann, Bob and Cy are typing…");
        assert_eq!(typing_line(&[&a, &b, &c, &d]), "Several people are typing…");
    }

    #[test]
    fn avatar_colours_are_stable_and_spread() {
        assert_eq!(hue_of("Ann"), hue_of("ANN"));
        assert!(hue_of("Ann") < 360);
        assert_ne!(hue_of("Ann"), hue_of("Bob"));
        let hues: std::collections::HashSet<u16> = ["Ann", "Bob", "Cy", "Di", "Eve", "Flo"]
            .iter()
            .map(|n| hue_of(n))
            .collect();
        assert!(hues.len() >= 5, "{hues:?}");
    }
}
