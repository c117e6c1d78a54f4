//! Administration, `/api/admin/…`: only for [`Admin`] callers.

use super::super::AppState;
use super::{Admin, Body, Ids};
use crate::accounts::AccountsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::accounts::{
    AccountInfo, AccountUpdate, CreatedLink, CreatedToken, InviteInfo, NewAccountRequest,
    NewInvite, NewToken, TokenInfo,
};

/// `GET /api/admin/accounts`.
pub async fn accounts(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<AccountInfo>>, AccountsError> {
    Ok(Json(state.accounts.list_accounts().await?))
}

/// `POST /api/admin/accounts`.
pub async fn create_account(
    State(state): State<AppState>,
    _: Admin,
    Body(request): Body<NewAccountRequest>,
) -> Result<(StatusCode, Json<AccountInfo>), AccountsError> {
    let account = state.accounts.create_account(request).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// `PATCH /api/admin/accounts/{id}`.
pub async fn update_account(
    State(state): State<AppState>,
    _: Admin,
    Ids(id): Ids<u64>,
    Body(update): Body<AccountUpdate>,
) -> Result<Json<AccountInfo>, AccountsError> {
    Ok(Json(state.accounts.update_account(id, update).await?))
}

/// `POST /api/admin/accounts/{id}/reset-link`.
pub async fn reset_link(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Ids(id): Ids<u64>,
) -> Result<(StatusCode, Json<CreatedLink>), AccountsError> {
    let link = state
        .accounts
        .create_reset_link(id, Some(admin.user_id))
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// `GET /api/admin/accounts/{id}/tokens`: a bot's.
pub async fn tokens(
    State(state): State<AppState>,
    _: Admin,
    Ids(id): Ids<u64>,
) -> Result<Json<Vec<TokenInfo>>, AccountsError> {
    Ok(Json(state.accounts.bot_tokens(id).await?))
}

/// `POST /api/admin/accounts/{id}/tokens`: a bot's.
pub async fn create_token(
    State(state): State<AppState>,
    _: Admin,
    Ids(id): Ids<u64>,
    Body(request): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AccountsError> {
    let created = state.accounts.create_bot_token(id, &request.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/admin/accounts/{id}/tokens/{token}`.
pub async fn revoke_token(
    State(state): State<AppState>,
    _: Admin,
    Ids((id, token)): Ids<(u64, u64)>,
) -> Result<StatusCode, AccountsError> {
    state.accounts.revoke_account_token(id, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/admin/invites`.
pub async fn invites(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<InviteInfo>>, AccountsError> {
    Ok(Json(state.accounts.list_invites().await?))
}

/// `POST /api/admin/invites`.
pub async fn create_invite(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Body(invite): Body<NewInvite>,
) -> Result<(StatusCode, Json<CreatedLink>), AccountsError> {
    let link = state
        .accounts
        .create_invite(invite, Some(admin.user_id))
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// `DELETE /api/admin/invites/{id}`.
pub async fn revoke_invite(
    State(state): State<AppState>,
    _: Admin,
    Ids(id): Ids<u64>,
) -> Result<StatusCode, AccountsError> {
    state.accounts.revoke_invite(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
