//! Administration: accounts (list, create a person or a bot, change a
//! role, deactivate and reactivate), reset links, invites, and bots' API
//! tokens. The HTTP routes reach these only as an administrator (the
//! `Admin` extractor), `by` the administrator; the command line
//! (`chat-server admin …`) calls them with `by: None`.
//!
//! Each change is written to the audit log ([`crate::audit`]) once the
//! store holds it, with `by` as its actor, and never with the link or
//! token it made.
//!
//! The last active administrator can be neither demoted nor deactivated,
//! whoever asks, so the server always has someone who can administer it.

use super::events::AccountEvent;
use super::me::is_admin;
use super::{info_of, now_ms, Accounts, AccountsError};
use crate::audit::{AuditAction, Entry};
use crate::auth::Token;
use crate::store::accounts::{Account, ApiTokenId, LinkId, LinkKind, NewAccount, NewLink};
use common::api::accounts::{
    AccountInfo, AccountUpdate, CreatedLink, CreatedToken, InviteInfo, NewAccountRequest,
    NewInvite, TokenInfo,
};
use common::{AccountKind, AccountState, Role, UserId, Username};
use std::time::Duration;

/// How long a reset link works: 24 hours.
pub const RESET_LINK_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

impl Accounts {
    /// Every account, by id.
    pub async fn list_accounts(&self) -> Result<Vec<AccountInfo>, AccountsError> {
        Ok(self.store.accounts().await?.iter().map(info_of).collect())
    }

    /// The account of `username` (the command line names accounts so).
    pub async fn account_named(&self, username: &str) -> Result<Account, AccountsError> {
        let username = Username::parse(username)?;
        self.store
            .account_by_username(&username)
            .await?
            .ok_or(AccountsError::NotFound("account"))
    }

    /// A new person (with a password, or none yet: a reset link gives one)
    /// or bot (never a password; never an administrator).
    pub async fn create_account(
        &self,
        request: NewAccountRequest,
        by: Option<UserId>,
    ) -> Result<AccountInfo, AccountsError> {
        let password_hash = match (request.kind, request.password.as_deref()) {
            (AccountKind::Bot, Some(_)) => {
                return Err(AccountsError::BadRequest(
                    "a bot has no password; it uses API tokens",
                ))
            }
            (AccountKind::Bot, None) if request.role == Role::Admin => {
                return Err(AccountsError::BadRequest(
                    "a bot cannot be an administrator",
                ))
            }
            (_, Some(password)) => Some(self.hash(password).await?),
            (_, None) => None,
        };
        let account = self
            .store
            .create_account(
                NewAccount {
                    username: request.username,
                    display_name: request.display_name,
                    role: request.role,
                    kind: request.kind,
                    password_hash,
                },
                now_ms(),
            )
            .await?;
        tracing::info!(user = account.id, username = %account.username, kind = %account.kind, role = %account.role, "account created");
        let detail = format!("{} {} ({})", account.kind, account.username, account.role);
        self.record(
            Entry::new(by, AuditAction::AccountCreate)
                .target(account.id)
                .detail(detail),
        )
        .await;
        Ok(info_of(&account))
    }

