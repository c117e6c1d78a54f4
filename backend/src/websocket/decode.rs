//! Client frames in, messages out (RFC 6455 section 5), from a buffer that
//! the connection fills as bytes arrive.
//!
//! The decoder enforces what a server must: every client frame masked, no
//! reserved bits (no extension is ever negotiated), control frames short
//! and unfragmented, fragments continued in order, text valid UTF-8, and a
//! message size limit that is checked from the header, before the payload
//! is buffered.

use super::frame::{opcode, FIN, MAX_CONTROL_PAYLOAD};
use bytes::{Buf, Bytes, BytesMut};
use common::CloseCode;

/// A complete message (or control frame) from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message.
    Text(String),
    /// A binary message (its content is not kept: the protocol is text).
    Binary,
    /// A ping, with the payload its pong must carry.
    Ping(Bytes),
    /// A pong, with the payload of the ping it answers.
    Pong(Bytes),
    /// The client closes, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the client's bytes are not an acceptable WebSocket stream. Each has
/// its close code ([`DecodeError::close_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes break the framing rules.
    #[error("WebSocket protocol error: {0}")]
    Protocol(&'static str),
    /// A message is larger than the limit.
    #[error("message larger than {limit} bytes")]
    TooBig {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A text message or a close reason is not UTF-8.
    #[error("text that is not valid UTF-8")]
    InvalidUtf8,
}

impl DecodeError {
    /// The close code that reports this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::Protocol(_) => CloseCode::ProtocolError,
            Self::TooBig { .. } => CloseCode::MessageTooBig,
            Self::InvalidUtf8 => CloseCode::InvalidPayload,
        }
    }
}

/// Turns the client's frames into messages, reassembling fragments.
#[derive(Debug, Default)]
pub struct MessageDecoder {
    /// The fragments of a message received so far. Boxed: rare, and every
    /// idle connection holds a decoder.
    fragments: Option<Box<Fragments>>,
}

#[derive(Debug)]
struct Fragments {
    text: bool,
    payload: Vec<u8>,
}

/// A parsed frame header.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Bytes of the header itself.
    len: usize,
    payload_len: u64,
}

impl MessageDecoder {
    /// Takes the next message from the front of `buf`, refusing one of more
    /// than `max_message` bytes (the server's limit, the same at every call:
    /// passed in rather than kept by every connection's decoder). Returns
    /// `None` when `buf` holds no complete message yet (what it holds stays
    /// there, or is kept as a fragment). After an error the stream is
    /// unusable.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        max_message: usize,
    ) -> Result<Option<Incoming>, DecodeError> {
        loop {
            let Some(header) = Header::parse(buf)? else {
                return Ok(None);
            };
            let is_control = header.opcode & 0x8 != 0;
            if is_control {
                if !header.fin {
                    return Err(DecodeError::Protocol("fragmented control frame"));
                }
                if header.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                    return Err(DecodeError::Protocol("control frame over 125 bytes"));
                }
            } else {
                let so_far = self.fragments.as_ref().map_or(0, |f| f.payload.len());
                if header.payload_len > (max_message - so_far.min(max_message)) as u64 {
                    return Err(DecodeError::TooBig { limit: max_message });
                }
            }
            // Within the limit checked above, so it fits in memory.
            let payload_len = header.payload_len as usize;
            if buf.len() < header.len + payload_len {
                return Ok(None);
            }
            buf.advance(header.len);
            let mut payload = buf.split_to(payload_len);
            unmask(&mut payload, header.mask);
            match header.opcode {
                opcode::PING => return Ok(Some(Incoming::Ping(payload.freeze()))),
                opcode::PONG => return Ok(Some(Incoming::Pong(payload.freeze()))),
                opcode::CLOSE => return close(&payload).map(Some),
                opcode::TEXT | opcode::BINARY => {
                    if self.fragments.is_some() {
                        return Err(DecodeError::Protocol(
                            "a new message started inside a fragmented one",
                        ));
                    }
                    let text = header.opcode == opcode::TEXT;
                    if header.fin {
                        return message(text, payload.to_vec()).map(Some);
                    }
                    self.fragments = Some(Box::new(Fragments {
                        text,
                        payload: payload.to_vec(),
                    }));
                }
                opcode::CONTINUATION => {
                    let Some(fragments) = self.fragments.as_mut() else {
                        return Err(DecodeError::Protocol(
                            "continuation frame without a message",
                        ));
                    };
                    fragments.payload.extend_from_slice(&payload);
                    if header.fin {
                        if let Some(fragments) = self.fragments.take() {
                            let Fragments { text, payload } = *fragments;
                            return message(text, payload).map(Some);
                        }
                    }
                }
                _ => return Err(DecodeError::Protocol("unknown opcode")),
            }
        }
    }
}

