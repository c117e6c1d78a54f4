//! Message storage, behind the small [`MessageStore`] interface so the hub
//! does not care where history lives; accounts with their sessions, API
//! tokens and one-time links, behind [`AccountStore`] ([`accounts`]); and
//! rooms with their members, behind [`RoomStore`] ([`rooms`]): all in the
//! same database. The backends are the only code that knows SQL,
//! each statement written once in its module.
//!
//! - [`SqliteStore`], the default: an embedded SQLite file in WAL mode,
//!   written by one thread in batches (group commit).
//! - [`PostgresStore`] (`--db postgres://…`): a PostgreSQL database, written
//!   by one task in batches over a connection pool.
//! - [`MemoryStore`] (`--db :memory:`): history in memory only, gone when
//!   the process ends; for trials and for measuring what storage costs.
//! - [`rooms`]: rooms with their kind, title and owner, memberships with
//!   roles and read state, bans, mutes and the audit log, behind
//!   [`RoomStore`].
//! - [`Database`]: which of them a `--db` value names, and opening it as
//!   [`Stores`], every interface of one backend.
//! - [`StoreError`] ([`error`]): failures as a kind plus the backend's own
//!   error, naming no backend.
//! - [`schema`]: the versioned schema's migrations, applied in order.
//!
//! Every backend passes the same conformance suites
//! (`backend/tests/store.rs`, `backend/tests/account_store.rs`,
//! `backend/tests/room_store.rs`).

pub mod accounts;
mod batch;
pub mod database;
pub mod error;
pub mod memory;
pub mod postgres;
pub mod rooms;
pub mod schema;
pub mod sqlite;

pub use accounts::AccountStore;
pub use database::{Database, Stores};
pub use rooms::RoomStore;

/// Most appends a backend commits in one transaction (group commit): large
/// enough that storage never caps fan-out throughput (one commit, and one
/// `fsync`, per this many messages), small enough that one batch's commit
/// stays a few milliseconds, and well below a client's outgoing queue: a
/// batch is broadcast at once when it commits.
pub const MAX_WRITE_BATCH: usize = 256;
pub use error::{ErrorKind, StoreError};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::{Durability, SqliteStore};

use common::{ChatMessage, DisplayName, MessageId, MessageText, Nonce, RoomName, UserId, Username};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a nonce identifies its message: a post whose author's nonce
/// made a message of the room this recently is a repeat (a client resending
/// what it did not see confirmed), answered with the original.
pub const NONCE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// A message to store: everything but its id and time, which the store
/// assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The room.
    pub room: RoomName,
    /// The author's display name.
    pub name: DisplayName,
    /// The author's account and its username; `None` only for what was
    /// written without one (messages from before accounts, in tests of
    /// them).
    pub author: Option<(UserId, Username)>,
    /// The text.
    pub text: MessageText,
    /// The nonce of the author's `send`, if it had one.
    pub nonce: Option<Nonce>,
    /// The accounts the message calls by name, resolved by the caller
    /// (empty for most posts): stored with the message, in its
    /// transaction, for their room lists' counts
    /// ([`rooms::MemberRoom::mentions`]). A repeat stores none.
    pub mentions: Vec<UserId>,
}

/// What the store did with a [`Draft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Stored as this message.
    New(ChatMessage),
    /// The author's nonce had made this message already: nothing stored.
    Repeat(MessageId),
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// The oldest time of a message whose nonce still counts, for a post made
/// at `now` (milliseconds).
pub(crate) fn nonce_cutoff(now: u64) -> u64 {
    now.saturating_sub(NONCE_WINDOW.as_millis() as u64)
}

/// The message `draft` becomes as the next of a room whose newest message
/// has `last_id` and `last_ts`: the next id, and a time that never goes
/// backwards even if the clock does.
pub(crate) fn next_message(
    draft: Draft,
    last_id: MessageId,
    last_ts: u64,
    now: u64,
) -> ChatMessage {
    ChatMessage {
        room: draft.room,
        id: last_id + 1,
        name: draft.name,
        user_id: draft.author.as_ref().map(|(id, _)| *id),
        username: draft.author.map(|(_, username)| username),
        text: draft.text,
        ts: now.max(last_ts),
        nonce: draft.nonce,
    }
}

/// Whether a stored message by `stored_user` (its account, if it has one)
/// named `stored_name` with the draft's nonce is the draft's original: the
/// same account, or for authors without one, the same name (compared by
/// its uniqueness key, as the room compares them).
pub(crate) fn same_author(draft: &Draft, stored_user: Option<UserId>, stored_name: &str) -> bool {
    match (&draft.author, stored_user) {
        (Some((user, _)), Some(stored)) => *user == stored,
        (None, None) => DisplayName::parse(stored_name)
            .is_ok_and(|stored| stored.uniqueness_key() == draft.name.uniqueness_key()),
        _ => false,
    }
}

