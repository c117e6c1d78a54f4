//! Getting in and out: `GET /api/server`, `POST /api/setup`, `POST` and
//! `DELETE /api/session`, `POST /api/signup`, `POST /api/password-reset`.

use super::super::AppState;
use super::{Body, Caller, Guarded};
use crate::accounts::session::{Newcomer, Opened};
use crate::accounts::AccountsError;
use crate::auth::cookie::{clear_cookie, set_cookie};
use crate::auth::SESSION_IDLE_EXPIRY;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use common::api::accounts::{
    PasswordResetRequest, ServerInfo, SetupRequest, SignInRequest, SignUpRequest, SignedIn,
};

/// `GET /api/server`: anyone.
pub async fn server(State(state): State<AppState>) -> Result<Json<ServerInfo>, AccountsError> {
    Ok(Json(ServerInfo {
        protocol: common::PROTOCOL_VERSION,
        signup: state.accounts.settings().signup,
        setup_needed: state.accounts.setup_needed().await?,
    }))
}

/// `POST /api/setup`: the holder of the setup link.
pub async fn setup(
    State(state): State<AppState>,
    Guarded(device): Guarded,
    Body(request): Body<SetupRequest>,
) -> Result<Response, AccountsError> {
    let newcomer = Newcomer {
        username: request.username,
        display_name: request.display_name,
        password: request.password,
    };
    let opened = state
        .accounts
        .setup(&request.token, newcomer, &device)
        .await?;
    Ok(signed_in(&state, opened))
}

/// `POST /api/session`: anyone (throttled).
pub async fn sign_in(
    State(state): State<AppState>,
    Guarded(device): Guarded,
    Body(request): Body<SignInRequest>,
) -> Result<Response, AccountsError> {
    let opened = state
        .accounts
        .sign_in(&request.username, &request.password, &device)
        .await?;
    Ok(signed_in(&state, opened))
}

/// `DELETE /api/session`: signed in; the cookie is cleared.
pub async fn sign_out(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, AccountsError> {
    state.accounts.sign_out(&caller).await?;
    let secure = state.settings.secure_cookies;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear_cookie(secure))]).into_response())
}

/// `POST /api/signup`: anyone, as `--signup` allows.
pub async fn sign_up(
    State(state): State<AppState>,
    Guarded(device): Guarded,
    Body(request): Body<SignUpRequest>,
) -> Result<Response, AccountsError> {
    let newcomer = Newcomer {
        username: request.username,
        display_name: request.display_name,
        password: request.password,
    };
    let opened = state
        .accounts
        .sign_up(request.invite.as_deref(), newcomer, &device)
        .await?;
    Ok(signed_in(&state, opened))
}

/// `POST /api/password-reset`: the holder of a reset link.
pub async fn reset_password(
    State(state): State<AppState>,
    Guarded(_): Guarded,
    Body(request): Body<PasswordResetRequest>,
) -> Result<StatusCode, AccountsError> {
    state
        .accounts
        .reset_password(&request.token, &request.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to a sign-in, a sign-up or the setup: the account, and its
/// session in the cookie.
fn signed_in(state: &AppState, opened: Opened) -> Response {
    let cookie = set_cookie(
        &opened.token,
        state.settings.secure_cookies,
        SESSION_IDLE_EXPIRY,
    );
    let body = SignedIn { me: opened.me };
    ([(SET_COOKIE, cookie)], Json(body)).into_response()
}
