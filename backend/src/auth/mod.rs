//! The security primitives of accounts: password hashes, secret tokens,
//! the throttling of password guesses, the session cookie and the check
//! against cross-site request forgery. Each is plain and self-contained,
//! with no database and no routes; the account store and the HTTP
//! handlers are built on them.
//!
//! # Layout
//!
//! - [`password`]: argon2id hashes of passwords, at OWASP's parameters or
//!   above (the one place they are set), and the bounded pool
//!   ([`PasswordHasher`]) that computes them off the async threads, so a
//!   storm of sign-ins can neither exhaust memory nor starve the rooms; and
//!   the dummy verification that makes an unknown username cost what a
//!   wrong password costs.
//! - [`token`]: [`Token`], 256 random bits shown as 43 characters of
//!   base64url, for sessions, API tokens, setup, invite and reset links;
//!   and [`TokenHash`], its SHA-256, the only form stored, so a copy of
//!   the database signs nobody in.
//! - [`throttle`]: [`Throttle`], which counts failed sign-ins per username
//!   and per client address (IPv6 per /64) and refuses more past a limit,
//!   in bounded memory, saying nothing about which usernames exist.
//! - [`cookie`]: the session cookie (`HttpOnly`, `SameSite=Lax`, `Secure`
//!   over TLS), reading it and `Authorization: Bearer` from a request, the
//!   idle expiry of sessions and how often their "last seen" is written.
//! - [`origin`]: the check of state-changing requests against cross-site
//!   request forgery: an allowed `Origin` (the WebSocket upgrade's rule)
//!   and a JSON body.
//!
//! # What is never logged
//!
//! Passwords and tokens, in any form that opens anything: no function here
//! logs them or puts them in an error, [`Token`] has no `Display` and its
//! `Debug` shows no secret, and a [`TokenHash`] shows only its first bytes.
//! Code built on these must keep it so: log a user by id or username,
//! never by the text of their cookie, their `Authorization` header, a
//! setup, invite or reset link, or a request body that holds a password.
//! A stored password hash is not logged either, even when it is corrupt.

pub mod cookie;
pub mod origin;
pub mod password;
pub mod throttle;
pub mod token;

pub use cookie::{SESSION_COOKIE, SESSION_IDLE_EXPIRY, SESSION_TOUCH_INTERVAL};
pub use origin::CsrfError;
pub use password::{PasswordHasher, PoolError};
pub use throttle::{RetryAfter, Throttle};
pub use token::{Token, TokenHash};
