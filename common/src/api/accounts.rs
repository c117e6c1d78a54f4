//! Bodies of the accounts part of the HTTP API (protocol version 2):
//! first-run setup, signing in and up, the caller's own account, its
//! sessions and API tokens, and administration. Every route and its
//! answers are in the OpenAPI document the server serves at
//! `/api/openapi.json`; this module is what client and server share.
//!
//! Routes (all bodies JSON; every state-changing request needs an allowed
//! `Origin` and `Content-Type: application/json`, see docs/PROTOCOL.md):
//!
//! | route | who | body → answer |
//! |---|---|---|
//! | `GET /api/server` | anyone | → [`ServerInfo`] |
//! | `POST /api/setup` | holder of the setup link | [`SetupRequest`] → [`SignedIn`] + cookie |
//! | `POST /api/session` | anyone | [`SignInRequest`] → [`SignedIn`] + cookie |
//! | `DELETE /api/session` | signed in | → 204, cookie cleared |
//! | `POST /api/signup` | anyone, as `--signup` allows | [`SignUpRequest`] → [`SignedIn`] + cookie |
//! | `POST /api/password-reset` | holder of a reset link | [`PasswordResetRequest`] → 204 |
//! | `GET /api/me` | signed in | → [`Me`] |
//! | `PATCH /api/me` | signed in | [`ProfileUpdate`] → [`Me`] |
//! | `POST /api/me/password` | signed in (person) | [`PasswordChange`] → 204 |
//! | `GET /api/me/sessions` | signed in | → `[`[`SessionInfo`]`]` |
//! | `DELETE /api/me/sessions/{id}` | signed in | → 204 |
//! | `GET /api/me/tokens` | signed in | → `[`[`TokenInfo`]`]` |
//! | `POST /api/me/tokens` | signed in | [`NewToken`] → [`CreatedToken`] |
//! | `DELETE /api/me/tokens/{id}` | signed in | → 204 |
//! | `GET /api/admin/accounts` | administrator | → `[`[`AccountInfo`]`]` |
//! | `POST /api/admin/accounts` | administrator | [`NewAccountRequest`] → [`AccountInfo`] |
//! | `PATCH /api/admin/accounts/{id}` | administrator | [`AccountUpdate`] → [`AccountInfo`] |
//! | `POST /api/admin/accounts/{id}/reset-link` | administrator | → [`CreatedLink`] |
//! | `GET /api/admin/accounts/{id}/tokens` | administrator (bots) | → `[`[`TokenInfo`]`]` |
//! | `POST /api/admin/accounts/{id}/tokens` | administrator (bots) | [`NewToken`] → [`CreatedToken`] |
//! | `DELETE /api/admin/accounts/{id}/tokens/{token}` | administrator | → 204 |
//! | `GET /api/admin/invites` | administrator | → `[`[`InviteInfo`]`]` |
//! | `POST /api/admin/invites` | administrator | [`NewInvite`] → [`CreatedLink`] |
//! | `DELETE /api/admin/invites/{id}` | administrator | → 204 |
//! | `POST /api/rooms/{room}/messages` | signed in or bearer token | [`PostMessage`] → [`PostedMessage`] |
//!
//! Errors are an [`crate::ErrorFrame`] body (`code`, `message`) with the
//! HTTP status the code calls for (401 `unauthenticated`, 403 `forbidden`,
//! 404 `not_found`, 409 `username_taken`, 410 `link_invalid`, 429
//! `rate_limited` with `Retry-After`, …).

use crate::account::{AccountKind, AccountState, Role, UserId, Username};
use crate::{DisplayName, MessageId, MessageText, Nonce};
use serde::{Deserialize, Serialize};

/// Which way a new person may get an account (`--signup`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// With an invite link an administrator made.
    #[default]
    Invite,
    /// Anyone who reaches the server.
    Open,
    /// Only from the server's command line (`chat-server admin create-user`).
    Closed,
}

/// `GET /api/server`: what the sign-in page needs to know before anyone
/// signs in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The protocol version the server speaks ([`crate::PROTOCOL_VERSION`]).
    pub protocol: u32,
    /// How people get accounts.
    pub signup: SignupMode,
    /// True while no account exists: the first administrator is made with
    /// the setup link the server printed at start.
    pub setup_needed: bool,
}

/// `POST /api/setup`: the first administrator, made with the one-time
/// setup link (`#/setup/<token>`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupRequest {
    /// The token of the setup link.
    pub token: String,
    /// The new account's username.
    pub username: Username,
    /// Its display name.
    pub display_name: DisplayName,
    /// Its password (see [`crate::account::Password`] for the rules).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Password))]
    pub password: String,
}

