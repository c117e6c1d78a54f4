//! Protocol version 2 as the benchmark speaks it: client frames encoded
//! with the `common` crate (a `join` names no one: the account the
//! connection signed in with is who joins), server frames read through a
//! fast path, and the stamp every message text carries.
//!
//! Receiving is the generator's hot loop (up to millions of deliveries a
//! second on one core), and a full serde decode of a `message` frame
//! allocates its strings. The fast path instead reads the frame as the
//! server writes it (`{"type":"message","room":...,"id":...,"name":...,
//! "user_id":...,"username":...,"text":...,"ts":...}`, fields in
//! declaration order, as serde emits them; `user_id` and `username` are
//! absent on messages from before accounts)
//! and borrows the room and text, with no allocation. Anything else, or a
//! string with an escape in it, falls back to the full decode, so the fast
//! path can only be slower, never wrong. `chat-bench decode-cost` measures
//! both on this machine; the figures are in every JSON report.

use common::{ClientFrame, MessageId, MessageText, RoomName, ServerFrame};
use std::borrow::Cow;
use std::time::Instant;

/// Bytes of every message text: a typical chat line, as in the issue's
/// figures ("~100-byte messages").
pub const TEXT_BYTES: usize = 100;

/// The start of every stamped text, so that a stray message is recognised.
const STAMP_PREFIX: &str = "b:";

/// Why a frame could not be encoded or understood.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// A value the benchmark built broke a protocol rule.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// The value.
        value: String,
        /// The rule it broke.
        reason: common::ValidationError,
    },
    /// The server sent text that is no server frame.
    #[error("not a server frame ({reason}): {frame}")]
    NotAFrame {
        /// The decoder's complaint.
        reason: serde_json::Error,
        /// The start of the frame.
        frame: String,
    },
}

/// What a message text says about its message: which run, which publisher,
/// the publisher's sequence number, and when it was meant to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The run of the scenario (warm-up runs included), from 0.
    pub run: u32,
    /// The publisher's index within its room.
    pub publisher: u32,
    /// The publisher's sequence number within the run, from 0.
    pub seq: u64,
    /// When the message was meant to be sent, in nanoseconds since the
    /// generator's clock epoch (see [`crate::client::Clock`]).
    pub intended_ns: u64,
}

impl Stamp {
    /// The message text: the stamp, padded to [`TEXT_BYTES`].
    pub fn text(&self) -> String {
        let mut text = format!(
            "{STAMP_PREFIX}{}:{}:{}:{}:",
            self.run, self.publisher, self.seq, self.intended_ns
        );
        while text.len() < TEXT_BYTES {
            text.push('x');
        }
        text
    }

    /// Reads the stamp back from a message text.
    pub fn parse(text: &str) -> Option<Self> {
        let mut fields = text.strip_prefix(STAMP_PREFIX)?.splitn(5, ':');
        let run = fields.next()?.parse().ok()?;
        let publisher = fields.next()?.parse().ok()?;
        let seq = fields.next()?.parse().ok()?;
        let intended_ns = fields.next()?.parse().ok()?;
        fields.next()?; // The padding, after the last ':'.
        Some(Self {
            run,
            publisher,
            seq,
            intended_ns,
        })
    }
}

/// A frame from the server, as far as the benchmark cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A chat message.
    Message(Delivery<'a>),
    /// The member list of a room changed.
    Presence,
    /// The answer to a join.
    Joined,
    /// Someone is typing.
    Typing,
    /// A request failed: `code: message`.
    Error(String),
    /// A person's state in a room changed (`membership`, `muted`, `read`)
    /// or a room's settings did (`room_changed`): nothing the benchmark
    /// measures.
    RoomState,
}

/// The parts of a `message` frame the benchmark checks.
#[derive(Debug, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The room.
    pub room: Cow<'a, str>,
    /// The message id.
    pub id: u64,
    /// The text.
    pub text: Cow<'a, str>,
}

