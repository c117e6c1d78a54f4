//! Accounts, sessions, API tokens and one-time links, behind the small
//! [`AccountStore`] interface, which every backend implements beside its
//! [`super::MessageStore`] (one database holds both; see
//! [`super::database::Stores`]).
//!
//! The store never sees a secret: a session token, an API token or a
//! link's token reaches it as its SHA-256 digest ([`TokenHash`]), computed
//! by the caller, and a password as its PHC string (argon2id), hashed by
//! the caller. So nothing the store holds, logs or returns signs anyone in
//! as it is, and a record it returns never carries a token's digest.
//!
//! What must not be done halfway is done by one method in one transaction
//! (the first administrator and its setup link, a sign-up and its invite's
//! use, a reset and the sessions it ends, a password change and the other
//! sessions it ends), so a crash or a concurrent request never leaves a
//! link counted for an account that was not made, or a session alive
//! after the password it was opened with changed.
//!
//! Times are milliseconds since the Unix epoch, given by the caller
//! (`now`), so that expiry is the caller's clock and tests need no sleep.

mod bots;
mod rules;

pub(crate) use bots::{check_bot_tokens, new_bot, not_a_bot, token_of_another};
pub use bots::{BotToken, BotTokensEnsured, BOT_TOKENS_PER_CALL, BOT_TOKEN_NAME};
pub(crate) use rules::{
    bounded_label, check_may_have_password, check_new_account, checked_link, no_account,
    no_active_account, setup_done, taken_or, usable_link, username_taken,
};

use super::{StoreError, StoreFuture};
use common::{AccountKind, AccountState, DisplayName, Role, UserId, Username};
use std::fmt;

/// A token's SHA-256 digest: how the store knows a session, an API token
/// or a link. The token itself (at least 128 random bits) is only ever in
/// the cookie, the header or the link.
pub type TokenHash = [u8; 32];

/// A session's number, given by the store; never reused.
pub type SessionId = u64;

/// An API token's number, given by the store; never reused.
pub type ApiTokenId = u64;

/// A one-time link's number, given by the store; never reused.
pub type LinkId = u64;

/// Longest a session's device or an API token's name is kept, in
/// characters; the rest is cut. Both are labels for people (a browser's
/// `User-Agent`, what an administrator typed), so a long one is shortened
/// rather than refused: a sign-in never fails on its header.
pub const LABEL_MAX_CHARS: usize = 200;

/// Everything of an account but what the store gives it (its id and
/// creation time) and its state (a new account is active).
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Unique ignoring case (the parsed form is lower case).
    pub username: Username,
    /// The name shown beside its messages; not unique.
    pub display_name: DisplayName,
    /// What it may do.
    pub role: Role,
    /// A person or a bot.
    pub kind: AccountKind,
    /// The password's PHC string; `None` for a bot (which must have none)
    /// or a person who has not chosen one yet (a reset link gives one).
    pub password_hash: Option<String>,
}

/// A stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Its number.
    pub id: UserId,
    /// Its username, lower case.
    pub username: Username,
    /// Its display name.
    pub display_name: DisplayName,
    /// What it may do.
    pub role: Role,
    /// A person or a bot.
    pub kind: AccountKind,
    /// Whether it may be used.
    pub state: AccountState,
    /// Its password's PHC string; `None` for a bot, or a person without a
    /// password yet. Never shown by `Debug`.
    pub password_hash: Option<String>,
    /// When it was made.
    pub created_ms: u64,
}

/// A new session: the account signed in, from this device.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Whose session it is; must be active.
    pub account: UserId,
    /// The session token's digest.
    pub token_hash: TokenHash,
    /// What the person signed in with, as they will see it in their list
    /// of sessions (cut to [`LABEL_MAX_CHARS`]).
    pub device: String,
    /// When.
    pub now: u64,
}

