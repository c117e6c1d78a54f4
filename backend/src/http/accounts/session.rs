//! Getting in and out: `GET /api/server`, `POST /api/setup`, `POST` and
//! `DELETE /api/session`, `POST /api/signup`, `POST /api/password-reset`.

use super::super::AppState;
use super::{Body, Caller, Guarded};
use crate::accounts::session::{Newcomer, Opened};
use crate::accounts::AccountsError;
use crate::auth::cookie::{clear_cookie, set_cookie};
use crate::auth::SESSION_IDLE_EXPIRY;
use crate::http::openapi::responses::{
    BadRequest, Conflict, Forbidden, Gone, NotJson, RateLimited, TooLarge, Unauthenticated,
    Unavailable,
};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use common::api::accounts::{
    PasswordResetRequest, ServerInfo, SetupRequest, SignInRequest, SignUpRequest, SignedIn,
};

/// `GET /api/server`: anyone.
#[utoipa::path(
    get,
    path = "/api/server",
    operation_id = "server_info",
    tag = "session",
    responses(
        (status = 200, description = "The protocol version, how people get accounts, and whether the first-run setup is still to be done.", body = ServerInfo),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn server(State(state): State<AppState>) -> Result<Json<ServerInfo>, AccountsError> {
    Ok(Json(ServerInfo {
        protocol: common::PROTOCOL_VERSION,
        signup: state.accounts.settings().signup,
        setup_needed: state.accounts.setup_needed().await?,
    }))
}

/// `POST /api/setup`: the holder of the setup link.
#[utoipa::path(
    post,
    path = "/api/setup",
    operation_id = "setup",
    tag = "session",
    description = "The holder of the setup link the server printed at first start (valid until used).",
    request_body = SetupRequest,
    responses(
        (status = 200, description = "The first administrator, signed in.", body = SignedIn, headers(("Set-Cookie" = String, description = "The session: `chat_session=<token>; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`, and `Secure` with `--secure-cookies`."))),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/session",
    operation_id = "sign_in",
    tag = "session",
    description = "Anyone; failed sign-ins are throttled per account and per address.",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in.", body = SignedIn, headers(("Set-Cookie" = String, description = "The session: `chat_session=<token>; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`, and `Secure` with `--secure-cookies`."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/api/session",
    operation_id = "sign_out",
    tag = "session",
    description = "Signed in with a session (an API token is revoked instead: 400).",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Signed out: the session ended and its WebSockets closed; the cookie is cleared.", headers(("Set-Cookie" = String, description = "`chat_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn sign_out(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, AccountsError> {
    state.accounts.sign_out(&caller).await?;
    let secure = state.settings.secure_cookies;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear_cookie(secure))]).into_response())
}

/// `POST /api/signup`: anyone, as `--signup` allows.
#[utoipa::path(
    post,
    path = "/api/signup",
    operation_id = "sign_up",
    tag = "session",
    description = "Anyone, as `--signup` allows: with an invite's token (`invite`), without (`open`), or not at all (`closed`).",
    request_body = SignUpRequest,
    responses(
        (status = 200, description = "The new member, signed in.", body = SignedIn, headers(("Set-Cookie" = String, description = "The session: `chat_session=<token>; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`, and `Secure` with `--secure-cookies`."))),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/password-reset",
    operation_id = "reset_password",
    tag = "session",
    description = "The holder of a reset link an administrator made.",
    request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "The password is changed; every session of the account ended."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 410, response = Gone),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    ),
)]
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
