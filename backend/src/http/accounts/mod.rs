//! The accounts part of the JSON API: the routes of
//! [`common::api::accounts`]'s table, each a thin handler over a use case
//! of [`crate::accounts::Accounts`].
//!
//! - [`caller`]: who is calling ([`Caller`], [`Admin`]) and the check of
//!   state-changing requests against forgery ([`Guarded`]): the only
//!   place handlers get either from, so no handler checks anything itself.
//! - [`session`]: `GET /api/server`, `POST /api/setup`, `POST` and
//!   `DELETE /api/session`, `POST /api/signup`, `POST /api/password-reset`.
//! - [`me`]: `/api/me` and its sessions and tokens.
//! - [`admin`]: the routes under `/api/admin`.
//! - [`messages`]: `POST /api/rooms/{room}/messages`.
//!
//! Errors are values: an [`AccountsError`] answers with its status and an
//! [`common::ErrorFrame`] body, and a `Retry-After` on 429 and 503.

pub mod admin;
pub mod caller;
pub mod me;
pub mod messages;
pub mod session;

pub use caller::{Admin, Caller, Guarded};

use super::AppState;
use crate::accounts::AccountsError;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// The accounts routes, under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/server", get(session::server))
        .route("/setup", post(session::setup))
        .route("/session", post(session::sign_in).delete(session::sign_out))
        .route("/signup", post(session::sign_up))
        .route("/password-reset", post(session::reset_password))
        .route("/me", get(me::me).patch(me::update))
        .route("/me/password", post(me::change_password))
        .route("/me/sessions", get(me::sessions))
        .route("/me/sessions/{id}", delete(me::end_session))
        .route("/me/tokens", get(me::tokens).post(me::create_token))
        .route("/me/tokens/{id}", delete(me::revoke_token))
        .route(
            "/admin/accounts",
            get(admin::accounts).post(admin::create_account),
        )
        .route("/admin/accounts/{id}", patch(admin::update_account))
        .route("/admin/accounts/{id}/reset-link", post(admin::reset_link))
        .route(
            "/admin/accounts/{id}/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route(
            "/admin/accounts/{id}/tokens/{token}",
            delete(admin::revoke_token),
        )
        .route(
            "/admin/invites",
            get(admin::invites).post(admin::create_invite),
        )
        .route("/admin/invites/{id}", delete(admin::revoke_invite))
        .route("/rooms/{room}/messages", post(messages::post))
}

impl IntoResponse for AccountsError {
    fn into_response(self) -> Response {
        let (status, code, retry_after) = (self.status(), self.code(), self.retry_after_secs());
        super::error_response(status, code, self.to_string(), retry_after)
    }
}

/// A JSON body, whose rejection is an [`AccountsError`] (a JSON answer
/// like every other) rather than axum's plain text.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = AccountsError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(crate::auth::CsrfError::NotJson.into())
            }
            Err(rejection) => Err(AccountsError::Malformed(rejection.body_text())),
        }
    }
}

/// A stored row's number in a path (an account, a session, a token, an
/// invite): 0 to [`super::MAX_STORED_ID`]. A larger number names nothing
/// and is refused while the path is read, as a 404 like a path that is not
/// a number, rather than reaching a store that cannot look it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredId(pub u64);

impl<'de> Deserialize<'de> for StoredId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = u64::deserialize(deserializer)?;
        if id > super::MAX_STORED_ID {
            return Err(D::Error::custom("beyond the largest stored id"));
        }
        Ok(Self(id))
    }
}

/// A path's parameters, whose rejection is a 404 (an id that is not a
/// number, or not a [`StoredId`], names nothing).
pub struct Ids<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Ids<T> {
    type Rejection = AccountsError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(AccountsError::NotFound("such thing"))
            }
            Err(rejection) => Err(AccountsError::Malformed(rejection.body_text())),
        }
    }
}
