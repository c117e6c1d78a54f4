//! The rows of a room's message list, ready for the view: confirmed
//! messages in id order, then the pending ones, each marked with whether it
//! starts a group (a new author, or a pause) and whether it is one's own.

use crate::outbox::PendingState;
use crate::state::Room;
use common::{DisplayName, MessageId, Nonce};

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
    /// Who wrote it.
    pub author: String,
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

/// The rows of `room`; `me` is the name pending messages are shown under
/// before the room is joined.
pub fn rows(room: &Room, me: Option<&DisplayName>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(room.message_count() + room.outbox().items().len());
    for message in room.messages() {
        rows.push(Row {
            key: String::new(),
            id: Some(message.id),
            nonce: None,
            author: message.name.to_string(),
            text: message.text.to_string(),
            ts: Some(message.ts),
            own: room.is_me(&message.name),
            starts_group: false,
            status: RowStatus::Confirmed,
        });
    }
    let author = room
        .my_name()
        .or(me)
        .map(ToString::to_string)
        .unwrap_or_default();
    for pending in room.outbox().items() {
        rows.push(Row {
            key: String::new(),
            id: None,
            nonce: Some(pending.nonce.clone()),
            author: author.clone(),
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
    for row in &mut rows {
        let author_key = row.author.clone();
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
/// same colour, ignoring case, as the server ignores it for uniqueness.
pub fn hue_of(name: &str) -> u16 {
    // FNV-1a: tiny, stable across builds and platforms.
    let hash = name
        .to_lowercase()
        .bytes()
        .fold(0x811c_9dc5_u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        });
    AVATAR_HUES[hash as usize % AVATAR_HUES.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Chat, Incoming};
    use common::{ChatMessage, MessageText, RoomName, ServerFrame};

    fn name(n: &str) -> DisplayName {
        DisplayName::parse(n).expect("valid name")
    }

    fn lobby() -> RoomName {
        RoomName::parse("lobby").expect("valid room")
    }

    fn msg(id: MessageId, author: &str, ts: u64) -> Incoming {
        Incoming::Frame(ServerFrame::Message(ChatMessage {
            room: lobby(),
            id,
            name: name(author),
            text: MessageText::parse(format!("message {id}")).expect("valid"),
            ts,
            nonce: None,
        }))
    }

    fn chat_with(messages: Vec<Incoming>) -> Chat {
        let mut chat = Chat::new(Some(name("Ann")), vec![], Some(lobby()));
        chat.connected(1);
        chat.receive(
            Incoming::Frame(ServerFrame::Joined {
                room: lobby(),
                name: name("Ann"),
                members: vec![name("Ann")],
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
