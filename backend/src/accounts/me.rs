//! One's own account: the profile, the password, the sessions and the API
//! tokens. Every method takes the caller's [`Identity`], so nobody reaches
//! another account's sessions or tokens here.

use super::events::AccountEvent;
use super::{me_of, now_ms, token_info, Accounts, AccountsError, Credential, Identity};
use crate::auth::Token;
use crate::store::accounts::{ApiTokenId, SessionId};
use common::api::accounts::{CreatedToken, Me, SessionInfo, TokenInfo};
use common::{AccountKind, DisplayName, Role, UserId};

/// Longest name of an API token a person may give, in characters.
pub const TOKEN_NAME_MAX_CHARS: usize = 100;

impl Accounts {
    /// `GET /api/me`.
    pub async fn me(&self, caller: &Identity) -> Result<Me, AccountsError> {
        let account = self
            .store
            .account(caller.user_id)
            .await?
            .ok_or(AccountsError::Unauthenticated)?;
        Ok(me_of(&account))
    }

    /// `PATCH /api/me`: a new display name, published to the rooms.
    pub async fn update_profile(
        &self,
        caller: &Identity,
        display_name: DisplayName,
    ) -> Result<Me, AccountsError> {
        let account = self
            .store
            .set_display_name(caller.user_id, display_name)
            .await?;
        self.events.publish(AccountEvent::ProfileChanged {
            user: account.id,
            display_name: account.display_name.clone(),
        });
        Ok(me_of(&account))
    }

    /// `POST /api/me/password`: a person's new password, given the current
    /// one; every other session ends (an API token's caller keeps none).
    pub async fn change_password(
        &self,
        caller: &Identity,
        current: &str,
        new: &str,
    ) -> Result<(), AccountsError> {
        if caller.kind == AccountKind::Bot {
            return Err(AccountsError::Forbidden("a bot has no password"));
        }
        let account = self
            .store
            .account(caller.user_id)
            .await?
            .ok_or(AccountsError::Unauthenticated)?;
        let verified = match account.password_hash.as_deref() {
            Some(hash) => self.hasher.verify(hash, current).await?,
            None => self.hasher.verify_unknown_user(current).await?,
        };
        if !verified {
            return Err(AccountsError::InvalidCredentials);
        }
        let hash = self.hash(new).await?;
        let keep = match caller.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiToken(_) => None,
        };
        let ended = self
            .store
            .set_password_hash(caller.user_id, hash, keep)
            .await?;
        tracing::info!(
            user = caller.user_id,
            ended = ended.len(),
            "password changed"
        );
        self.events.sessions_ended(ended);
        Ok(())
    }

    /// `GET /api/me/sessions`.
    pub async fn sessions(&self, caller: &Identity) -> Result<Vec<SessionInfo>, AccountsError> {
        let current = match caller.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiToken(_) => None,
        };
        Ok(self
            .store
            .sessions_of(caller.user_id)
            .await?
            .into_iter()
            .map(|session| SessionInfo {
                current: Some(session.id) == current,
                id: session.id,
                device: session.device,
                created_ms: session.created_ms,
                last_seen_ms: session.last_seen_ms,
            })
            .collect())
    }

    /// `DELETE /api/me/sessions/{id}`: ends one of the caller's sessions.
    pub async fn end_session(&self, caller: &Identity, id: SessionId) -> Result<(), AccountsError> {
        if !self.store.end_session(caller.user_id, id).await? {
            return Err(AccountsError::NotFound("session"));
        }
        self.events.sessions_ended(vec![id]);
        Ok(())
    }

    /// `GET /api/me/tokens`.
    pub async fn own_tokens(&self, caller: &Identity) -> Result<Vec<TokenInfo>, AccountsError> {
        self.tokens_of(caller.user_id).await
    }

    /// `POST /api/me/tokens`: a person's own API token (a bot's tokens are
    /// made by administrators).
    pub async fn create_own_token(
        &self,
        caller: &Identity,
        name: &str,
    ) -> Result<CreatedToken, AccountsError> {
        if caller.kind == AccountKind::Bot {
            return Err(AccountsError::Forbidden(
                "a bot's tokens are made by an administrator",
            ));
        }
        self.create_token(caller.user_id, name).await
    }

    /// `DELETE /api/me/tokens/{id}`.
    pub async fn revoke_own_token(
        &self,
        caller: &Identity,
        id: ApiTokenId,
    ) -> Result<(), AccountsError> {
        self.revoke_token(caller.user_id, id).await
    }

    pub(super) async fn tokens_of(&self, user: UserId) -> Result<Vec<TokenInfo>, AccountsError> {
        Ok(self
            .store
            .api_tokens_of(user)
            .await?
            .iter()
            .map(token_info)
            .collect())
    }

    /// A new API token of `user`, shown once.
    pub(super) async fn create_token(
        &self,
        user: UserId,
        name: &str,
    ) -> Result<CreatedToken, AccountsError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX_CHARS {
            return Err(AccountsError::BadRequest(
                "a token's name has 1 to 100 characters",
            ));
        }
        let token = Token::generate();
        let record = self
            .store
            .create_api_token(user, name.to_owned(), *token.hash().as_bytes(), now_ms())
            .await?;
        tracing::info!(user, token = record.id, "API token created");
        Ok(CreatedToken {
            info: token_info(&record),
            token: token.encode_api(),
        })
    }

    pub(super) async fn revoke_token(
        &self,
        user: UserId,
        id: ApiTokenId,
    ) -> Result<(), AccountsError> {
        if !self.store.revoke_api_token(user, id).await? {
            return Err(AccountsError::NotFound("token"));
        }
        tracing::info!(user, token = id, "API token revoked");
        self.events.publish(AccountEvent::ApiTokenRevoked(id));
        Ok(())
    }
}

/// Whether `role` is an administrator's.
pub(super) fn is_admin(role: Role) -> bool {
    role == Role::Admin
}