    /// Changes an account's role and state (absent fields stay).
    pub async fn update_account(
        &self,
        id: UserId,
        update: AccountUpdate,
        by: Option<UserId>,
    ) -> Result<AccountInfo, AccountsError> {
        let account = self.account_by_id(id).await?;
        let demoted = update.role == Some(Role::Member) && is_admin(account.role);
        let deactivated = update.state == Some(AccountState::Deactivated)
            && account.state == AccountState::Active;
        if update.role == Some(Role::Admin) && account.kind == AccountKind::Bot {
            return Err(AccountsError::BadRequest(
                "a bot cannot be an administrator",
            ));
        }
        if (demoted || deactivated)
            && is_admin(account.role)
            && account.state == AccountState::Active
            && self.active_admins().await? <= 1
        {
            return Err(AccountsError::Forbidden(
                "the last active administrator can be neither demoted nor deactivated",
            ));
        }
        if let Some(role) = update.role.filter(|&role| role != account.role) {
            self.store.set_role(id, role).await?;
            tracing::info!(user = id, %role, "role changed");
            let detail = format!("{} is now {role}", account.username);
            self.record(
                Entry::new(by, AuditAction::AccountRole)
                    .target(id)
                    .detail(detail),
            )
            .await;
        }
        if let Some(state) = update.state.filter(|&state| state != account.state) {
            let ended = self.store.set_state(id, state).await?;
            tracing::info!(user = id, %state, "state changed");
            let action = match state {
                AccountState::Deactivated => AuditAction::AccountDeactivate,
                AccountState::Active => AuditAction::AccountReactivate,
            };
            let detail = format!("{} is now {state}", account.username);
            self.record(Entry::new(by, action).target(id).detail(detail))
                .await;
            if state == AccountState::Deactivated {
                // The deactivation first: a socket closes with the first
                // reason it is given, and its session's end would say
                // `session ended` where the account's says why.
                self.events.publish(AccountEvent::AccountDeactivated(id));
                self.events.sessions_ended(ended);
            }
        }
        Ok(info_of(&self.account_by_id(id).await?))
    }

    /// A one-time link that sets a new password for a person (valid for
    /// [`RESET_LINK_EXPIRY`]).
    pub async fn create_reset_link(
        &self,
        id: UserId,
        by: Option<UserId>,
    ) -> Result<CreatedLink, AccountsError> {
        let account = self.account_by_id(id).await?;
        if account.kind == AccountKind::Bot {
            return Err(AccountsError::BadRequest(
                "a bot has no password to reset; make it a new token",
            ));
        }
        let now = now_ms();
        let link = self
            .create_link(
                NewLink {
                    kind: LinkKind::Reset,
                    token_hash: [0; 32],
                    created_by: by,
                    account: Some(id),
                    expires_ms: Some(now.saturating_add(millis(RESET_LINK_EXPIRY))),
                    max_uses: Some(1),
                    now,
                },
                "reset link created",
            )
            .await?;
        let detail = format!("link {} for {}", link.id, account.username);
        self.record(
            Entry::new(by, AuditAction::ResetLink)
                .target(id)
                .detail(detail),
        )
        .await;
        Ok(link)
    }

    /// Every invite, usable or not.
    pub async fn list_invites(&self) -> Result<Vec<InviteInfo>, AccountsError> {
        Ok(self
            .store
            .links(LinkKind::Invite)
            .await?
            .into_iter()
            .map(|link| InviteInfo {
                id: link.id,
                created_by: link.created_by,
                created_ms: link.created_ms,
                expires_ms: link.expires_ms,
                max_uses: link.max_uses,
                uses: link.uses,
                revoked: link.revoked,
            })
            .collect())
    }

    /// A new invite link.
    pub async fn create_invite(
        &self,
        invite: NewInvite,
        by: Option<UserId>,
    ) -> Result<CreatedLink, AccountsError> {
        if invite.max_uses == Some(0) {
            return Err(AccountsError::BadRequest(
                "an invite allows at least one use",
            ));
        }
        if invite.expires_in_secs == Some(0) {
            return Err(AccountsError::BadRequest(
                "an invite lasts at least a second",
            ));
        }
        let now = now_ms();
        let expires_ms = invite
            .expires_in_secs
            .map(|secs| now.saturating_add(secs.saturating_mul(1000)));
        let link = self
            .create_link(
                NewLink {
                    kind: LinkKind::Invite,
                    token_hash: [0; 32],
                    created_by: by,
                    account: None,
                    expires_ms,
                    max_uses: invite.max_uses,
                    now,
                },
                "invite created",
            )
            .await?;
        let uses = invite
            .max_uses
            .map_or("any number of uses".to_owned(), |uses| {
                format!("up to {uses} uses")
            });
        let expiry = expires_ms.map_or("never expires".to_owned(), |ms| {
            format!("expires {}", crate::audit::time_words(ms))
        });
        let detail = format!("invite {}: {uses}, {expiry}", link.id);
        self.record(Entry::new(by, AuditAction::InviteCreate).detail(detail))
            .await;
        Ok(link)
    }