/// A stored session, without its token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Its number.
    pub id: SessionId,
    /// Whose it is.
    pub account: UserId,
    /// What it was opened from.
    pub device: String,
    /// When it was opened.
    pub created_ms: u64,
    /// When it was last used ([`AccountStore::touch_session`]).
    pub last_seen_ms: u64,
}

/// A stored API token, without its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// Its number.
    pub id: ApiTokenId,
    /// Whose it is (a bot, usually).
    pub account: UserId,
    /// What an administrator called it (cut to [`LABEL_MAX_CHARS`]).
    pub name: String,
    /// When it was made.
    pub created_ms: u64,
    /// When it last authenticated ([`AccountStore::touch_api_token`]).
    pub last_used_ms: Option<u64>,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// Creates the first administrator, once, while there is no account.
    Setup,
    /// Signs a person up ([`AccountStore::sign_up_with_invite`]).
    Invite,
    /// Sets a new password for one account.
    Reset,
}

impl LinkKind {
    /// The name the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Invite => "invite",
            Self::Reset => "reset",
        }
    }

    /// The kind a stored name names.
    pub fn parse(name: &str) -> Result<Self, StoreError> {
        match name {
            "setup" => Ok(Self::Setup),
            "invite" => Ok(Self::Invite),
            "reset" => Ok(Self::Reset),
            other => Err(StoreError::corrupt(format!("link kind {other:?}"))),
        }
    }
}

/// A one-time link to make.
///
/// Setup and reset links are used once: their `max_uses` must be `None`
/// or `Some(1)`, and is stored as `Some(1)`. Only a reset link names an
/// `account`, and it must.
#[derive(Clone, PartialEq, Eq)]
pub struct NewLink {
    /// What it is for.
    pub kind: LinkKind,
    /// The link token's digest.
    pub token_hash: TokenHash,
    /// The administrator who made it; `None` when the server or the
    /// command line did.
    pub created_by: Option<UserId>,
    /// The account a reset link resets.
    pub account: Option<UserId>,
    /// Unusable from this time on; `None` for never.
    pub expires_ms: Option<u64>,
    /// Unusable after this many uses; `None` for no limit (invites only).
    pub max_uses: Option<u32>,
    /// When it is made.
    pub now: u64,
}

/// A stored link, without its token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// Its number.
    pub id: LinkId,
    /// What it is for.
    pub kind: LinkKind,
    /// Who made it, if an administrator did.
    pub created_by: Option<UserId>,
    /// The account it resets (reset links only).
    pub account: Option<UserId>,
    /// When it was made.
    pub created_ms: u64,
    /// When it stops working, if ever.
    pub expires_ms: Option<u64>,
    /// How many uses it allows, if limited.
    pub max_uses: Option<u32>,
    /// How many times it was used.
    pub uses: u32,
    /// Whether an administrator revoked it.
    pub revoked: bool,
}

