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

/// The server forwards at most one `typing` frame per second per room and
/// connection and drops the rest; the client never sends them closer than
/// this, in milliseconds.
pub const TYPING_MIN_GAP_MS: f64 = 1_100.0;

/// What to do about a keystroke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TypingAction {
    /// Send a `typing` frame now.
    Send,
    /// Send one in this many milliseconds (then call
    /// [`TypingNotice::timer_fired`]): the last one went out too recently
    /// for the server to pass another.
    SendIn(f64),
    /// Nothing: a notice is on its way or still showing.
    Nothing,
}

/// Decides when typing should send a `typing` frame: the first keystroke
/// at once, then every [`TYPING_REPEAT_MS`] while the person types. After a
/// message is sent, the next keystroke starts a new notice as soon as the
/// server would pass it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypingNotice {
    last_sent: Option<f64>,
    /// A message was sent since the last notice.
    fresh: bool,
    /// A delayed notice is scheduled.
    scheduled: bool,
}

impl TypingNotice {
    /// No notice sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The person typed at `now` (milliseconds).
    pub fn keystroke(&mut self, now: f64) -> TypingAction {
        let Some(last) = self.last_sent.filter(|last| *last <= now) else {
            // Never sent, or the clock went backwards.
            self.record(now);
            return TypingAction::Send;
        };
        let since = now - last;
        if since >= TYPING_REPEAT_MS || (self.fresh && since >= TYPING_MIN_GAP_MS) {
            self.record(now);
            TypingAction::Send
        } else if self.fresh && !self.scheduled {
            self.scheduled = true;
            TypingAction::SendIn(TYPING_MIN_GAP_MS - since)
        } else {
            TypingAction::Nothing
        }
    }

    /// The delay of a [`TypingAction::SendIn`] passed at `now`. Returns
    /// whether to send the frame: only if the person is `still_writing`
    /// (the message may have been sent meanwhile).
    pub fn timer_fired(&mut self, now: f64, still_writing: bool) -> bool {
        self.scheduled = false;
        if still_writing {
            self.record(now);
        }
        still_writing
    }

    /// The message was sent: the next keystroke starts a new notice.
    pub fn sent(&mut self) {
        self.fresh = true;
    }

    fn record(&mut self, now: f64) {
        self.last_sent = Some(now);
        self.fresh = false;
        self.scheduled = false;
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
    fn typing_notices_are_spaced_out_while_typing() {
        let mut notice = TypingNotice::new();
        assert_eq!(notice.keystroke(0.0), TypingAction::Send);
        assert_eq!(notice.keystroke(100.0), TypingAction::Nothing);
        assert_eq!(
            notice.keystroke(TYPING_REPEAT_MS - 1.0),
            TypingAction::Nothing
        );
        assert_eq!(notice.keystroke(TYPING_REPEAT_MS), TypingAction::Send);
        // A clock that went backwards does not silence the notice for long.
        assert_eq!(notice.keystroke(0.0), TypingAction::Send);
    }

    #[test]
    fn after_a_send_a_new_notice_goes_out_as_soon_as_the_server_passes_it() {
        let mut notice = TypingNotice::new();
        assert_eq!(notice.keystroke(0.0), TypingAction::Send);
        notice.sent();
        // Too soon after the last notice for the server: later, once.
        assert_eq!(
            notice.keystroke(300.0),
            TypingAction::SendIn(TYPING_MIN_GAP_MS - 300.0)
        );
        assert_eq!(notice.keystroke(400.0), TypingAction::Nothing);
        assert!(notice.timer_fired(TYPING_MIN_GAP_MS, true));
        assert_eq!(
            notice.keystroke(TYPING_MIN_GAP_MS + 10.0),
            TypingAction::Nothing
        );

        // Long enough after the last notice: at once.
        notice.sent();
        let later = TYPING_MIN_GAP_MS * 3.0;
        assert_eq!(notice.keystroke(later), TypingAction::Send);
        assert_eq!(notice.keystroke(later + 10.0), TypingAction::Nothing);
    }

    #[test]
    fn a_delayed_notice_for_a_message_already_sent_does_not_count() {
        let mut notice = TypingNotice::new();
        assert_eq!(notice.keystroke(0.0), TypingAction::Send);
        notice.sent();
        // The next message starts too soon, and is sent before the delay ends.
        assert!(matches!(notice.keystroke(200.0), TypingAction::SendIn(_)));
        notice.sent();
        assert!(!notice.timer_fired(TYPING_MIN_GAP_MS, false));
        // So the next message, two seconds on, starts a notice at once.
        assert_eq!(notice.keystroke(2_000.0), TypingAction::Send);
    }
}