impl Header {
    /// Parses the header at the front of `buf`, or `None` if it is not all
    /// there yet.
    fn parse(buf: &[u8]) -> Result<Option<Self>, DecodeError> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        if first & 0x70 != 0 {
            return Err(DecodeError::Protocol(
                "reserved bits set, but no extension was negotiated",
            ));
        }
        if second & 0x80 == 0 {
            return Err(DecodeError::Protocol("client frames must be masked"));
        }
        let (length_bytes, payload_len) = match second & 0x7F {
            126 => (2, None),
            127 => (8, None),
            short => (0, Some(u64::from(short))),
        };
        let len = 2 + length_bytes + 4;
        if buf.len() < len {
            return Ok(None);
        }
        let payload_len = match payload_len {
            Some(short) => short,
            None => {
                let mut bytes = [0u8; 8];
                bytes[8 - length_bytes..].copy_from_slice(&buf[2..2 + length_bytes]);
                u64::from_be_bytes(bytes)
            }
        };
        if payload_len >> 63 != 0 {
            return Err(DecodeError::Protocol("payload length with its top bit set"));
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&buf[len - 4..len]);
        Ok(Some(Self {
            fin: first & FIN != 0,
            opcode: first & 0x0F,
            mask,
            len,
            payload_len,
        }))
    }
}

fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
}

fn message(text: bool, payload: Vec<u8>) -> Result<Incoming, DecodeError> {
    if !text {
        return Ok(Incoming::Binary);
    }
    String::from_utf8(payload)
        .map(Incoming::Text)
        .map_err(|_| DecodeError::InvalidUtf8)
}

fn close(payload: &[u8]) -> Result<Incoming, DecodeError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(DecodeError::Protocol("close frame with a one-byte payload")),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !close_code_allowed(code) {
                return Err(DecodeError::Protocol("close code that may not be sent"));
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(DecodeError::InvalidUtf8);
            }
            Ok(Incoming::Close(Some(code)))
        }
    }
}

