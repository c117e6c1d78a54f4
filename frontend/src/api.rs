//! Typed calls of the accounts HTTP API ([`common::api::accounts`], whose
//! module documentation has the route table): one function per route the
//! account pages use, and the rooms routes the chat uses
//! ([`common::api::rooms`]).
//!
//! Every call goes to the page's own server with `credentials:
//! same-origin`, so the session cookie goes along; every request that is
//! not a `GET` says `Content-Type: application/json` (the server refuses
//! state-changing requests without it, against cross-site forgery), with
//! its body as JSON. An answer that is not a success is an [`ApiError`]:
//! the HTTP status, the server's [`ErrorFrame`] (or one made from the
//! status when the body is not one, for example from a proxy), and the
//! `Retry-After` of a 429. [`ApiError::from_response`] is plain Rust and
//! tested on the host; [`crate::account_forms::explain`] puts any error in
//! words.

use common::api::accounts::{
    AccountInfo, AccountUpdate, CreatedLink, CreatedToken, InviteInfo, Me, NewAccountRequest,
    NewInvite, NewToken, PasswordChange, PasswordResetRequest, ProfileUpdate, ServerInfo,
    SessionInfo, SetupRequest, SignInRequest, SignUpRequest, SignedIn, TokenInfo,
};
use common::api::rooms::MarkRead;
use common::{ErrorCode, ErrorFrame, MessageId, RoomName, UserId};
use gloo_net::http::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// The answer of a call, on its way. Boxed: the state machine of the
/// request is then in the client once, not inlined into every page's
/// handler that awaits it (which costs the WebAssembly dozens of KiB).
pub type Call<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// A call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status; 0 when no answer came (no connection).
    pub status: u16,
    /// What went wrong: the server's body, or one made from the status.
    pub error: ErrorFrame,
    /// A 429's (or 503's) `Retry-After`, in seconds, when it gave a number.
    pub retry_after_secs: Option<u64>,
}

/// What is read of an error body whose code this client may not know.
#[derive(Deserialize)]
struct LooseError {
    // Only whether there is one: `IgnoredAny` reads any JSON without
    // keeping it (a `serde_json::Value` would bring its map's code along).
    #[serde(default)]
    code: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    message: Option<String>,
}

impl ApiError {
    /// The error of an answer with `status` (not a success), its `body`
    /// and its `Retry-After` header.
    pub fn from_response(status: u16, body: &str, retry_after: Option<&str>) -> Self {
        let error = crate::json::from_str::<ErrorFrame>(body).unwrap_or_else(|_| {
            // A code newer than this client, or no JSON at all: the
            // status says what kind of failure it is, and the server's
            // words are kept when there are any.
            let loose = crate::json::from_str::<LooseError>(body).ok();
            let message = loose
                .as_ref()
                .filter(|loose| loose.code.is_some())
                .and_then(|loose| loose.message.clone())
                .unwrap_or_default();
            frame(code_for_status(status), message)
        });
        Self {
            status,
            error,
            retry_after_secs: retry_after.and_then(|value| value.trim().parse().ok()),
        }
    }

    /// No answer: the request did not reach the server, or the server did
    /// not reach back.
    pub fn offline() -> Self {
        Self {
            status: 0,
            error: frame(ErrorCode::Unavailable, String::new()),
            retry_after_secs: None,
        }
    }

    /// A success whose body is not what the route answers.
    pub fn unreadable(status: u16) -> Self {
        Self {
            status,
            error: frame(
                ErrorCode::BadRequest,
                "the server's answer could not be read".to_owned(),
            ),
            retry_after_secs: None,
        }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.error.code
    }

    /// Whether no answer came at all.
    pub fn is_offline(&self) -> bool {
        self.status == 0
    }

    /// Whether the caller is not (or no longer) signed in.
    pub fn is_signed_out(&self) -> bool {
        self.error.code == ErrorCode::Unauthenticated
    }
}

fn frame(code: ErrorCode, message: String) -> ErrorFrame {
    ErrorFrame {
        code,
        message,
        room: None,
        nonce: None,
    }
}

