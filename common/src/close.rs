//! The WebSocket close codes of the protocol: the code of the close frame
//! the server ends a connection with says why, and so what a client should
//! do next.
//!
//! The numbers are RFC 6455's (section 7.4.1, and the IANA registry for
//! 1013); the protocol gives each the meaning documented on its variant.
//! Several reasons share a code (a shutdown and an idle timeout are both
//! 1001), and the reason text beside it says which: a client branches on the
//! code, the text is for people. `docs/PROTOCOL.md` ("Closing") lists every
//! code with its reasons; `common/tests/protocol.rs` checks that its table
//! and [`CloseCode`] agree.

/// A close code the protocol uses, with what a client should do on it.
///
/// A browser reports codes the protocol does not use too (1006 when the
/// connection broke without a close frame, say): [`CloseCode::from_code`]
/// returns `None` for those, and a client treats them as a lost connection
/// (reconnect with backoff, re-join with `since`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// 1000 "Normal Closure": the client is done (the web client sends it
    /// when its page is closed); the server answers a client's close frame
    /// with the client's own code. Nothing to do.
    Normal = 1000,
    /// 1001 "Going Away": the server is shutting down, or the client sent
    /// nothing, not even a pong, for `--idle-timeout`. Reconnect with
    /// backoff and re-join each room with `since`.
    GoingAway = 1001,
    /// 1002 "Protocol Error": the client broke the WebSocket framing rules.
    /// A bug in the client: reconnecting sends the same bytes again.
    ProtocolError = 1002,
    /// 1007 "Invalid Frame Payload Data": a text message or a close reason
    /// was not UTF-8. A bug in the client.
    InvalidPayload = 1007,
    /// 1008 "Policy Violation": the client went over the rate limit again
    /// and again (slow down before reconnecting), or joined no room within
    /// `--join-timeout` (connect when about to join). Reconnecting at once
    /// will not help.
    PolicyViolation = 1008,
    /// 1009 "Message Too Big": the client sent a WebSocket message over
    /// `--max-message-bytes`. Reconnect, but do not send that message again.
    MessageTooBig = 1009,
    /// 1011 "Internal Error": a write to the client did not finish within
    /// `--write-timeout`. Reconnect and re-join with `since`.
    InternalError = 1011,
    /// 1013 "Try Again Later": the client did not read fast enough (a slow
    /// consumer: its queue filled) or stopped reading (stalled: a ping went
    /// unanswered while frames waited). Nothing is wrong with its requests:
    /// reconnect and re-join with `since`.
    TryAgainLater = 1013,
    /// 4001 (the first of RFC 6455's private range the protocol uses): the
    /// session or API token the connection signed in with ended (signed
    /// out, ended from the list of sessions, a password change, the
    /// account deactivated, the token revoked). Sign in again; reconnecting
    /// with the same credential is refused with HTTP 401.
    SessionEnded = 4001,
}

impl CloseCode {
    /// Every code, in increasing order.
    pub const ALL: [Self; 9] = [
        Self::Normal,
        Self::GoingAway,
        Self::ProtocolError,
        Self::InvalidPayload,
        Self::PolicyViolation,
        Self::MessageTooBig,
        Self::InternalError,
        Self::TryAgainLater,
        Self::SessionEnded,
    ];

    /// The number on the wire.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The code with this number, or `None` for one the protocol does not
    /// use.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.code() == code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_comes_back_from_its_number() {
        for code in CloseCode::ALL {
            assert_eq!(CloseCode::from_code(code.code()), Some(code));
        }
        // 1006 (abnormal closure) is only ever reported locally; 4000 is
        // in the private range, and this protocol does not use it.
        assert_eq!(CloseCode::from_code(1006), None);
        assert_eq!(CloseCode::from_code(4000), None);
    }

    #[test]
    fn all_lists_each_code_once_in_order() {
        let numbers = CloseCode::ALL.map(CloseCode::code);
        assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
