//! Accounts as the server uses them: who a request comes from, and the use
//! cases of signing in, signing up, one's own account and administration,
//! built on the account store ([`crate::store::accounts`]) and the
//! security primitives ([`crate::auth`]).
//!
//! [`Accounts`] is the one value the HTTP handlers and the command line
//! call; each method is one use case and enforces its rules on the server,
//! whoever calls it:
//!
//! - the last active administrator can be neither demoted nor deactivated;
//! - bots have no password and cannot sign in with one;
//! - a deactivated account cannot sign in, has no sessions, and its API
//!   tokens do not authenticate (the store returns only active accounts);
//! - a failed sign-in is throttled per username and per address
//!   ([`crate::auth::throttle`]), an unknown username costs one password
//!   verification like a wrong password, and both get the same answer.
//!
//! # Layout
//!
//! - [`identity`]: [`authenticate`], who a request is from (its session
//!   cookie or bearer token), as an [`Identity`]; the one place sessions
//!   expire and their "last seen" is written.
//! - [`error`]: [`AccountsError`], and its code and HTTP status.
//! - [`events`]: [`AccountEvent`]s for live connections, published after
//!   the store committed.
//! - [`session`]: the first-run setup, signing in and out, signing up,
//!   password resets.
//! - [`me`]: one's own account: profile, password, sessions, API tokens.
//! - [`admin`]: administration: accounts, roles and states, reset links,
//!   invites, bots' tokens; each written to the audit log
//!   ([`crate::audit`]).

pub mod admin;
pub mod error;
pub mod events;
pub mod identity;
pub mod me;
pub mod session;
#[cfg(test)]
mod tests;

pub use error::AccountsError;
pub use events::AccountEvent;
pub use identity::{authenticate, Credential, Identity};

use crate::audit::Audit;
use crate::auth::{PasswordHasher, Throttle, Token};
use crate::store::accounts::{Account, LinkKind};
use crate::store::AccountStore;
use common::api::accounts::{AccountInfo, Me, SignupMode, TokenInfo};
use common::Password;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// How accounts behave on this server (from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    /// Who may sign up (`--signup`).
    pub signup: SignupMode,
    /// The base of every link the server prints or returns (`--public-url`),
    /// without a trailing `/`.
    pub public_url: String,
}

impl AccountSettings {
    /// Settings of `signup` with links under `public_url` (a trailing `/`
    /// is dropped).
    pub fn new(signup: SignupMode, public_url: &str) -> Self {
        Self {
            signup,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The link of `kind` that carries `token`, e.g.
    /// `http://127.0.0.1:8080/#/setup/<token>`.
    pub fn link(&self, kind: LinkKind, token: &Token) -> String {
        format!("{}/#/{}/{}", self.public_url, kind.as_str(), token.encode())
    }
}

/// The use cases of accounts. Cheap to clone: clones share the store, the
/// audit log, the password pool, the throttle and the events.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    audit: Audit,
    hasher: PasswordHasher,
    throttle: Throttle,
    settings: Arc<AccountSettings>,
    events: events::Events,
}

impl Accounts {
    /// The use cases on `store`, administration written to `audit`, with
    /// the default password pool and throttle.
    pub fn new(store: Arc<dyn AccountStore>, audit: Audit, settings: AccountSettings) -> Self {
        Self::with_parts(
            store,
            audit,
            PasswordHasher::new(),
            Throttle::new(),
            settings,
        )
    }

    /// The use cases with a given pool and throttle (tests).
    pub fn with_parts(
        store: Arc<dyn AccountStore>,
        audit: Audit,
        hasher: PasswordHasher,
        throttle: Throttle,
        settings: AccountSettings,
    ) -> Self {
        Self {
            store,
            audit,
            hasher,
            throttle,
            settings: Arc::new(settings),
            events: events::Events::new(),
        }
    }

    /// The account store.
    pub fn store(&self) -> &dyn AccountStore {
        &*self.store
    }

    /// The settings.
    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    /// Events published from now on (see [`events`]).
    pub fn subscribe(&self) -> broadcast::Receiver<AccountEvent> {
        self.events.subscribe()
    }

    /// Who the request with `headers` comes from, now.
    pub async fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Option<Identity>, AccountsError> {
        Ok(authenticate(&*self.store, headers, now_ms()).await?)
    }

    /// A password's PHC string, from the pool.
    async fn hash(&self, password: &str) -> Result<String, AccountsError> {
        let password = Password::parse(password)?;
        Ok(self.hasher.hash(password.as_str()).await?)
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The caller's own account, as `GET /api/me` shows it.
pub fn me_of(account: &Account) -> Me {
    Me {
        id: account.id,
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        role: account.role,
        kind: account.kind,
    }
}

/// An account as administrators see it.
pub fn info_of(account: &Account) -> AccountInfo {
    AccountInfo {
        id: account.id,
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        role: account.role,
        kind: account.kind,
        state: account.state,
        created_ms: account.created_ms,
    }
}

/// An API token as listed.
pub fn token_info(record: &crate::store::accounts::ApiTokenRecord) -> TokenInfo {
    TokenInfo {
        id: record.id,
        name: record.name.clone(),
        created_ms: record.created_ms,
        last_used_ms: record.last_used_ms,
    }
}