/// The code a status stands for when the body does not say (the codes of
/// the accounts table's statuses).
fn code_for_status(status: u16) -> ErrorCode {
    match status {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::UsernameTaken,
        410 => ErrorCode::LinkInvalid,
        429 => ErrorCode::RateLimited,
        500..=599 => ErrorCode::Unavailable,
        _ => ErrorCode::BadRequest,
    }
}

/// The paths of the routes with ids in them.
pub mod paths {
    use common::UserId;

    /// `/api/me/sessions/{id}`.
    pub fn session(id: u64) -> String {
        format!("/api/me/sessions/{id}")
    }

    /// `/api/me/tokens/{id}`.
    pub fn own_token(id: u64) -> String {
        format!("/api/me/tokens/{id}")
    }

    /// `/api/admin/accounts/{id}`.
    pub fn account(id: UserId) -> String {
        format!("/api/admin/accounts/{id}")
    }

    /// `/api/admin/accounts/{id}/reset-link`.
    pub fn reset_link(id: UserId) -> String {
        format!("/api/admin/accounts/{id}/reset-link")
    }

    /// `/api/admin/accounts/{id}/tokens`.
    pub fn account_tokens(id: UserId) -> String {
        format!("/api/admin/accounts/{id}/tokens")
    }

    /// `/api/admin/accounts/{id}/tokens/{token}`.
    pub fn account_token(id: UserId, token: u64) -> String {
        format!("/api/admin/accounts/{id}/tokens/{token}")
    }

    /// `/api/admin/invites/{id}`.
    pub fn invite(id: u64) -> String {
        format!("/api/admin/invites/{id}")
    }

    /// `/api/rooms/{room}/{action}`: `read`, `leave`.
    pub fn room_action(room: &common::RoomName, action: &str) -> String {
        format!("/api/rooms/{room}/{action}")
    }
}

/// Sends a request and returns the body of a success.
fn send(method: Method, path: &str, body: Option<String>) -> Call<String> {
    Box::pin(send_now(method, path.to_owned(), body))
}

async fn send_now(method: Method, path: String, body: Option<String>) -> Result<String, ApiError> {
    let is_get = method == Method::GET;
    let mut request = RequestBuilder::new(&path)
        .method(method)
        .credentials(web_sys::RequestCredentials::SameOrigin);
    if !is_get {
        request = request.header("Content-Type", "application/json");
    }
    let request = match body {
        Some(body) => request.body(body),
        None => request.build(),
    }
    .map_err(|_| ApiError::offline())?;
    let response = request.send().await.map_err(|_| ApiError::offline())?;
    let status = response.status();
    // A body cut off by a lost connection reads as empty.
    let text = response.text().await.unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        let retry_after = response.headers().get("Retry-After");
        Err(ApiError::from_response(
            status,
            &text,
            retry_after.as_deref(),
        ))
    }
}

/// A call whose success has a JSON body.
fn call<T: DeserializeOwned + 'static>(
    method: Method,
    path: &str,
    body: Option<&impl Serialize>,
) -> Call<T> {
    let body = body.map(|body| serde_json::to_string(body).expect("API bodies encode"));
    let sent = send(method, path, body);
    Box::pin(async move {
        let text = sent.await?;
        crate::json::from_str(&text).map_err(|_| ApiError::unreadable(200))
    })
}

/// A call whose success has no body, or one that is not read.
fn call_empty(method: Method, path: &str, body: Option<&impl Serialize>) -> Call<()> {
    let body = body.map(|body| serde_json::to_string(body).expect("API bodies encode"));
    let sent = send(method, path, body);
    Box::pin(async move { sent.await.map(drop) })
}

/// No body.
const NONE: Option<&()> = None;

/// `GET /api/server`.
pub fn server_info() -> Call<ServerInfo> {
    call(Method::GET, "/api/server", NONE)
}

/// `POST /api/setup`: the first administrator; signs in.
pub fn setup(request: &SetupRequest) -> Call<SignedIn> {
    call(Method::POST, "/api/setup", Some(request))
}

/// `POST /api/session`: signs in.
pub fn sign_in(request: &SignInRequest) -> Call<SignedIn> {
    call(Method::POST, "/api/session", Some(request))
}

/// `DELETE /api/session`: signs out.
pub fn sign_out() -> Call<()> {
    call_empty(Method::DELETE, "/api/session", NONE)
}

