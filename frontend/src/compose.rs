//! Writing a message: the length counter shown before the limit is hit,
//! and when to tell the room that the person is typing.

use common::values::TEXT_MAX_CHARS;

/// The counter appears once this many characters are left: early enough
/// to see the limit coming, late enough not to clutter ordinary messages.
pub const COUNTER_SHOWN_WITHIN: usize = 500;

/// A `typing` frame goes out at most this often while the person types,
/// in milliseconds. Receivers show the notice for
/// [`crate::state::TYPING_SHOWN_MS`], which is longer.
pub const TYPING_REPEAT_MS: f64 = 3_000.0;

/// What the counter under the message box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Far from the limit: no counter.
    Hidden,
    /// This many characters are left.
    Left(usize),
    /// The text is this many characters over the limit; it cannot be sent.
    Over(usize),
}

impl Counter {
    /// The counter for `text`, counting characters as the server does.
    pub fn for_text(text: &str) -> Self {
        // Cheap bound first: fewer bytes than the threshold means fewer
        // characters too.
        if text.len() < TEXT_MAX_CHARS - COUNTER_SHOWN_WITHIN {
            return Self::Hidden;
        }
        let chars = text.chars().count();
        if chars > TEXT_MAX_CHARS {
            Self::Over(chars - TEXT_MAX_CHARS)
        } else if TEXT_MAX_CHARS - chars <= COUNTER_SHOWN_WITHIN {
            Self::Left(TEXT_MAX_CHARS - chars)
        } else {
            Self::Hidden
        }
    }

    /// The counter in words; empty when hidden.
    pub fn label(self) -> String {
        match self {
            Self::Hidden => String::new(),
            Self::Left(1) => "1 character left".to_owned(),
            Self::Left(n) => format!("{n} characters left"),
            Self::Over(1) => "1 character too many".to_owned(),
            Self::Over(n) => format!("{n} characters too many"),
        }
    }
}

/// Decides when a keystroke should send a `typing` frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypingNotice {
    last_sent: Option<f64>,
}

impl TypingNotice {
    /// No notice sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The person typed at `now` (milliseconds): whether to send `typing`.
    pub fn keystroke(&mut self, now: f64) -> bool {
        match self.last_sent {
            Some(last) if now - last < TYPING_REPEAT_MS && now >= last => false,
            _ => {
                self.last_sent = Some(now);
                true
            }
        }
    }

    /// The message was sent: the next keystroke starts a new notice.
    pub fn sent(&mut self) {
        self.last_sent = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_appears_near_the_limit_and_counts_characters() {
        assert_eq!(Counter::for_text("hello"), Counter::Hidden);
        let near = "x".repeat(TEXT_MAX_CHARS - COUNTER_SHOWN_WITHIN);
        assert_eq!(
            Counter::for_text(&near),
            Counter::Left(COUNTER_SHOWN_WITHIN)
        );
        assert_eq!(
            Counter::for_text(&"x".repeat(TEXT_MAX_CHARS)),
            Counter::Left(0)
        );
        assert_eq!(
            Counter::for_text(&"x".repeat(TEXT_MAX_CHARS + 3)),
            Counter::Over(3)
        );
        // 3,000 two-byte characters are 6,000 bytes but far from the limit.
        assert_eq!(Counter::for_text(&"é".repeat(3_000)), Counter::Hidden);
        assert_eq!(
            Counter::for_text(&"é".repeat(TEXT_MAX_CHARS - 1)),
            Counter::Left(1)
        );
    }

    #[test]
    fn the_counter_speaks_plainly() {
        assert_eq!(Counter::Hidden.label(), "");
        assert_eq!(Counter::Left(1).label(), "1 character left");
        assert_eq!(Counter::Left(12).label(), "12 characters left");
        assert_eq!(Counter::Over(1).label(), "1 character too many");
        assert_eq!(Counter::Over(40).label(), "40 characters too many");
    }

    #[test]
    fn typing_notices_are_spaced_out_and_restart_after_a_send() {
        let mut notice = TypingNotice::new();
        assert!(notice.keystroke(0.0));
        assert!(!notice.keystroke(100.0));
        assert!(!notice.keystroke(TYPING_REPEAT_MS - 1.0));
        assert!(notice.keystroke(TYPING_REPEAT_MS));
        notice.sent();
        assert!(notice.keystroke(TYPING_REPEAT_MS + 10.0));
        // A clock that went backwards does not silence the notice for long.
        assert!(notice.keystroke(0.0));
    }
}