    /// Revokes an invite.
    pub async fn revoke_invite(&self, id: LinkId, by: Option<UserId>) -> Result<(), AccountsError> {
        let is_invite = self
            .store
            .links(LinkKind::Invite)
            .await?
            .iter()
            .any(|link| link.id == id && !link.revoked);
        if !is_invite || !self.store.revoke_link(id).await? {
            return Err(AccountsError::NotFound("invite"));
        }
        tracing::info!(invite = id, "invite revoked");
        let detail = format!("invite {id}");
        self.record(Entry::new(by, AuditAction::InviteRevoke).detail(detail))
            .await;
        Ok(())
    }

    /// A bot's API tokens.
    pub async fn bot_tokens(&self, id: UserId) -> Result<Vec<TokenInfo>, AccountsError> {
        self.bot(id).await?;
        self.tokens_of(id).await
    }

    /// A new API token of a bot, shown once.
    pub async fn create_bot_token(
        &self,
        id: UserId,
        name: &str,
        by: Option<UserId>,
    ) -> Result<CreatedToken, AccountsError> {
        let bot = self.bot(id).await?;
        self.create_token_as(&bot, name, by).await
    }

    /// A new API token of any account (the command line's `create-token`).
    pub async fn create_token_for(
        &self,
        id: UserId,
        name: &str,
    ) -> Result<CreatedToken, AccountsError> {
        let account = self.account_by_id(id).await?;
        self.create_token_as(&account, name, None).await
    }

    /// A new API token of `account`, made by `by` and audited.
    async fn create_token_as(
        &self,
        account: &Account,
        name: &str,
        by: Option<UserId>,
    ) -> Result<CreatedToken, AccountsError> {
        let created = self.create_token(account.id, name).await?;
        let detail = format!(
            "token {} \"{}\" of {}",
            created.info.id, created.info.name, account.username
        );
        self.record(
            Entry::new(by, AuditAction::TokenCreate)
                .target(account.id)
                .detail(detail),
        )
        .await;
        Ok(created)
    }

    /// Revokes one of an account's tokens.
    pub async fn revoke_account_token(
        &self,
        id: UserId,
        token: ApiTokenId,
        by: Option<UserId>,
    ) -> Result<(), AccountsError> {
        self.revoke_token(id, token).await?;
        let detail = format!("token {token}");
        self.record(
            Entry::new(by, AuditAction::TokenRevoke)
                .target(id)
                .detail(detail),
        )
        .await;
        Ok(())
    }

    /// Writes an audit entry, now.
    async fn record(&self, entry: Entry) {
        self.audit.record(entry, now_ms()).await;
    }

    async fn account_by_id(&self, id: UserId) -> Result<Account, AccountsError> {
        self.store
            .account(id)
            .await?
            .ok_or(AccountsError::NotFound("account"))
    }

    async fn bot(&self, id: UserId) -> Result<Account, AccountsError> {
        let account = self.account_by_id(id).await?;
        if account.kind != AccountKind::Bot {
            return Err(AccountsError::Forbidden(
                "administrators manage the tokens of bots; a person makes their own",
            ));
        }
        Ok(account)
    }

    async fn active_admins(&self) -> Result<usize, AccountsError> {
        Ok(self
            .store
            .accounts()
            .await?
            .iter()
            .filter(|account| is_admin(account.role) && account.state == AccountState::Active)
            .count())
    }

    /// Stores `link` with a fresh token and returns the whole link.
    async fn create_link(
        &self,
        mut link: NewLink,
        what: &'static str,
    ) -> Result<CreatedLink, AccountsError> {
        let token = Token::generate();
        link.token_hash = *token.hash().as_bytes();
        let kind = link.kind;
        let record = self.store.create_link(link).await?;
        tracing::info!(link = record.id, account = record.account, "{what}");
        Ok(CreatedLink {
            id: record.id,
            link: self.settings.link(kind, &token),
            expires_ms: record.expires_ms,
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