/// `POST /api/signup`: a new account; signs in.
pub fn sign_up(request: &SignUpRequest) -> Call<SignedIn> {
    call(Method::POST, "/api/signup", Some(request))
}

/// `POST /api/password-reset`: a new password with a reset link.
pub fn reset_password(request: &PasswordResetRequest) -> Call<()> {
    call_empty(Method::POST, "/api/password-reset", Some(request))
}

/// `GET /api/me`.
pub fn me() -> Call<Me> {
    call(Method::GET, "/api/me", NONE)
}

/// `PATCH /api/me`: a new display name.
pub fn update_profile(update: &ProfileUpdate) -> Call<Me> {
    call(Method::PATCH, "/api/me", Some(update))
}

/// `POST /api/me/password`; every other session ends.
pub fn change_password(change: &PasswordChange) -> Call<()> {
    call_empty(Method::POST, "/api/me/password", Some(change))
}

/// `GET /api/me/sessions`.
pub fn sessions() -> Call<Vec<SessionInfo>> {
    call(Method::GET, "/api/me/sessions", NONE)
}

/// `DELETE /api/me/sessions/{id}`.
pub fn end_session(id: u64) -> Call<()> {
    call_empty(Method::DELETE, &paths::session(id), NONE)
}

/// `GET /api/me/tokens`.
pub fn tokens() -> Call<Vec<TokenInfo>> {
    call(Method::GET, "/api/me/tokens", NONE)
}

/// `POST /api/me/tokens`.
pub fn create_token(token: &NewToken) -> Call<CreatedToken> {
    call(Method::POST, "/api/me/tokens", Some(token))
}

/// `DELETE /api/me/tokens/{id}`.
pub fn revoke_token(id: u64) -> Call<()> {
    call_empty(Method::DELETE, &paths::own_token(id), NONE)
}

/// `GET /api/admin/accounts`.
pub fn accounts() -> Call<Vec<AccountInfo>> {
    call(Method::GET, "/api/admin/accounts", NONE)
}

/// `POST /api/admin/accounts`. The server answers the new account, which
/// this client does not read (the page lists the accounts again): reading
/// it would cost the client its own copy of the JSON reader.
pub fn create_account(request: &NewAccountRequest) -> Call<()> {
    call_empty(Method::POST, "/api/admin/accounts", Some(request))
}

/// `PATCH /api/admin/accounts/{id}`; its answer is not read either (see
/// [`create_account`]).
pub fn update_account(id: UserId, update: &AccountUpdate) -> Call<()> {
    call_empty(Method::PATCH, &paths::account(id), Some(update))
}

/// `POST /api/admin/accounts/{id}/reset-link`.
pub fn reset_link(id: UserId) -> Call<CreatedLink> {
    call(Method::POST, &paths::reset_link(id), NONE)
}

/// `GET /api/admin/accounts/{id}/tokens` (a bot's).
pub fn account_tokens(id: UserId) -> Call<Vec<TokenInfo>> {
    call(Method::GET, &paths::account_tokens(id), NONE)
}

/// `POST /api/admin/accounts/{id}/tokens` (for a bot).
pub fn create_account_token(id: UserId, token: &NewToken) -> Call<CreatedToken> {
    call(Method::POST, &paths::account_tokens(id), Some(token))
}

/// `DELETE /api/admin/accounts/{id}/tokens/{token}`.
pub fn revoke_account_token(id: UserId, token: u64) -> Call<()> {
    call_empty(Method::DELETE, &paths::account_token(id, token), NONE)
}

/// `GET /api/admin/invites`.
pub fn invites() -> Call<Vec<InviteInfo>> {
    call(Method::GET, "/api/admin/invites", NONE)
}

/// `POST /api/admin/invites`.
pub fn create_invite(invite: &NewInvite) -> Call<CreatedLink> {
    call(Method::POST, "/api/admin/invites", Some(invite))
}

/// `DELETE /api/admin/invites/{id}`.
pub fn revoke_invite(id: u64) -> Call<()> {
    call_empty(Method::DELETE, &paths::invite(id), NONE)
}