/// Reads a server frame: the fast path for messages, prefixes for the
/// frames whose content the hot loop skips, the full decode otherwise.
pub fn classify(frame: &str) -> Result<Incoming<'_>, WireError> {
    if frame.starts_with(r#"{"type":"message","#) {
        if let Some(delivery) = fast_message(frame) {
            return Ok(Incoming::Message(delivery));
        }
    } else if frame.starts_with(r#"{"type":"presence","#) {
        return Ok(Incoming::Presence);
    } else if frame.starts_with(r#"{"type":"typing","#) {
        return Ok(Incoming::Typing);
    } else if frame.starts_with(r#"{"type":"joined","#) {
        return Ok(Incoming::Joined);
    }
    Ok(match decode(frame)? {
        ServerFrame::Message(message) => Incoming::Message(Delivery {
            room: Cow::Owned(message.room.to_string()),
            id: message.id,
            text: Cow::Owned(message.text.to_string()),
        }),
        ServerFrame::Presence { .. } => Incoming::Presence,
        ServerFrame::Typing { .. } => Incoming::Typing,
        ServerFrame::Joined { .. } => Incoming::Joined,
        ServerFrame::Error(error) => Incoming::Error(format!("{}: {}", error.code, error.message)),
        ServerFrame::Read { .. }
        | ServerFrame::Membership { .. }
        | ServerFrame::Muted { .. }
        | ServerFrame::RoomChanged { .. } => Incoming::RoomState,
    })
}

