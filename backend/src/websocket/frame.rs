//! Frames the server sends, encoded whole (header and payload) once, so one
//! encoded message is shared by every member of a room and written to each
//! socket as it is.

use bytes::BufMut;
use std::sync::Arc;

/// Opcodes of RFC 6455 section 5.2.
pub(super) mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// The FIN bit: the last (here: the only) frame of a message.
pub(super) const FIN: u8 = 0x80;

/// Longest payload of a control frame (ping, pong, close).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame for the wire, header and payload, unmasked (server frames are
/// never masked), or several back to back ([`OutgoingFrame::concat`]).
/// Cloning shares the bytes. One pointer wide: every client's outgoing
/// queue holds these, and its first block of slots is allocated for each
/// connection, idle or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFrame(Arc<Vec<u8>>);

impl OutgoingFrame {
    /// A text frame carrying `text` (one JSON server frame).
    pub fn text(text: &str) -> Self {
        Self::encode(opcode::TEXT, text.as_bytes())
    }

    /// A ping carrying `payload` (at most [`MAX_CONTROL_PAYLOAD`] bytes).
    pub fn ping(payload: &[u8]) -> Self {
        Self::control(opcode::PING, payload)
    }

    /// The pong answering a ping that carried `payload`.
    pub fn pong(payload: &[u8]) -> Self {
        Self::control(opcode::PONG, payload)
    }

    /// A close frame with `code` and `reason` (cut to fit a control frame,
    /// at a character boundary).
    pub fn close(code: u16, reason: &str) -> Self {
        let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        Self::encode(opcode::CLOSE, &payload)
    }

    /// A close frame without a code (the answer to one without a code).
    pub fn empty_close() -> Self {
        Self::encode(opcode::CLOSE, &[])
    }

    /// Several frames back to back, queued and written as one item (a
    /// busy room's batch of messages).
    pub fn concat(frames: &[OutgoingFrame]) -> Self {
        let mut bytes = Vec::with_capacity(frames.iter().map(Self::len).sum());
        for frame in frames {
            bytes.put_slice(&frame.0);
        }
        Self(Arc::new(bytes))
    }

    /// The frame's bytes, as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Bytes on the wire, header included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the frame has no bytes at all (never: a header is at least
    /// two bytes).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn control(opcode: u8, payload: &[u8]) -> Self {
        let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
        Self::encode(opcode, payload)
    }

    fn encode(opcode: u8, payload: &[u8]) -> Self {
        let mut frame = Vec::with_capacity(header_len(payload.len()) + payload.len());
        frame.put_u8(FIN | opcode);
        match payload.len() {
            len @ 0..=125 => frame.put_u8(len as u8),
            len @ 126..=0xFFFF => {
                frame.put_u8(126);
                frame.put_u16(len as u16);
            }
            len => {
                frame.put_u8(127);
                frame.put_u64(len as u64);
            }
        }
        frame.put_slice(payload);
        Self(Arc::new(frame))
    }
}

/// Header bytes of an unmasked frame with a payload of `len` bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::CloseCode;

    #[test]
    fn lengths_use_the_shortest_encoding() {
        let short = OutgoingFrame::text("hi");
        assert_eq!(short.as_bytes(), b"\x81\x02hi");
        let medium = OutgoingFrame::text(&"a".repeat(126));
        assert_eq!(&medium.as_bytes()[..4], &[0x81, 126, 0, 126]);
        assert_eq!(medium.len(), 4 + 126);
        let long = OutgoingFrame::text(&"a".repeat(70_000));
        assert_eq!(&long.as_bytes()[..2], &[0x81, 127]);
        assert_eq!(
            u64::from_be_bytes(
                long.as_bytes()[2..10]
                    .try_into()
                    .expect("eight length bytes")
            ),
            70_000
        );
        assert_eq!(long.len(), 10 + 70_000);
    }

    #[test]
    fn control_frames_fit_the_limit() {
        assert_eq!(OutgoingFrame::ping(b"7").as_bytes(), b"\x89\x017");
        assert_eq!(OutgoingFrame::pong(b"7").as_bytes(), b"\x8A\x017");
        assert_eq!(OutgoingFrame::empty_close().as_bytes(), b"\x88\x00");
        // 1001 is 0x03E9, big-endian on the wire.
        let close = OutgoingFrame::close(CloseCode::GoingAway.code(), "bye");
        assert_eq!(close.as_bytes(), b"\x88\x05\x03\xe9bye");
        // A reason past 123 bytes is cut at a character boundary.
        let long = OutgoingFrame::close(CloseCode::Normal.code(), &"é".repeat(100));
        let payload = &long.as_bytes()[2..];
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
        assert_eq!(usize::from(long.as_bytes()[1]), payload.len());
    }
}
