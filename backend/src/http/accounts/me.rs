//! The caller's own account: `/api/me`, its password, sessions and tokens.

use super::super::AppState;
use super::{Body, Caller, Ids, StoredId};
use crate::accounts::AccountsError;
use crate::http::openapi::responses::{
    BadRequest, Forbidden, NotFound, NotJson, TooLarge, Unauthenticated, Unavailable,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::accounts::{
    CreatedToken, Me, NewToken, PasswordChange, ProfileUpdate, SessionInfo, TokenInfo,
};

/// `GET /api/me`.
#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "me",
    tag = "me",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account.", body = Me),
        (status = 401, response = Unauthenticated),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn me(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Me>, AccountsError> {
    Ok(Json(state.accounts.me(&caller).await?))
}

/// `PATCH /api/me`.
#[utoipa::path(
    patch,
    path = "/api/me",
    operation_id = "update_me",
    tag = "me",
    security(("session" = []), ("bearer" = [])),
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The account with its new display name, which every room the account is in is told.", body = Me),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/me/password",
    operation_id = "change_password",
    tag = "me",
    description = "A person (a bot has no password: 403); a wrong current password is 401 `invalid_credentials`.",
    security(("session" = []), ("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; every other session of the account ended."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/me/sessions",
    operation_id = "my_sessions",
    tag = "me",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's sessions.", body = Vec<SessionInfo>),
        (status = 401, response = Unauthenticated),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<SessionInfo>>, AccountsError> {
    Ok(Json(state.accounts.sessions(&caller).await?))
}

/// `DELETE /api/me/sessions/{id}`.
#[utoipa::path(
    delete,
    path = "/api/me/sessions/{id}",
    operation_id = "end_my_session",
    tag = "me",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The session's number."),
    ),
    responses(
        (status = 204, description = "Ended; its WebSockets closed."),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn end_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Ids(StoredId(id)): Ids<StoredId>,
) -> Result<StatusCode, AccountsError> {
    state.accounts.end_session(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me/tokens`.
#[utoipa::path(
    get,
    path = "/api/me/tokens",
    operation_id = "my_tokens",
    tag = "me",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's API tokens (never the tokens themselves).", body = Vec<TokenInfo>),
        (status = 401, response = Unauthenticated),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<TokenInfo>>, AccountsError> {
    Ok(Json(state.accounts.own_tokens(&caller).await?))
}

/// `POST /api/me/tokens`: a person.
#[utoipa::path(
    post,
    path = "/api/me/tokens",
    operation_id = "create_my_token",
    tag = "me",
    description = "A person (a bot's tokens are made by an administrator: 403).",
    security(("session" = []), ("bearer" = [])),
    request_body = NewToken,
    responses(
        (status = 201, description = "The new token, shown this once.", body = CreatedToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/api/me/tokens/{id}",
    operation_id = "revoke_my_token",
    tag = "me",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The token's number."),
    ),
    responses(
        (status = 204, description = "Revoked; its WebSockets closed."),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Ids(StoredId(id)): Ids<StoredId>,
) -> Result<StatusCode, AccountsError> {
    state.accounts.revoke_own_token(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