/// `POST /api/session`: signing in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    /// The username (capitals are lowered, as [`Username::parse`] does).
    pub username: String,
    /// The password.
    pub password: String,
}

/// `POST /api/signup`: a new account, with an invite's token when
/// `--signup invite`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpRequest {
    /// The invite link's token (`#/invite/<token>`); needed unless signup
    /// is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// The new account's username.
    pub username: Username,
    /// Its display name.
    pub display_name: DisplayName,
    /// Its password.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Password))]
    pub password: String,
}

/// `POST /api/password-reset`: a new password with a reset link an
/// administrator made (`#/reset/<token>`); every session of the account
/// ends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordResetRequest {
    /// The reset link's token.
    pub token: String,
    /// The new password.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Password))]
    pub password: String,
}

/// The answer to a sign-in, a sign-up or the setup: the account, and the
/// session now in the `chat_session` cookie.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The signed-in account.
    pub me: Me,
}

/// `GET /api/me`: the caller's own account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The account's number.
    pub id: UserId,
    /// Its username.
    pub username: Username,
    /// Its display name.
    pub display_name: DisplayName,
    /// What it may do.
    pub role: Role,
    /// A person or a bot.
    pub kind: AccountKind,
}

/// `PATCH /api/me`: a new display name, sent to every room the account is
/// in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// The new display name.
    pub display_name: DisplayName,
}

/// `POST /api/me/password`: every other session of the account ends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Password))]
    pub new_password: String,
}

/// One of the caller's sessions, as `GET /api/me/sessions` lists them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session's number (not its token, which is never shown again).
    pub id: u64,
    /// The device it was made on (the browser's `User-Agent`, shortened).
    pub device: String,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it was last used.
    pub last_seen_ms: u64,
    /// True for the session of this request.
    pub current: bool,
}

/// An API token, as listed (never with the token itself).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token's number.
    pub id: u64,
    /// Its name, as given when it was made.
    pub name: String,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it was last used, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
}

/// `POST …/tokens`: a new API token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    /// A name to tell it by ("deploy bot", "backup script").
    pub name: String,
}

/// A token just made: the only time it is shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    /// What is listed from now on.
    pub info: TokenInfo,
    /// The token, for `Authorization: Bearer <token>`.
    pub token: String,
}

/// An account, as administrators see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account's number.
    pub id: UserId,
    /// Its username.
    pub username: Username,
    /// Its display name.
    pub display_name: DisplayName,
    /// What it may do.
    pub role: Role,
    /// A person or a bot.
    pub kind: AccountKind,
    /// Active or deactivated.
    pub state: AccountState,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// `POST /api/admin/accounts`: a person (with a password) or a bot
/// (without; it uses API tokens).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccountRequest {
    /// The username.
    pub username: Username,
    /// The display name.
    pub display_name: DisplayName,
    /// A person or a bot.
    pub kind: AccountKind,
    /// What it may do.
    pub role: Role,
    /// A person's first password; none for a bot. A person made without
    /// one gets it from a reset link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::Password>))]
    pub password: Option<String>,
}

/// `PATCH /api/admin/accounts/{id}`: what changes (absent fields stay).
/// Deactivating ends the account's sessions and closes its sockets.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// A new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// A new state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AccountState>,
}

/// `POST /api/admin/invites`: a new invite link.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewInvite {
    /// Seconds until it expires; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// How many accounts it may make; any number when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
}

/// An invite, as listed (never with its token).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    /// The invite's number.
    pub id: u64,
    /// Who made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it expires, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// How many accounts it may make, if bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// How many it has made.
    pub uses: u32,
    /// True once revoked.
    pub revoked: bool,
}

/// A one-time link just made (an invite or a reset link): the only time
/// its token is shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedLink {
    /// The link's number.
    pub id: u64,
    /// The whole link, for example `http://chat.example/#/invite/<token>`.
    pub link: String,
    /// When it expires, if ever, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// `POST /api/rooms/{room}/messages`: a message from a script or a
/// webhook, as the caller's account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMessage {
    /// The text.
    pub text: MessageText,
    /// The same nonce makes the same message once, however often it is
    /// sent (within the store's nonce window).
    pub nonce: Nonce,
}

/// The answer to [`PostMessage`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedMessage {
    /// The message's id in its room.
    pub id: MessageId,
    /// True when the nonce had made this message already (nothing new
    /// was stored).
    pub repeat: bool,
}