/// The future every store operation returns. Boxed so that the store can be
/// used as a trait object (`Arc<dyn MessageStore>`).
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// Durable message history.
pub trait MessageStore: Send + Sync + 'static {
    /// Queues `draft` to be stored, and returns a future that resolves once
    /// it is durably committed: to the message, with the id and time the
    /// store gave it in the transaction that stored it, or, when the
    /// author's nonce made a message within [`NONCE_WINDOW`], to that
    /// message's id, with nothing stored.
    ///
    /// A room's ids increase by one with each message, whichever process
    /// posted it (the store keeps the counter, and PostgreSQL locks a room's
    /// row until the commit); a room's times never go backwards. Posts are
    /// queued before this returns and committed in the order of the calls,
    /// so a caller may post the next message before the previous resolves.
    fn post(&self, draft: Draft) -> StoreFuture<Posted>;

    /// The id of the newest stored message of `room`, or 0 when it has none.
    fn last_id(&self, room: &RoomName) -> StoreFuture<MessageId>;

    /// The newest messages of `room` in the range of `query`, oldest first.
    fn history(&self, room: &RoomName, query: HistoryQuery) -> StoreFuture<HistoryPage>;

    /// The nonces of `room`'s newest messages sent with one, written at or
    /// after `since_ts` (milliseconds since the Unix epoch), newest first,
    /// at most `limit`: what a room needs to recognise a repeated `send`
    /// after a restart.
    fn recent_nonces(
        &self,
        room: &RoomName,
        since_ts: u64,
        limit: usize,
    ) -> StoreFuture<Vec<NonceRecord>>;

    /// The messages of `room` with an id above `after`, oldest first, at
    /// most `limit`: a room's history read forwards (export, catching up).
    fn messages_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> StoreFuture<Vec<ChatMessage>>;

    /// The rooms that have messages, the most recently active first.
    fn recent_rooms(&self, limit: usize) -> StoreFuture<Vec<RoomActivity>>;

    /// Succeeds when the store can serve reads and take writes.
    fn check(&self) -> StoreFuture<()>;

    /// Commits every write queued so far and stops taking new ones.
    fn close(&self) -> StoreFuture<()>;
}

/// Which messages of a room [`MessageStore::history`] returns: the newest
/// ones with `after < id < before`, at most `limit` of them and at most
/// [`common::api::HISTORY_MAX_BYTES`] of text (but always at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only messages with a larger id (exclusive); `None` for no lower bound.
    pub after: Option<MessageId>,
    /// Only messages with a smaller id (exclusive); `None` for no upper bound.
    pub before: Option<MessageId>,
    /// At most this many messages.
    pub limit: usize,
}

/// What [`MessageStore::history`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    /// The messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// True when messages in the queried range older than `messages` exist.
    pub has_older: bool,
}

/// A stored message's nonce, as listed by [`MessageStore::recent_nonces`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceRecord {
    /// The message's id.
    pub id: MessageId,
    /// Its author's name.
    pub name: DisplayName,
    /// Its author's account (`None` for a message from before accounts).
    pub user_id: Option<UserId>,
    /// The nonce its `send` carried.
    pub nonce: Nonce,
    /// When it was accepted, in milliseconds since the Unix epoch.
    pub ts: u64,
}

/// A room and its newest message id, as listed by [`MessageStore::recent_rooms`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomActivity {
    /// The room.
    pub room: RoomName,
    /// The id of its newest message.
    pub last_id: MessageId,
    /// Its members on every instance, where the store knows them (cluster
    /// mode); otherwise the running room counts them.
    pub members: Option<usize>,
}

/// Messages a history page has room for before it grows.
const PAGE_INITIAL_CAPACITY: usize = 64;

/// Builds a [`HistoryPage`] from the messages of a queried range, newest
/// first (at least `limit + 1` of them when there are that many, so that
/// `has_older` can be told): keeps the newest `limit` that fit in
/// [`common::api::HISTORY_MAX_BYTES`] of JSON-encoded text (always at
/// least one), oldest first.
pub(crate) fn page_from_newest<E>(
    newest_first: impl Iterator<Item = Result<ChatMessage, E>>,
    limit: usize,
) -> Result<HistoryPage, E> {
    // Grown as rows come: most pages (and most rooms) are short.
    let mut messages = Vec::with_capacity(limit.min(PAGE_INITIAL_CAPACITY));
    let mut text_bytes = 0;
    let mut has_older = false;
    for message in newest_first {
        let message = message?;
        text_bytes += json_string_len(message.text.as_str());
        if messages.len() == limit
            || (text_bytes > common::api::HISTORY_MAX_BYTES && !messages.is_empty())
        {
            has_older = true;
            break;
        }
        messages.push(message);
    }
    messages.reverse();
    Ok(HistoryPage {
        messages,
        has_older,
    })
}

/// How many bytes `text` takes inside a JSON string: control characters are
/// escaped (`\u0001` is six bytes for one), so a budget on raw bytes could be
/// passed several times over by a history of such messages.
fn json_string_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_string_len_matches_serde_json() {
        for text in [
            "plain",
            "quote \" and \\",
            "line\nbreak\ttab",
            "\u{1}\u{1f}",
            "ünï ✓",
        ] {
            let encoded = serde_json::to_string(text).expect("encodes");
            assert_eq!(json_string_len(text), encoded.len() - 2, "{text:?}");
        }
    }
}