impl LinkRecord {
    /// Whether it can be used at `now`: not revoked, not expired
    /// (`now < expires_ms`), and used fewer times than it allows. The one
    /// definition every backend applies.
    pub fn is_usable(&self, now: u64) -> bool {
        !self.revoked
            && self.expires_ms.is_none_or(|expires| now < expires)
            && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

/// Accounts and their credentials, in the same database as the history.
///
/// Errors, besides a database's (`Unavailable`, `Closed`, `Corrupt`):
/// - [`super::ErrorKind::Conflict`]: the username is taken (ignoring case).
/// - [`super::ErrorKind::NotFound`]: the account a method changes, or
///   makes a session, token or link for, does not exist (or, for
///   [`AccountStore::create_session`], is not active). Ending or revoking
///   what is not there answers `false` instead.
/// - [`super::ErrorKind::Gone`]: the link cannot be used (unknown, of
///   another kind, revoked, expired, used up), or the setup is done.
/// - [`super::ErrorKind::Invalid`]: a request that breaks a rule of the
///   store the caller should have kept (a password for a bot, a reset link
///   without its account).
///
/// Sessions and tokens of a deactivated account: deactivating ends every
/// session (they are deleted, and their ids returned so that the caller
/// closes their sockets). API tokens are kept, so that reactivating a bot
/// brings its integrations back, but [`AccountStore::api_token_by_hash`]
/// (like [`AccountStore::session_by_token`]) returns only an active
/// account's: what a look-up returns authenticates, and the caller need
/// not check the state.
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new, active account made at `now`.
    fn create_account(&self, account: NewAccount, now: u64) -> StoreFuture<Account>;

    /// In one transaction: checks that `setup_link` is a usable setup link
    /// and that no account exists, stores `account` (made an active
    /// administrator, whatever its role says) and uses the link up. `Gone`
    /// otherwise, so it succeeds once.
    fn create_first_admin(
        &self,
        setup_link: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account>;

    /// The account `id`, if it exists.
    fn account(&self, id: UserId) -> StoreFuture<Option<Account>>;

    /// The account of `username`, if it exists.
    fn account_by_username(&self, username: &Username) -> StoreFuture<Option<Account>>;

    /// Every account, by id.
    fn accounts(&self) -> StoreFuture<Vec<Account>>;

    /// How many accounts exist (of any state).
    fn count_accounts(&self) -> StoreFuture<u64>;

    /// Changes an account's display name; returns the account.
    fn set_display_name(&self, id: UserId, display_name: DisplayName) -> StoreFuture<Account>;

    /// Sets a person's password hash and, in the same transaction, ends
    /// every session of the account but `keep_session` (the one that
    /// changed it, if any): returns the ended sessions' ids. `Invalid` for
    /// a bot.
    fn set_password_hash(
        &self,
        id: UserId,
        password_hash: String,
        keep_session: Option<SessionId>,
    ) -> StoreFuture<Vec<SessionId>>;

    /// Changes an account's role; returns the account.
    fn set_role(&self, id: UserId, role: Role) -> StoreFuture<Account>;

    /// Activates or deactivates an account. Deactivating ends every session
    /// of it, in the same transaction; returns the ended sessions' ids
    /// (none when activating). Its API tokens stay, unusable while it is
    /// deactivated.
    fn set_state(&self, id: UserId, state: AccountState) -> StoreFuture<Vec<SessionId>>;

    /// Stores a new session of an active account (`NotFound` when it is
    /// missing or deactivated).
    fn create_session(&self, session: NewSession) -> StoreFuture<SessionRecord>;

    /// The session whose token has this digest, with its account, if both
    /// exist and the account is active. (A deactivated account has no
    /// sessions; the state is checked too, so that no race can return one.)
    fn session_by_token(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(SessionRecord, Account)>>;

    /// Records that session `id` was used at `now` (times only move
    /// forward); nothing when it ended. A write: callers touch a session
    /// when a minute or so passed since its `last_seen_ms`, not on every
    /// request.
    fn touch_session(&self, id: SessionId, now: u64) -> StoreFuture<()>;

    /// The sessions of `account`, by id.
    fn sessions_of(&self, account: UserId) -> StoreFuture<Vec<SessionRecord>>;

    /// Ends session `id` if it is one of `account`'s; whether it did.
    fn end_session(&self, account: UserId, id: SessionId) -> StoreFuture<bool>;

    /// Ends every session last used before `cutoff_ms` (idle expiry);
    /// returns them, by id, with their accounts.
    fn end_sessions_idle_since(&self, cutoff_ms: u64) -> StoreFuture<Vec<(SessionId, UserId)>>;

    /// In one transaction, for each of `bots` (at most
    /// [`BOT_TOKENS_PER_CALL`], else `Invalid`): makes sure its username
    /// is an active member bot (made at `now`, its display name its
    /// username, when missing; made active and a member when it is not)
    /// holding an API token with its digest (stored, named
    /// [`BOT_TOKEN_NAME`], when missing). `Invalid` when a username is a
    /// person's account, `Conflict` when a digest is another account's
    /// token (or given for two usernames); then nothing is changed. Calling
    /// it again with the same list changes nothing.
    fn ensure_bot_tokens(&self, bots: Vec<BotToken>, now: u64) -> StoreFuture<BotTokensEnsured>;

    /// Stores a new API token of `account` (`NotFound` when it is missing),
    /// called `name` (cut to [`LABEL_MAX_CHARS`]).
    fn create_api_token(
        &self,
        account: UserId,
        name: String,
        token_hash: TokenHash,
        now: u64,
    ) -> StoreFuture<ApiTokenRecord>;

    /// The token with this digest, with its account, if both exist and the
    /// account is active.
    fn api_token_by_hash(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(ApiTokenRecord, Account)>>;

    /// The API tokens of `account`, by id.
    fn api_tokens_of(&self, account: UserId) -> StoreFuture<Vec<ApiTokenRecord>>;

    /// Deletes token `id` if it is one of `account`'s; whether it did.
    fn revoke_api_token(&self, account: UserId, id: ApiTokenId) -> StoreFuture<bool>;

    /// Records that token `id` authenticated at `now` (times only move
    /// forward); nothing when it was revoked.
    fn touch_api_token(&self, id: ApiTokenId, now: u64) -> StoreFuture<()>;

    /// Stores a new link (see [`NewLink`] for its rules; `NotFound` when an
    /// account it names is missing).
    fn create_link(&self, link: NewLink) -> StoreFuture<LinkRecord>;

    /// Every link of `kind`, usable or not, by id.
    fn links(&self, kind: LinkKind) -> StoreFuture<Vec<LinkRecord>>;

    /// Revokes link `id`; whether it was there and not revoked yet.
    fn revoke_link(&self, id: LinkId) -> StoreFuture<bool>;

    /// The link whose token has this digest, if it is usable at `now`
    /// ([`LinkRecord::is_usable`]).
    fn link_by_token(&self, token_hash: TokenHash, now: u64) -> StoreFuture<Option<LinkRecord>>;

    /// In one transaction: checks that `invite` is a usable invite, stores
    /// `account` and counts the use. A sign-up that fails (a username
    /// taken) counts no use.
    fn sign_up_with_invite(
        &self,
        invite: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account>;

    /// In one transaction: checks that `reset_link` is a usable reset link,
    /// uses it up, sets its account's password hash and ends every session
    /// of the account; returns the account and the ended sessions' ids. The
    /// account's state is not changed (a deactivated one stays so).
    fn reset_password_with_link(
        &self,
        reset_link: TokenHash,
        password_hash: String,
        now: u64,
    ) -> StoreFuture<(UserId, Vec<SessionId>)>;
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("password_hash", &redacted(&self.password_hash))
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("kind", &self.kind)
            .field("password_hash", &redacted(&self.password_hash))
            .finish()
    }
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("account", &self.account)
            .field("device", &self.device)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewLink")
            .field("kind", &self.kind)
            .field("created_by", &self.created_by)
            .field("account", &self.account)
            .field("expires_ms", &self.expires_ms)
            .field("max_uses", &self.max_uses)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// A password hash as `Debug` shows it: whether there is one.
fn redacted(hash: &Option<String>) -> Option<&'static str> {
    hash.as_ref().map(|_| "…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_password_hash() {
        let account = Account {
            id: 1,
            username: Username::parse("ann").expect("valid"),
            display_name: DisplayName::parse("Ann").expect("valid"),
            role: Role::Member,
            kind: AccountKind::Person,
            state: AccountState::Active,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            created_ms: 0,
        };
        let shown = format!("{account:?}");
        assert!(!shown.contains("argon2id"), "{shown}");
        assert!(shown.contains("password_hash: Some(\"…\")"), "{shown}");
    }
}