/// `POST /api/rooms/{room}/read`: read up to `up_to`. The server tells
/// the person's other tabs and devices (a `read` frame); its answer is not
/// read (see [`create_account`]).
pub fn mark_read(room: &RoomName, up_to: MessageId) -> Call<()> {
    call_empty(
        Method::POST,
        &paths::room_action(room, "read"),
        Some(&MarkRead { up_to }),
    )
}

/// `POST /api/rooms/{room}/leave`: leaves the room for good, on every
/// device.
pub fn leave_room(room: &RoomName) -> Call<()> {
    call_empty(Method::POST, &paths::room_action(room, "leave"), NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_is_read_with_its_status_and_retry_after() {
        let body = r#"{"code":"rate_limited","message":"too many sign-ins; try again later"}"#;
        let error = ApiError::from_response(429, body, Some(" 30 "));
        assert_eq!(error.status, 429);
        assert_eq!(error.code(), ErrorCode::RateLimited);
        assert_eq!(error.error.message, "too many sign-ins; try again later");
        assert_eq!(error.retry_after_secs, Some(30));
        assert!(!error.is_offline());

        let wrong = r#"{"code":"invalid_credentials","message":"wrong username or password"}"#;
        let error = ApiError::from_response(401, wrong, None);
        assert_eq!(error.code(), ErrorCode::InvalidCredentials);
        assert!(
            !error.is_signed_out(),
            "a wrong password is not a lost session"
        );
        assert_eq!(error.retry_after_secs, None);
    }

    #[test]
    fn a_retry_after_that_is_a_date_gives_no_number() {
        let error = ApiError::from_response(429, "", Some("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(error.code(), ErrorCode::RateLimited);
        assert_eq!(error.retry_after_secs, None);
    }

    #[test]
    fn without_an_error_body_the_status_gives_the_code() {
        for (status, code) in [
            (400, ErrorCode::BadRequest),
            (401, ErrorCode::Unauthenticated),
            (403, ErrorCode::Forbidden),
            (404, ErrorCode::NotFound),
            (409, ErrorCode::UsernameTaken),
            (410, ErrorCode::LinkInvalid),
            (415, ErrorCode::BadRequest),
            (429, ErrorCode::RateLimited),
            (500, ErrorCode::Unavailable),
            (502, ErrorCode::Unavailable),
            (503, ErrorCode::Unavailable),
        ] {
            for body in ["", "<html>Bad Gateway</html>", "{}", "null"] {
                let error = ApiError::from_response(status, body, None);
                assert_eq!(error.code(), code, "{status} {body:?}");
                assert_eq!(error.error.message, "", "no words of ours or a proxy's");
            }
        }
        assert!(ApiError::from_response(401, "", None).is_signed_out());
    }

    #[test]
    fn a_code_newer_than_this_client_keeps_the_servers_words() {
        let body = r#"{"code":"account_locked","message":"this account is locked"}"#;
        let error = ApiError::from_response(403, body, None);
        assert_eq!(error.code(), ErrorCode::Forbidden);
        assert_eq!(error.error.message, "this account is locked");
    }

    #[test]
    fn no_answer_and_an_unreadable_answer_are_errors_too() {
        let offline = ApiError::offline();
        assert!(offline.is_offline());
        assert_eq!(offline.code(), ErrorCode::Unavailable);
        let unreadable = ApiError::unreadable(200);
        assert!(!unreadable.is_offline());
        assert_eq!(unreadable.code(), ErrorCode::BadRequest);
    }

    #[test]
    fn paths_with_ids_follow_the_route_table() {
        assert_eq!(paths::session(7), "/api/me/sessions/7");
        assert_eq!(paths::own_token(8), "/api/me/tokens/8");
        assert_eq!(paths::account(3), "/api/admin/accounts/3");
        assert_eq!(paths::reset_link(3), "/api/admin/accounts/3/reset-link");
        assert_eq!(paths::account_tokens(4), "/api/admin/accounts/4/tokens");
        assert_eq!(
            paths::account_token(4, 12),
            "/api/admin/accounts/4/tokens/12"
        );
        assert_eq!(paths::invite(5), "/api/admin/invites/5");
        let team = RoomName::parse("team").expect("valid");
        assert_eq!(paths::room_action(&team, "read"), "/api/rooms/team/read");
    }
}
