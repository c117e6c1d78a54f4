//! The rooms part of the JSON API: the routes of
//! [`common::api::rooms`]'s table and `GET /api/rooms`, each a thin
//! handler over a use case of [`crate::rooms::Rooms`], which decides who
//! may do what ([`crate::rooms::policy`]).
//!
//! - [`room`]: the room list, making a room, its details and settings.
//! - [`direct`]: direct conversations.
//! - [`members`]: joining, leaving, the member list, adding and removing
//!   members, roles.
//! - [`moderation`]: bans and mutes.
//! - [`read`]: read state.
//! - [`audit`]: `GET /api/admin/audit`.
//!
//! Who calls is the accounts' extractors' ([`super::accounts::Caller`],
//! [`super::accounts::Admin`], which also check state-changing requests
//! against forgery), and bodies are read by [`super::accounts::Body`].
//! Errors are values: a [`RoomsError`] answers with its status and an
//! [`common::ErrorFrame`] body.

pub mod audit;
pub mod direct;
pub mod members;
pub mod moderation;
pub mod read;
pub mod room;

use super::AppState;
use crate::rooms::RoomsError;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use common::{RoomName, UserId};

/// The rooms routes, under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rooms", get(room::list).post(room::create))
        .route("/rooms/{room}", get(room::details).patch(room::update))
        .route("/rooms/{room}/join", post(members::join))
        .route("/rooms/{room}/leave", post(members::leave))
        .route(
            "/rooms/{room}/members",
            get(members::list).post(members::add),
        )
        .route("/rooms/{room}/members/{user}", delete(members::remove))
        .route("/rooms/{room}/members/{user}/role", put(members::set_role))
        .route(
            "/rooms/{room}/members/{user}/mute",
            put(moderation::mute).delete(moderation::unmute),
        )
        .route(
            "/rooms/{room}/bans",
            get(moderation::bans).post(moderation::ban),
        )
        .route("/rooms/{room}/bans/{user}", delete(moderation::unban))
        .route("/rooms/{room}/read", post(read::mark_read))
        .route("/me/read-all", post(read::mark_all_read))
        .route("/direct", post(direct::start_direct))
        .route("/admin/audit", get(audit::page))
}

impl IntoResponse for RoomsError {
    fn into_response(self) -> Response {
        let (status, code, retry_after) = (self.status(), self.code(), self.retry_after_secs());
        super::error_response(status, code, self.to_string(), retry_after)
    }
}

/// The `{room}` of a path: a room name that breaks its rule is a 400
/// `invalid_room`, as in every other answer about a room name.
pub struct RoomPath(pub RoomName);

impl<S: Send + Sync> FromRequestParts<S> for RoomPath {
    type Rejection = RoomsError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| RoomsError::NotFound("room"))?;
        Ok(Self(RoomName::parse(raw)?))
    }
}

/// The `{room}` and `{user}` of a path; a `{user}` that is not a stored
/// id (a number up to [`super::MAX_STORED_ID`]) names nobody: a 404.
pub struct MemberPath(pub RoomName, pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for MemberPath {
    type Rejection = RoomsError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((raw, user)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| RoomsError::NotFound("member"))?;
        let room = RoomName::parse(raw)?;
        let user = user
            .parse::<UserId>()
            .ok()
            .filter(|&id| id <= super::MAX_STORED_ID)
            .ok_or(RoomsError::NotFound("account"))?;
        Ok(Self(room, user))
    }
}
