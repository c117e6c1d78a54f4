//! The client's state and the reducer that moves it: every event (a frame
//! from the server, the socket opening or closing, something the person
//! did) is a method of [`Chat`] that updates the state and returns the
//! frames to send. Nothing here touches the browser, so host tests drive
//! whole conversations through it, reconnects included.
//!
//! Guarantees kept here:
//! - a message is shown once: messages are kept by id, and a second message
//!   with the same author and nonce (a resend the server stored twice) is
//!   dropped;
//! - nothing is missed: after a reconnect every room is joined again with
//!   `since` = the newest id seen, and a history with `has_older` (a gap
//!   larger than the server sends at once) replaces what was shown, with
//!   older pages to load;
//! - nothing written is lost: see [`crate::outbox`]; what is queued and
//!   drafted survives the session ending (the page signs in again and
//!   sends it) and, through [`Chat::saved`], a reload.
//!
//! People are accounts (protocol version 2): members, typing and one's own
//! messages are told apart by user id, never by display name, which is
//! neither unique nor fixed.
//!
//! # Layout
//!
//! - here: the timings ([`TYPING_SHOWN_MS`], [`REJOIN_DELAY_MS`], …), the
//!   state of the connection ([`Connection`]) and of one room's membership
//!   ([`Membership`]), and what the page must do besides sending frames
//!   ([`Command`]);
//! - [`incoming`]: a frame from the server decoded as far as this client
//!   understands it ([`Incoming`]), read by its `type` with a decoder of
//!   its own rather than `ServerFrame`'s generic one, to keep the
//!   WebAssembly small;
//! - [`room`]: one room as this client knows it ([`Room`]): its messages by
//!   id and by nonce, its outbox, unread count, members, typing and draft;
//! - [`chat`]: everything the page shows ([`Chat`]) and its reducer, one
//!   file per kind of event in `chat/`: the socket opening and closing and
//!   the session (`socket`), frames from the server (`server`), and what
//!   the person does (`person`).
//!
//! The host tests (`tests/`) drive whole conversations through [`Chat`],
//! one file per concern.

pub mod chat;
pub mod incoming;
pub mod room;

pub use chat::Chat;
pub use incoming::Incoming;
pub use room::{author_key, Room, RoomSettings};

use common::{ClientFrame, RoomName};

/// How long "… is typing" stays after the last `typing` frame, in
/// milliseconds. Senders repeat the frame every
/// [`crate::compose::TYPING_REPEAT_MS`] while they type, so this bridges
/// the gaps.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;

/// How long to wait before joining a room again after the server refused a
/// re-join for a reason that passes (the room briefly unavailable), in
/// milliseconds.
pub const REJOIN_DELAY_MS: u32 = 3_000;

/// How many times in a row such a re-join is tried before the person is
/// asked what to do: with [`REJOIN_DELAY_MS`], a minute, longer than the
/// server takes to notice a dead connection.
pub const REJOIN_ATTEMPTS: u32 = 20;

/// How long to wait before sending again the messages the server refused
/// as over its rate limit (`rate_limited`), in milliseconds: the server
/// refills its bucket at two messages per second by default.
pub const RESEND_DELAY_MS: u32 = 1_000;

/// The state of the connection, as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The first attempt is under way.
    Connecting,
    /// The socket is open.
    Online,
    /// The connection was lost; the next attempt starts in this long.
    Offline {
        /// Milliseconds until the next attempt.
        retry_in_ms: u32,
    },
    /// The page closed the connection (it is being left or hidden).
    Closed,
    /// No connection is needed: not signed in, or no room open. The
    /// server closes connections that join nothing, so none is kept open.
    Idle,
}

/// Where this client stands in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Not joined: waiting for a connection, or for signing in.
    Waiting,
    /// The `join` is sent; waiting for `joined`.
    Joining,
    /// A member.
    Joined,
    /// The server refused the join, for this reason (in its words).
    Refused(String),
}

/// What the page must do besides sending frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send this frame on the current connection.
    Send(ClientFrame),
    /// Call [`Chat::rejoin`] for this room after [`REJOIN_DELAY_MS`].
    RejoinLater(RoomName),
    /// Call [`Chat::resend`] for this room after [`RESEND_DELAY_MS`].
    ResendLater(RoomName),
}

#[cfg(test)]
mod tests;
