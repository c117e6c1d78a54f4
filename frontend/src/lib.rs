//! The chat's web client: Leptos (client-side rendering), compiled to
//! WebAssembly by trunk, speaking the protocol of `docs/PROTOCOL.md` with
//! the types of the `common` crate.
//!
//! # Layout
//!
//! Plain Rust, tested on the host (`cargo nextest run -p frontend`):
//! - [`state`]: the client's state and its reducer: frames from the server,
//!   the socket opening and closing, and what the person does go in;
//!   frames to send come out.
//! - [`outbox`]: the offline queue of messages not confirmed yet.
//! - [`saved`]: what is kept in local storage per account (rooms, drafts,
//!   the outbox) across a session's end and a reload.
//! - [`sign_in`]: the sign-in form checked before it is sent, and what
//!   the sign-in page offers (sign-up, setup) as the server allows.
//! - [`backoff`]: the reconnect schedule (exponential, with jitter).
//! - [`timeline`]: the rows of the message list: grouping, pending messages,
//!   and the "… is typing" line.
//! - [`linkify`]: splits message text into text and links.
//! - [`compose`]: the length counter and the typing notice schedule.
//! - [`json`]: `serde_json`'s reader, with structs read only from objects
//!   (smaller WebAssembly).
//! - [`route`]: the room in the address (`#/r/lobby`), the account
//!   pages' addresses (`#/setup/<token>`, `#/invite/<token>`, …), and the
//!   signed-in pages' (`#/settings`, `#/admin`).
//! - [`account_forms`]: the account pages' forms checked with `common`'s
//!   rules, and the accounts API's errors in words.
//! - [`account_lists`]: the rows of the settings and administration
//!   pages' lists (sessions, tokens, accounts, invites) with their
//!   actions, times in words, and the one-time links.
//!
//! In the browser:
//! - [`web`]: the WebSocket task, the HTTP API, local storage and clocks.
//! - [`api`]: the typed calls of the accounts HTTP API (its errors are
//!   read on the host too).
//! - [`ui`]: the components.

pub mod account_forms;
pub mod account_lists;
pub mod api;
pub mod backoff;
pub mod compose;
pub mod json;
pub mod linkify;
pub mod outbox;
pub mod route;
pub mod saved;
pub mod sign_in;
pub mod state;
pub mod timeline;
pub mod ui;
pub mod web;
