//! Administration, `/api/admin/…`: only for [`Admin`] callers, whose
//! changes the audit log names them for.

use super::super::AppState;
use super::{Admin, Body, Ids, StoredId};
use crate::accounts::AccountsError;
use crate::http::openapi::responses::{
    BadRequest, Conflict, Forbidden, NotFound, NotJson, TooLarge, Unauthenticated, Unavailable,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::accounts::{
    AccountInfo, AccountUpdate, CreatedLink, CreatedToken, InviteInfo, NewAccountRequest,
    NewInvite, NewToken, TokenInfo,
};

/// `GET /api/admin/accounts`.
#[utoipa::path(
    get,
    path = "/api/admin/accounts",
    operation_id = "list_accounts",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Every account.", body = Vec<AccountInfo>),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn accounts(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<AccountInfo>>, AccountsError> {
    Ok(Json(state.accounts.list_accounts().await?))
}

/// `POST /api/admin/accounts`.
#[utoipa::path(
    post,
    path = "/api/admin/accounts",
    operation_id = "create_account",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    request_body = NewAccountRequest,
    responses(
        (status = 201, description = "The new account.", body = AccountInfo),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn create_account(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Body(request): Body<NewAccountRequest>,
) -> Result<(StatusCode, Json<AccountInfo>), AccountsError> {
    let account = state
        .accounts
        .create_account(request, Some(admin.user_id))
        .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// `PATCH /api/admin/accounts/{id}`.
#[utoipa::path(
    patch,
    path = "/api/admin/accounts/{id}",
    operation_id = "update_account",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The account's number."),
    ),
    request_body = AccountUpdate,
    responses(
        (status = 200, description = "The account as it is now; deactivating ends its sessions and closes its WebSockets.", body = AccountInfo),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn update_account(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Ids(StoredId(id)): Ids<StoredId>,
    Body(update): Body<AccountUpdate>,
) -> Result<Json<AccountInfo>, AccountsError> {
    let by = Some(admin.user_id);
    Ok(Json(state.accounts.update_account(id, update, by).await?))
}

/// `POST /api/admin/accounts/{id}/reset-link`.
#[utoipa::path(
    post,
    path = "/api/admin/accounts/{id}/reset-link",
    operation_id = "create_reset_link",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The account's number."),
    ),
    responses(
        (status = 201, description = "A one-time reset link for a person.", body = CreatedLink),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn reset_link(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Ids(StoredId(id)): Ids<StoredId>,
) -> Result<(StatusCode, Json<CreatedLink>), AccountsError> {
    let link = state
        .accounts
        .create_reset_link(id, Some(admin.user_id))
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// `GET /api/admin/accounts/{id}/tokens`: a bot's.
#[utoipa::path(
    get,
    path = "/api/admin/accounts/{id}/tokens",
    operation_id = "bot_tokens",
    tag = "admin",
    description = "A bot's (a person's own are theirs: 403).",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The account's number."),
    ),
    responses(
        (status = 200, description = "The bot's API tokens.", body = Vec<TokenInfo>),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn tokens(
    State(state): State<AppState>,
    _: Admin,
    Ids(StoredId(id)): Ids<StoredId>,
) -> Result<Json<Vec<TokenInfo>>, AccountsError> {
    Ok(Json(state.accounts.bot_tokens(id).await?))
}

/// `POST /api/admin/accounts/{id}/tokens`: a bot's.
#[utoipa::path(
    post,
    path = "/api/admin/accounts/{id}/tokens",
    operation_id = "create_bot_token",
    tag = "admin",
    description = "A bot's (a person makes their own: 403).",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The account's number."),
    ),
    request_body = NewToken,
    responses(
        (status = 201, description = "The bot's new token, shown this once.", body = CreatedToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn create_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Ids(StoredId(id)): Ids<StoredId>,
    Body(request): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AccountsError> {
    let created = state
        .accounts
        .create_bot_token(id, &request.name, Some(admin.user_id))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/admin/accounts/{id}/tokens/{token}`.
#[utoipa::path(
    delete,
    path = "/api/admin/accounts/{id}/tokens/{token}",
    operation_id = "revoke_account_token",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The account's number."),
        ("token" = u64, Path, maximum = 9223372036854775807_u64, description = "The token's number."),
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
    Admin(admin): Admin,
    Ids((StoredId(id), StoredId(token))): Ids<(StoredId, StoredId)>,
) -> Result<StatusCode, AccountsError> {
    let by = Some(admin.user_id);
    state.accounts.revoke_account_token(id, token, by).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/admin/invites`.
#[utoipa::path(
    get,
    path = "/api/admin/invites",
    operation_id = "list_invites",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Every invite (never with its token).", body = Vec<InviteInfo>),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn invites(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<InviteInfo>>, AccountsError> {
    Ok(Json(state.accounts.list_invites().await?))
}

/// `POST /api/admin/invites`.
#[utoipa::path(
    post,
    path = "/api/admin/invites",
    operation_id = "create_invite",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    request_body = NewInvite,
    responses(
        (status = 201, description = "The invite link, shown this once.", body = CreatedLink),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/api/admin/invites/{id}",
    operation_id = "revoke_invite",
    tag = "admin",
    security(("session" = []), ("bearer" = [])),
    params(
        ("id" = u64, Path, maximum = 9223372036854775807_u64, description = "The invite's number."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn revoke_invite(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Ids(StoredId(id)): Ids<StoredId>,
) -> Result<StatusCode, AccountsError> {
    state
        .accounts
        .revoke_invite(id, Some(admin.user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
