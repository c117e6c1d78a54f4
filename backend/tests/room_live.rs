//! What rooms people belong to do to open WebSockets: a real server, real
//! sockets, a real database, and the HTTP API (tests/rooms.rs tests it on
//! its own) changing rooms under the sockets' feet.
//!
//! - `room_live/access.rs`: who a `join` lets in (private rooms, direct
//!   conversations), and the `membership` that an addition tells;
//! - `room_live/moderation.rs`: a ban, a mute and the archive reaching the
//!   connections, and what they may post then;
//! - `room_live/reading.rs`: read state across a person's connections,
//!   and the mentions a post counts.
//!
//! Every test runs on the database `TempDb::new` gives (SQLite, or
//! PostgreSQL with `CHAT_TEST_DB=postgres`); the read state and mentions,
//! the store's own counting, run on PostgreSQL in every run too. The
//! cluster's counterparts are in tests/cluster_rooms.rs.

mod support;

#[path = "room_live/access.rs"]
mod access;
#[path = "room_live/moderation.rs"]
mod moderation;
#[path = "room_live/reading.rs"]
mod reading;

use common::ChatMessage;
use support::rooms::{party, Party};
use support::{TempDb, TestServer};

/// A server on `db`, and Ann, Bob and Cid signed in to it.
async fn start(db: TempDb) -> (TempDb, TestServer, Party) {
    let server = TestServer::start(&db.path()).await;
    let people = party(&server).await;
    (db, server, people)
}

/// The texts of `messages`, in order.
fn texts(messages: &[ChatMessage]) -> Vec<&str> {
    messages
        .iter()
        .map(|message| message.text.as_str())
        .collect()
}
