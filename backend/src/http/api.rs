//! The JSON HTTP API: the room list, history pages (readable without
//! signing in until protocol version 2, as the WebSocket of version 1
//! is), the health check, and the metrics. Errors are
//! values ([`ApiError`]) with the same `code`s as `error` frames. The
//! accounts' routes are in [`super::accounts`].

use super::accounts::Caller;
use super::AppState;
use crate::store::{HistoryQuery, StoreError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use common::api::{MessagePage, RoomSummary, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, ROOM_LIST_LIMIT};
use common::{ErrorCode, ErrorFrame, MessageId, RoomName};
use serde::Deserialize;
use std::collections::HashMap;

/// The routes under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rooms", get(list_rooms))
        .route("/rooms/{room}/messages", get(room_messages))
        .merge(super::accounts::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::BadRequest,
                "no such API route",
            )
        })
}

/// `GET /api/rooms`: rooms with messages, the most recently active first,
/// then rooms that have members but no messages yet.
#[utoipa::path(
    get,
    path = "/api/rooms",
    operation_id = "list_rooms",
    tag = "rooms",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "At most `ROOM_LIST_LIMIT` (500) rooms: those with messages, the most recently active first, then those with members and no messages yet, by name.", body = Vec<RoomSummary>),
        (status = 401, response = crate::http::openapi::responses::Unauthenticated),
        (status = 503, response = crate::http::openapi::responses::Unavailable),
    ),
)]
async fn list_rooms(
    State(state): State<AppState>,
    // Protocol version 2: only those signed in see the rooms.
    _caller: Caller,
) -> Result<Json<Vec<RoomSummary>>, ApiError> {
    let stored = state.store.recent_rooms(ROOM_LIST_LIMIT).await?;
    let mut live: HashMap<RoomName, usize> = state.hub.live_rooms().into_iter().collect();
    let mut rooms: Vec<RoomSummary> = stored
        .into_iter()
        .map(|activity| {
            let running = live.remove(&activity.room);
            // In cluster mode the broker counts every instance's members.
            let members = count(activity.members.or(running).unwrap_or(0));
            RoomSummary::bare(activity.room, members, activity.last_id)
        })
        .collect();
    let mut quiet: Vec<RoomSummary> = live
        .into_iter()
        .filter(|&(_, members)| members > 0)
        .map(|(room, members)| RoomSummary::bare(room, count(members), 0))
        .collect();
    quiet.sort_by(|a, b| a.room.cmp(&b.room));
    rooms.extend(quiet);
    rooms.truncate(ROOM_LIST_LIMIT);
    Ok(Json(rooms))
}

fn count(members: usize) -> u32 {
    u32::try_from(members).unwrap_or(u32::MAX)
}

/// The query of `GET /api/rooms/{room}/messages`.
#[derive(Debug, Deserialize)]
struct PageParams {
    /// Only messages older than this id; the newest ones when absent.
    before: Option<MessageId>,
    /// How many messages; [`DEFAULT_PAGE_LIMIT`] when absent, at most [`MAX_PAGE_LIMIT`].
    limit: Option<usize>,
}

/// `GET /api/rooms/{room}/messages?before={id}&limit={n}`: a page of older
/// history, oldest first.
#[utoipa::path(
    get,
    path = "/api/rooms/{room}/messages",
    operation_id = "room_messages",
    tag = "rooms",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("before" = Option<u64>, Query, minimum = 0, description = "Only messages older than this id; the newest when absent."),
        ("limit" = Option<u64>, Query, minimum = 1, description = "How many messages: 50 (`DEFAULT_PAGE_LIMIT`) when absent; more than 200 (`MAX_PAGE_LIMIT`) is lowered to 200."),
    ),
    responses(
        (status = 200, description = "The page, oldest first; fewer messages when their text passes `HISTORY_MAX_BYTES`.", body = MessagePage),
        (status = 400, response = crate::http::openapi::responses::BadRequest),
        (status = 401, response = crate::http::openapi::responses::Unauthenticated),
        (status = 503, response = crate::http::openapi::responses::Unavailable),
    ),
)]
async fn room_messages(
    State(state): State<AppState>,
    _caller: Caller,
    Path(room): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
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
        // Every stored id is at most MAX_STORED_ID: older than a larger
        // one is older than that.
        before: params.before.map(|id| id.min(super::MAX_STORED_ID)),
        limit: limit.min(MAX_PAGE_LIMIT),
    };
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
