//! Mentions: how a message calls people by name. `@ann` calls the account
//! whose username is `ann` (usernames ignore case, so `@Ann` does too).
//! The server resolves the usernames a message calls and counts them in
//! each person's unread mentions; clients highlight them with the same
//! rule, so what is shown as a mention is what was counted.
//!
//! The rule: an `@` at the start of the text or after a character that
//! cannot be in a username (so `ann@example.org` calls nobody), then
//! [`crate::account::USERNAME_MIN_CHARS`] to
//! [`crate::account::USERNAME_MAX_CHARS`] username characters; dots,
//! dashes and underscores that end the run are punctuation of the
//! sentence (`@ann.` and `@ann,` call `ann`).

use crate::account::{Username, USERNAME_MAX_CHARS};

/// Most people one message calls; names past these are plain text. Bounds
/// what one post makes the server look up and store.
pub const MAX_MENTIONS: usize = 20;

/// A mention found in a text: where it is (the byte range of `@` and the
/// name) and the username it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// Byte offset of the `@`.
    pub start: usize,
    /// Byte offset just past the name.
    pub end: usize,
    /// Who is called.
    pub username: Username,
}

fn is_username_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
}

/// The mentions of `text`, in order, at most [`MAX_MENTIONS`] (a name
/// called twice counts each time; see [`mentioned`] for the people).
pub fn mentions(text: &str) -> Vec<Mention> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = text[at..].find('@') {
        let start = at + offset;
        at = start + 1;
        if start > 0 && is_username_byte(bytes[start - 1]) {
            continue;
        }
        let run = bytes[at..]
            .iter()
            .take_while(|byte| is_username_byte(**byte))
            .count();
        let name = text[at..at + run].trim_end_matches(['.', '_', '-']);
        if name.len() > USERNAME_MAX_CHARS {
            at += run;
            continue;
        }
        if let Ok(username) = Username::parse(name) {
            let end = at + name.len();
            found.push(Mention {
                start,
                end,
                username,
            });
            at = end;
            if found.len() == MAX_MENTIONS {
                break;
            }
        }
    }
    found
}

/// The usernames `text` calls, each once, in order of first mention.
pub fn mentioned(text: &str) -> Vec<Username> {
    let mut people: Vec<Username> = Vec::new();
    for mention in mentions(text) {
        if !people.contains(&mention.username) {
            people.push(mention.username);
        }
    }
    people
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        mentioned(text).into_iter().map(String::from).collect()
    }

    #[test]
    fn a_mention_is_an_at_and_a_username() {
        assert_eq!(names("@ann hi"), ["ann"]);
        assert_eq!(names("hi @Ann, and @bob.lee."), ["ann", "bob.lee"]);
        assert_eq!(names("(@cid) @cid @dee-"), ["cid", "dee"]);
        assert_eq!(names("mail ann@example.org"), Vec::<String>::new());
        assert_eq!(
            names("@ @a @ünï"),
            Vec::<String>::new(),
            "too short or not a username"
        );
    }

    #[test]
    fn a_mention_knows_where_it_is() {
        let found = mentions("hey @Ann!");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start, found[0].end), (4, 8));
        assert_eq!(&"hey @Ann!"[found[0].start..found[0].end], "@Ann");
    }

    #[test]
    fn a_name_too_long_is_no_mention() {
        let long = format!("@{}", "x".repeat(USERNAME_MAX_CHARS + 1));
        assert!(mentions(&long).is_empty());
        let just = format!("@{}", "x".repeat(USERNAME_MAX_CHARS));
        assert_eq!(mentions(&just).len(), 1);
    }

    #[test]
    fn a_message_calls_at_most_the_limit() {
        let text: String = (0..MAX_MENTIONS + 5)
            .map(|n| format!("@user{n} "))
            .collect();
        assert_eq!(mentions(&text).len(), MAX_MENTIONS);
    }
}
