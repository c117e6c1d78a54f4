//! What a page keeps in the browser's local storage for the next one: per
//! account, its rooms, the room shown, each room's draft and its outbox
//! (the messages written and not confirmed, with their nonces). A session
//! that ends, a reload or a closed tab loses none of it; the next page of
//! the same account sends the outbox again, and the nonces keep each
//! message stored once.
//!
//! The key holds the account's user id ([`key_for`]), so someone else
//! signing in on the same browser starts from their own state and never
//! sees (or sends) another person's drafts. Only the person's own words
//! are kept: never messages of others, never a credential.

use common::{MessageText, Nonce, RoomName, UserId};
use serde::{Deserialize, Serialize};

/// The start of every key of this module; the user id follows.
pub const KEY_PREFIX: &str = "chat.v2.account.";

/// Most rooms kept: as many as a page may have open (the server's own
/// bound on rooms per connection is lower), so that a damaged or hostile
/// value cannot make the page join thousands of rooms.
pub const MAX_ROOMS: usize = 100;

/// The local storage key of the account `user`'s state.
pub fn key_for(user: UserId) -> String {
    format!("{KEY_PREFIX}{user}")
}

/// One account's state, as kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// The rooms, in the order they were opened.
    #[serde(default)]
    pub rooms: Vec<SavedRoom>,
    /// The room shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<RoomName>,
}

/// One room's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedRoom {
    /// The room.
    pub room: RoomName,
    /// What was in its message box.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub draft: String,
    /// Its messages not confirmed yet, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<SavedPending>,
}

/// A message not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPending {
    /// Its nonce: the same one goes out again, so a copy the server stored
    /// already is recognised.
    pub nonce: Nonce,
    /// What was written.
    pub text: MessageText,
    /// Why the server refused it, when it did: it waits for the person
    /// (see [`crate::outbox::PendingState::Failed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl Saved {
    /// The text kept in local storage.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads what [`Saved::encode`] wrote. Anything else (an older
    /// format, a damaged value) gives nothing rather than an error: the
    /// page then starts afresh. Rooms past [`MAX_ROOMS`] and repeats are
    /// dropped.
    pub fn decode(text: &str) -> Option<Self> {
        let mut saved: Self = crate::json::from_str(text).ok()?;
        let mut seen = Vec::new();
        saved.rooms.retain(|room| {
            let new = !seen.contains(&room.room);
            if new {
                seen.push(room.room.clone());
            }
            new
        });
        saved.rooms.truncate(MAX_ROOMS);
        Some(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).expect("valid room")
    }

    fn sample() -> Saved {
        Saved {
            rooms: vec![
                SavedRoom {
                    room: room("lobby"),
                    draft: "half a thought".to_owned(),
                    outbox: vec![
                        SavedPending {
                            nonce: Nonce::parse("n1").expect("valid"),
                            text: MessageText::parse("queued").expect("valid"),
                            failed: None,
                        },
                        SavedPending {
                            nonce: Nonce::parse("n2").expect("valid"),
                            text: MessageText::parse("refused").expect("valid"),
                            failed: Some("too fast".to_owned()),
                        },
                    ],
                },
                SavedRoom {
                    room: room("dev"),
                    draft: String::new(),
                    outbox: vec![],
                },
            ],
            active: Some(room("dev")),
        }
    }

    #[test]
    fn keys_are_per_account() {
        assert_eq!(key_for(7), "chat.v2.account.7");
        assert_ne!(key_for(7), key_for(70));
        assert!(key_for(1).starts_with(KEY_PREFIX));
    }

    #[test]
    fn what_is_kept_reads_back_the_same() {
        let saved = sample();
        let text = saved.encode();
        assert_eq!(Saved::decode(&text), Some(saved));
        // Empty parts are left out of the text.
        assert!(text.contains(r#"{"room":"dev"}"#), "{text}");
    }

    #[test]
    fn anything_else_reads_as_nothing() {
        for text in [
            "",
            "lobby,dev",
            "null",
            r#"{"rooms":[{"room":"Not A Room"}]}"#,
            r#"{"rooms":[{"room":"lobby","outbox":[{"nonce":"n1","text":""}]}]}"#,
            r#"{"rooms":"lobby"}"#,
        ] {
            assert_eq!(Saved::decode(text), None, "{text}");
        }
        assert_eq!(Saved::decode("{}"), Some(Saved::default()));
    }

    #[test]
    fn repeated_and_too_many_rooms_are_dropped() {
        let rooms: Vec<String> = (0..MAX_ROOMS + 5)
            .map(|n| format!(r#"{{"room":"r{n}"}}"#))
            .chain([r#"{"room":"r0","draft":"again"}"#.to_owned()])
            .collect();
        let text = format!(r#"{{"rooms":[{}]}}"#, rooms.join(","));
        let saved = Saved::decode(&text).expect("readable");
        assert_eq!(saved.rooms.len(), MAX_ROOMS);
        assert_eq!(saved.rooms[0].room, room("r0"));
        assert_eq!(saved.rooms[0].draft, "", "the first one stays");
    }
}
