//! Wire protocol version 2 of the chat, shared by the server (`backend`) and the web
//! client (`frontend`), and readable by any third-party client.
//!
//! The protocol itself is described for humans in `docs/PROTOCOL.md`; this
//! crate is its executable form. It follows "parse, don't validate": every
//! value that has a rule (a room name, a display name, a message text, a
//! nonce) has a type whose only constructor checks the rule, so code that
//! holds a [`RoomName`] never has to ask whether it is valid.
//!
//! # Layout
//!
//! - [`values`]: the validated value types ([`RoomName`], [`DisplayName`],
//!   [`MessageText`], [`Nonce`]), their limits and [`ValidationError`].
//! - [`error`]: [`ErrorCode`], the machine-readable code of every `error` frame.
//! - [`frames`]: the frames, [`ClientFrame`] (client to server) and
//!   [`ServerFrame`] (server to client), and [`ClientFrame::decode`], which
//!   turns any text into a frame or into a [`RequestError`] with its code.
//! - [`close`]: [`CloseCode`], the WebSocket close code the server ends a
//!   connection with, and what a client should do on each.
//! - [`api`]: the bodies of the HTTP API (`/api/rooms`, `/api/rooms/{room}/messages`).
//! - [`account`]: accounts' values ([`Username`], [`Password`], [`UserId`],
//!   [`Role`], [`AccountKind`], [`AccountState`]) and [`AccountError`].
//! - [`mention`]: how a message calls people (`@ann`), the one rule the
//!   server counts and clients highlight.
//! - [`room`]: rooms' values ([`RoomKind`], [`RoomRole`], [`RoomTitle`],
//!   [`RoomTopic`]), direct conversations' slugs, and [`RoomError`].
//! - `text`: the string inside usernames and display names (inline up to
//!   24 bytes on the server, a `String` in the web client).
//! - `openapi` (feature `openapi`, which only the server enables): the JSON
//!   schemas of the validated values, with their rules, for the server's
//!   OpenAPI document; the other wire types derive theirs under the same
//!   feature.

/// Implements, for an enum of unit variants, its name as a string (the
/// serde name: the store keeps it as text, the protocol sends it), and
/// parsing one back (an unknown name is `$error::Unknown`).
macro_rules! named_enum {
    ($type:ident, $error:ident, $what:literal, { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $type {
            /// The name, as serde writes it and the store keeps it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $type {
            type Err = $error;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($name => Ok(Self::$variant),)*
                    _ => Err($error::Unknown {
                        what: $what,
                        value: value.to_owned(),
                    }),
                }
            }
        }
    };
}

pub mod account;
pub mod api;
pub mod close;
pub mod error;
pub mod frames;
pub mod mention;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod room;
mod text;
pub mod values;

pub use account::{AccountError, AccountKind, AccountState, Password, Role, UserId, Username};
pub use close::CloseCode;
pub use error::ErrorCode;
pub use frames::{
    ChatMessage, ClientFrame, ErrorFrame, MemberState, MessageId, Person, RequestError, ServerFrame,
};
pub use room::{RoomError, RoomKind, RoomRole, RoomTitle, RoomTopic};
pub use values::{DisplayName, MessageText, Nonce, RoomName, ValidationError};

/// The protocol version this crate implements; `docs/PROTOCOL.md` describes it.
pub const PROTOCOL_VERSION: u32 = 2;
