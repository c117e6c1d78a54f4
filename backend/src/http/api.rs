//! The JSON HTTP API: history pages (for those who may read the room, as
//! [`crate::rooms::policy`] decides), the health check, and the metrics.
//! Errors are values ([`ApiError`]) with the same `code`s as `error`
//! frames. The accounts' routes are in [`super::accounts`], the rooms'
//! (the room list among them) in [`super::rooms`].

use super::accounts::Caller;
use super::AppState;
use crate::rooms::{Action, RoomsError};
use crate::store::{HistoryQuery, StoreError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use common::api::{MessagePage, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use common::{ErrorCode, ErrorFrame, RoomName};

/// The routes under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rooms/{room}/messages", get(room_messages))
        .merge(super::accounts::routes())
        .merge(super::rooms::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::BadRequest,
                "no such API route",
            )
        })
}

/// `GET /api/rooms/{room}/messages?before={id}&limit={n}`: a page of older
/// history, oldest first, for those who may read the room (checked once
/// the request itself is known to be well-formed, so that a bad query is
/// a 400 whatever the room).
#[utoipa::path(
    get,
    path = "/api/rooms/{room}/messages",
    operation_id = "room_messages",
    tag = "rooms",
    security(("session" = []), ("bearer" = [])),
    description = "Anyone signed in for a public room; a private room or a direct conversation for its members and administrators. Anyone else, and anyone asking of a room that does not exist, gets 404; one banned from a public room 403 `banned`.",
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("before" = Option<u64>, Query, minimum = 0, description = "Only messages older than this id; the newest when absent."),
        ("limit" = Option<u64>, Query, minimum = 1, description = "How many messages: 50 (`DEFAULT_PAGE_LIMIT`) when absent; more than 200 (`MAX_PAGE_LIMIT`) is lowered to 200."),
    ),
    responses(
        (status = 200, description = "The page, oldest first; fewer messages when their text passes `HISTORY_MAX_BYTES`.", body = MessagePage),
        (status = 400, response = crate::http::openapi::responses::BadRequest),
        (status = 401, response = crate::http::openapi::responses::Unauthenticated),
        (status = 403, response = crate::http::openapi::responses::RoomForbidden),
        (status = 404, response = crate::http::openapi::responses::RoomNotFound),
        (status = 503, response = crate::http::openapi::responses::Unavailable),
    ),
)]
async fn room_messages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(room): Path<String>,
    params: Result<Query<super::PageQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let room = RoomName::parse(room)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, err.code(), err.to_string()))?;
    let Query(params) = params.map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            err.body_text(),
        )
    })?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
    if limit == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "limit must be at least 1",
        ));
    }
    let query = HistoryQuery {
        after: None,
        before: params.before(),
        limit: limit.min(MAX_PAGE_LIMIT),
    };
    state.rooms.allowed(&caller, &room, Action::Read).await?;
    let page = state.store.history(&room, query).await?;
    Ok(Json(MessagePage {
        room,
        messages: page.messages,
        has_older: page.has_older,
    }))
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "server",
    responses(
        (status = 200, description = "The database answers.", content_type = "text/plain; charset=utf-8", body = String),
        (status = 503, response = crate::http::openapi::responses::Unavailable),
    ),
)]
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.check().await?;
    Ok("ok\n")
}

/// `GET /metrics`: the server's metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "server",
    description = "Served here unless `--no-metrics` or `--metrics-addr` (then it is absent from this document).",
    responses(
        (status = 200, description = "The metrics, in the Prometheus text format 0.0.4.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    ),
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let rooms = state.hub.live_rooms();
    let members = rooms.iter().map(|(_, members)| members).sum();
    let text = state.metrics.render(rooms.len(), members);
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text)
}

/// An API failure: an HTTP status and a JSON body `{"code", "message"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorFrame,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorFrame {
                code,
                message: message.into(),
                room: None,
                nonce: None,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "storage failed during an API request");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "storage is unavailable; try again",
        )
    }
}

impl From<RoomsError> for ApiError {
    fn from(err: RoomsError) -> Self {
        Self::new(err.status(), err.code(), err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