/// Close codes an endpoint may send (RFC 6455 section 7.4 and the IANA
/// registry); 1005, 1006 and 1015 are only ever reported locally.
fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1_000;

    /// A masked client frame.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xFA, 0x21, 0x3D];
        let mut frame = vec![first];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len @ 126..=0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<Incoming>, DecodeError> {
        let mut decoder = MessageDecoder::default();
        let mut buf = BytesMut::from(bytes);
        let mut messages = Vec::new();
        while let Some(message) = decoder.decode(&mut buf, LIMIT)? {
            messages.push(message);
        }
        assert!(buf.is_empty(), "bytes left over: {buf:?}");
        Ok(messages)
    }

    #[test]
    fn reads_text_of_every_length_encoding() {
        for len in [0, 1, 125, 126, 999, LIMIT] {
            let text = "x".repeat(len);
            let frame = client_frame(FIN | opcode::TEXT, text.as_bytes());
            assert_eq!(decode_all(&frame), Ok(vec![Incoming::Text(text)]));
        }
    }

    #[test]
    fn the_same_messages_come_out_however_the_bytes_are_split() {
        let mut stream = client_frame(opcode::TEXT, "héllo ".as_bytes());
        stream.extend(client_frame(FIN | opcode::PING, b"p"));
        stream.extend(client_frame(FIN | opcode::CONTINUATION, "wörld".as_bytes()));
        stream.extend(client_frame(FIN | opcode::BINARY, &[0, 1, 2]));
        stream.extend(client_frame(FIN | opcode::PONG, b"7"));
        stream.extend(client_frame(FIN | opcode::CLOSE, b"\x03\xe8bye"));
        let expected = vec![
            Incoming::Ping(Bytes::from_static(b"p")),
            Incoming::Text("héllo wörld".into()),
            Incoming::Binary,
            Incoming::Pong(Bytes::from_static(b"7")),
            Incoming::Close(Some(CloseCode::Normal.code())),
        ];
        assert_eq!(decode_all(&stream).as_ref(), Ok(&expected));
        // Byte by byte: nothing comes out early, nothing is lost.
        let mut decoder = MessageDecoder::default();
        let mut buf = BytesMut::new();
        let mut messages = Vec::new();
        for byte in &stream {
            buf.extend_from_slice(&[*byte]);
            while let Some(message) = decoder.decode(&mut buf, LIMIT).expect("a valid stream") {
                messages.push(message);
            }
        }
        assert_eq!(messages, expected);
    }

    #[test]
    fn a_message_over_the_limit_is_refused_from_its_header() {
        let mut header_only = client_frame(FIN | opcode::TEXT, &vec![b'x'; LIMIT + 1]);
        header_only.truncate(8);
        assert_eq!(
            decode_all(&header_only),
            Err(DecodeError::TooBig { limit: LIMIT })
        );
        // Fragments count together.
        let mut fragmented = client_frame(opcode::TEXT, &vec![b'x'; 600]);
        fragmented.extend(client_frame(FIN | opcode::CONTINUATION, &vec![b'x'; 401]));
        assert_eq!(
            decode_all(&fragmented),
            Err(DecodeError::TooBig { limit: LIMIT })
        );
        let huge = [
            FIN | opcode::TEXT,
            0x80 | 127,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1,
            2,
            3,
            4,
        ];
        assert!(matches!(
            decode_all(&huge),
            Err(DecodeError::Protocol(_) | DecodeError::TooBig { .. })
        ));
    }

    #[test]
    fn framing_errors_are_protocol_errors() {
        let unmasked = [FIN | opcode::TEXT, 0x02, b'h', b'i'];
        let reserved = client_frame(FIN | 0x40 | opcode::TEXT, b"hi");
        let unknown = client_frame(FIN | 0x3, b"hi");
        let long_ping = client_frame(FIN | opcode::PING, &[0; 126]);
        let fragmented_ping = client_frame(opcode::PING, b"");
        let lone_continuation = client_frame(FIN | opcode::CONTINUATION, b"hi");
        let mut interleaved = client_frame(opcode::TEXT, b"a");
        interleaved.extend(client_frame(FIN | opcode::TEXT, b"b"));
        let one_byte_close = client_frame(FIN | opcode::CLOSE, b"\x03");
        let reserved_code = client_frame(FIN | opcode::CLOSE, b"\x03\xed");
        for bytes in [
            &unmasked[..],
            &reserved,
            &unknown,
            &long_ping,
            &fragmented_ping,
            &lone_continuation,
            &interleaved,
            &one_byte_close,
            &reserved_code,
        ] {
            let err = decode_all(bytes).expect_err("refused");
            assert!(matches!(err, DecodeError::Protocol(_)), "{bytes:?}: {err}");
            assert_eq!(err.close_code(), CloseCode::ProtocolError);
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused() {
        let text = client_frame(FIN | opcode::TEXT, &[0xC3]);
        assert_eq!(decode_all(&text), Err(DecodeError::InvalidUtf8));
        // A character split between fragments is fine.
        let mut split = client_frame(opcode::TEXT, &[0xC3]);
        split.extend(client_frame(FIN | opcode::CONTINUATION, &[0xA9]));
        assert_eq!(decode_all(&split), Ok(vec![Incoming::Text("é".into())]));
        let reason = client_frame(FIN | opcode::CLOSE, b"\x03\xe8\xff");
        assert_eq!(
            decode_all(&reason).map_err(|err| err.close_code()),
            Err(CloseCode::InvalidPayload)
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift: deterministic, and enough to walk every branch of the parser.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(second) = bytes.get_mut(1) {
                *second |= 0x80; // Mostly masked, to get past the first check.
            }
            let mut decoder = MessageDecoder::default();
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decoder.decode(&mut buf, 16) {}
        }
    }
}
