//! The caller's own account: `/api/me`, its password, sessions and tokens.

use super::super::AppState;
use super::{Body, Caller, Ids};
use crate::accounts::AccountsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::accounts::{
    CreatedToken, Me, NewToken, PasswordChange, ProfileUpdate, SessionInfo, TokenInfo,
};

/// `GET /api/me`.
pub async fn me(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Me>, AccountsError> {
    Ok(Json(state.accounts.me(&caller).await?))
}

/// `PATCH /api/me`.
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(update): Body<ProfileUpdate>,
) -> Result<Json<Me>, AccountsError> {
    let me = state
        .accounts
        .update_profile(&caller, update.display_name)
        .await?;
    Ok(Json(me))
}

/// `POST /api/me/password`: a person.
pub async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(change): Body<PasswordChange>,
) -> Result<StatusCode, AccountsError> {
    state
        .accounts
        .change_password(&caller, &change.current_password, &change.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me/sessions`.
pub async fn sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<SessionInfo>>, AccountsError> {
    Ok(Json(state.accounts.sessions(&caller).await?))
}

/// `DELETE /api/me/sessions/{id}`.
pub async fn end_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Ids(id): Ids<u64>,
) -> Result<StatusCode, AccountsError> {
    state.accounts.end_session(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me/tokens`.
pub async fn tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<TokenInfo>>, AccountsError> {
    Ok(Json(state.accounts.own_tokens(&caller).await?))
}

/// `POST /api/me/tokens`: a person.
pub async fn create_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(request): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AccountsError> {
    let created = state
        .accounts
        .create_own_token(&caller, &request.name)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/me/tokens/{id}`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Ids(id): Ids<u64>,
) -> Result<StatusCode, AccountsError> {
    state.accounts.revoke_own_token(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