/// How many messages the history of a `joined` frame holds, read without
/// building its messages or its members (serde skips what it is not asked
/// for).
pub fn joined_history_len(frame: &str) -> Result<usize, WireError> {
    #[derive(serde::Deserialize)]
    struct History {
        history: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<History>(frame)
        .map(|joined| joined.history.len())
        .map_err(|reason| WireError::NotAFrame {
            reason,
            frame: frame.chars().take(200).collect(),
        })
}

/// Fully decodes a server frame.
pub fn decode(frame: &str) -> Result<ServerFrame, WireError> {
    ServerFrame::decode(frame).map_err(|reason| WireError::NotAFrame {
        reason,
        frame: frame.chars().take(200).collect(),
    })
}

/// The fast path: `None` unless the frame is a `message` exactly as the
/// server writes it, with no escape in the room, name or text.
fn fast_message(frame: &str) -> Option<Delivery<'_>> {
    let rest = frame.strip_prefix(r#"{"type":"message","room":""#)?;
    let (room, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(r#","id":"#)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = rest[..digits].parse().ok()?;
    let rest = rest[digits..].strip_prefix(r#","name":""#)?;
    let (_name, rest) = plain_string(rest)?;
    // The author's account, on every message posted since accounts.
    let rest = match rest.strip_prefix(r#","user_id":"#) {
        Some(rest) => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let rest = rest[digits..].strip_prefix(r#","username":""#)?;
            plain_string(rest)?.1
        }
        None => rest,
    };
    let rest = rest.strip_prefix(r#","text":""#)?;
    let (text, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(r#","ts":"#)?;
    if !rest.ends_with('}') {
        return None;
    }
    Some(Delivery {
        room: Cow::Borrowed(room),
        id,
        text: Cow::Borrowed(text),
    })
}

/// Splits `rest` at the closing quote of a JSON string it starts inside;
/// `None` if an escape comes first (the full decode handles those).
fn plain_string(rest: &str) -> Option<(&str, &str)> {
    // SIMD search: the text is most of the frame.
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| (&rest[..end], &rest[end + 1..]))
}

/// The text of a `join` frame (as the connection's account).
pub fn join_frame(room: &str) -> Result<String, WireError> {
    join_since_frame(room, None)
}

/// The text of a `join` frame that asks for the messages after `since`
/// (a client that reconnects).
pub fn join_since_frame(room: &str, since: Option<MessageId>) -> Result<String, WireError> {
    let frame = ClientFrame::Join {
        room: room_name(room)?,
        since,
    };
    Ok(frame.encode())
}

/// The text of a `send` frame, without a nonce (the stamp identifies it).
pub fn send_frame(room: &str, text: &str) -> Result<String, WireError> {
    let frame = ClientFrame::Send {
        room: room_name(room)?,
        text: MessageText::parse(text).map_err(invalid("text", text))?,
        nonce: None,
    };
    Ok(frame.encode())
}

/// The text of a `leave` frame.
pub fn leave_frame(room: &str) -> Result<String, WireError> {
    let frame = ClientFrame::Leave {
        room: room_name(room)?,
    };
    Ok(frame.encode())
}

fn room_name(room: &str) -> Result<RoomName, WireError> {
    RoomName::parse(room).map_err(invalid("room", room))
}

fn invalid(what: &'static str, value: &str) -> impl FnOnce(common::ValidationError) -> WireError {
    let value = value.to_owned();
    move |reason| WireError::Invalid {
        what,
        value,
        reason,
    }
}

/// The cost of reading one typical `message` frame, both ways.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct DecodeCost {
    /// Nanoseconds per frame through [`classify`] and [`Stamp::parse`].
    pub fast_path_ns: f64,
    /// Nanoseconds per frame through `ServerFrame::decode` and
    /// [`Stamp::parse`].
    pub full_decode_ns: f64,
}

/// Frames decoded each way by [`measure_decode_cost`].
pub const DECODE_COST_FRAMES: u32 = 200_000;

/// A `message` frame's JSON as the server sends it in the fan-out
/// scenarios: a stamped text of [`TEXT_BYTES`], a room and a name like
/// theirs, an id and a timestamp of realistic width. What
/// [`measure_decode_cost`] reads, and the size `chat-bench write-floor`
/// writes by default.
pub fn typical_message_frame() -> Result<String, WireError> {
    let stamp = Stamp {
        run: 3,
        publisher: 2,
        seq: 1234,
        intended_ns: 98_765_432_101,
    };
    Ok(ServerFrame::Message(common::ChatMessage {
        room: room_name("fanout")?,
        id: 123_456,
        name: common::DisplayName::parse("bench-000002").map_err(invalid("name", "bench"))?,
        user_id: Some(3),
        username: common::Username::parse("bench-000002").ok(),
        text: MessageText::parse(stamp.text()).map_err(invalid("text", "stamp"))?,
        ts: 1_700_000_000_000,
        nonce: None,
    })
    .encode())
}

/// Measures [`DecodeCost`] on a frame like those of the fan-out scenarios
/// ([`typical_message_frame`]).
pub fn measure_decode_cost() -> Result<DecodeCost, WireError> {
    let frame = typical_message_frame()?;
    let time = |read: &dyn Fn(&str) -> Option<u64>| {
        let start = Instant::now();
        let mut sum = 0u64;
        for _ in 0..DECODE_COST_FRAMES {
            sum = sum.wrapping_add(read(std::hint::black_box(&frame)).unwrap_or(0));
        }
        std::hint::black_box(sum);
        start.elapsed().as_nanos() as f64 / f64::from(DECODE_COST_FRAMES)
    };
    let fast = |frame: &str| match classify(frame) {
        Ok(Incoming::Message(delivery)) => Some(Stamp::parse(&delivery.text)?.seq + delivery.id),
        _ => None,
    };
    let full = |frame: &str| match ServerFrame::decode(frame) {
        Ok(ServerFrame::Message(message)) => {
            Some(Stamp::parse(message.text.as_str())?.seq + message.id)
        }
        _ => None,
    };
    Ok(DecodeCost {
        fast_path_ns: time(&fast),
        full_decode_ns: time(&full),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ChatMessage;

    #[test]
    fn a_joined_frames_history_is_counted_without_its_members() {
        let person = |id: u64| common::Person {
            user_id: id,
            username: Username::parse(format!("user-{id}")).expect("username"),
            display_name: DisplayName::parse("Ann").expect("name"),
        };
        let text = message_by("lobby", "Ann", Some(1), "hi", None);
        let ServerFrame::Message(message) = decode(&text).expect("a message") else {
            panic!("not a message");
        };
        let joined = ServerFrame::Joined {
            room: RoomName::parse("lobby").expect("room"),
            you: person(1),
            members: (1..=300).map(person).collect(),
            history: vec![message.clone(), message.clone(), message],
            has_older: false,
        }
        .encode();
        assert_eq!(joined_history_len(&joined).expect("a joined frame"), 3);
        assert!(joined_history_len(r#"{"type":"joined"}"#).is_err());
    }

    use common::{DisplayName, Username};

    /// A message frame as the server writes it; by an account unless
    /// `name` is from before accounts (`None` for the user id then).
    fn message_by(
        room: &str,
        name: &str,
        user_id: Option<u64>,
        text: &str,
        nonce: Option<&str>,
    ) -> String {
        ServerFrame::Message(ChatMessage {
            room: RoomName::parse(room).expect("room"),
            id: 42,
            name: DisplayName::parse(name).expect("name"),
            user_id,
            username: user_id.map(|id| Username::parse(format!("user-{id}")).expect("username")),
            text: MessageText::parse(text).expect("text"),
            ts: 1_700_000_000_000,
            nonce: nonce.map(|n| common::Nonce::parse(n).expect("nonce")),
        })
        .encode()
    }

    fn message(room: &str, name: &str, text: &str, nonce: Option<&str>) -> String {
        message_by(room, name, Some(12_345), text, nonce)
    }

    #[test]
    fn stamps_round_trip_at_the_message_size() {
        let stamp = Stamp {
            run: 7,
            publisher: 3,
            seq: 99_999,
            intended_ns: 12_345_678_901_234,
        };
        let text = stamp.text();
        assert_eq!(text.len(), TEXT_BYTES);
        assert_eq!(Stamp::parse(&text), Some(stamp));
        assert_eq!(Stamp::parse("hello"), None);
        assert_eq!(Stamp::parse("b:1:2:3"), None);
    }

    #[test]
    fn the_fast_path_reads_the_servers_own_encoding() {
        // If the server's field order changed, the fast path would stop
        // matching: this test says so rather than letting it go slow.
        let text = Stamp {
            run: 1,
            publisher: 0,
            seq: 5,
            intended_ns: 10,
        }
        .text();
        for (user_id, nonce) in [(Some(7), None), (Some(8), Some("n-1")), (None, None)] {
            // Messages by an account, and from before accounts.
            let frame = message_by("lobby", "Ann", user_id, &text, nonce);
            assert_eq!(
                frame.contains(r#""username":"user-"#),
                user_id.is_some(),
                "{frame}"
            );
            let delivery = fast_message(&frame).expect("the fast path matches");
            assert_eq!(delivery.room, "lobby");
            assert_eq!(delivery.id, 42);
            assert_eq!(delivery.text, text);
            assert!(matches!(delivery.text, Cow::Borrowed(_)));
        }
    }

    #[test]
    fn escapes_fall_back_to_the_full_decode_with_the_same_result() {
        let frame = message("lobby", "A \"quoted\" name", "say \"hi\"\n", None);
        assert_eq!(fast_message(&frame), None);
        let Ok(Incoming::Message(delivery)) = classify(&frame) else {
            panic!("a message");
        };
        assert_eq!(delivery.text, "say \"hi\"\n");
        assert_eq!(delivery.id, 42);
    }

    #[test]
    fn other_frames_are_told_apart() {
        // Version 2's frames: people are objects, `left` are user ids.
        let ann = r#"{"user_id":1,"username":"ann","display_name":"Ann"}"#;
        let presence =
            format!(r#"{{"type":"presence","room":"r","joined":[{ann}],"left":[2],"updated":[]}}"#);
        assert_eq!(classify(&presence).expect("presence"), Incoming::Presence);
        let Ok(ServerFrame::Presence { joined, left, .. }) = decode(&presence) else {
            panic!("a version-2 presence frame decodes");
        };
        assert_eq!((joined[0].user_id, joined[0].username.as_str()), (1, "ann"));
        assert_eq!(left, [2]);
        let joined = format!(
            r#"{{"type":"joined","room":"r","you":{ann},"members":[{ann}],"history":[],"has_older":false}}"#
        );
        assert_eq!(classify(&joined).expect("joined"), Incoming::Joined);
        let Ok(ServerFrame::Joined { you, members, .. }) = decode(&joined) else {
            panic!("a version-2 joined frame decodes");
        };
        assert_eq!((you.user_id, members.len()), (1, 1));
        let error = r#"{"type":"error","code":"not_joined","message":"join first"}"#;
        assert_eq!(
            classify(error).expect("error"),
            Incoming::Error("not_joined: join first".into())
        );
        assert!(classify(r#"{"type":"nonsense"}"#).is_err());
        // A truncated message is no message, even on the fast path's prefix.
        assert!(classify(r#"{"type":"message","room":"r","id":1"#).is_err());
    }

    #[test]
    fn client_frames_follow_the_protocol() {
        assert_eq!(
            join_frame("r-1").expect("join"),
            r#"{"type":"join","room":"r-1"}"#
        );
        assert_eq!(
            join_since_frame("r-1", Some(41)).expect("join"),
            r#"{"type":"join","room":"r-1","since":41}"#
        );
        assert_eq!(
            send_frame("r-1", "hi").expect("send"),
            r#"{"type":"send","room":"r-1","text":"hi"}"#
        );
        assert_eq!(
            leave_frame("r-1").expect("leave"),
            r#"{"type":"leave","room":"r-1"}"#
        );
        assert!(join_frame("Bad Room").is_err());
    }
}
