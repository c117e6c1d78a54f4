//! Accounts as the server uses them: who a request comes from, and (as
//! they are added) the use cases of signing in, signing up and
//! administration, built on the account store ([`crate::store::accounts`])
//! and the security primitives ([`crate::auth`]).
//!
//! # Layout
//!
//! - [`identity`]: [`authenticate`], who a request is from (its session
//!   cookie or bearer token), as an [`Identity`]; the one place sessions
//!   expire and their "last seen" is written.

pub mod identity;

pub use identity::{authenticate, Credential, Identity};
