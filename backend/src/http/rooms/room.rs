//! Rooms themselves: the caller's room list (`GET /api/rooms`), making a
//! room, one room's details and settings.

use super::super::accounts::{Body, Caller};
use super::super::AppState;
use super::RoomPath;
use crate::http::openapi::responses::{
    RoomReadErrors, RoomWriteErrors, Unauthenticated, Unavailable,
};
use crate::rooms::RoomsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::rooms::{CreateRoom, RoomInfo, RoomUpdate};
use common::api::{RoomSummary, ROOM_LIST_LIMIT};
use common::RoomName;
use std::collections::BTreeMap;

/// `GET /api/rooms`.
#[utoipa::path(
    get,
    path = "/api/rooms",
    operation_id = "list_rooms",
    tag = "rooms",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "At most `ROOM_LIST_LIMIT` (500) rooms: the caller's (with `membership`: their role, unread and mention counts), the most recently active first; then the public rooms they are not in (without `membership`), the most recently active first; then rooms people are connected to that have no messages yet, by name. Private rooms and direct conversations are listed to their members only.", body = Vec<RoomSummary>),
        (status = 401, response = Unauthenticated),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<RoomSummary>>, RoomsError> {
    let connected = connected(&state).await?;
    Ok(Json(state.rooms.list(&caller, &connected).await?))
}

/// How many people are connected to each room now: in cluster mode the
/// broker's count of every instance's, otherwise this instance's hub.
async fn connected(state: &AppState) -> Result<BTreeMap<RoomName, u32>, RoomsError> {
    let count = |members: usize| u32::try_from(members).unwrap_or(u32::MAX);
    let mut live: BTreeMap<RoomName, usize> = state.hub.live_rooms().into_iter().collect();
    let stored = state.store.recent_rooms(ROOM_LIST_LIMIT).await?;
    let mut connected: BTreeMap<RoomName, u32> = stored
        .into_iter()
        .map(|activity| {
            let running = live.remove(&activity.room);
            let members = activity.members.or(running).unwrap_or(0);
            (activity.room, count(members))
        })
        .collect();
    connected.extend(
        live.into_iter()
            .map(|(room, members)| (room, count(members))),
    );
    Ok(connected)
}

/// `POST /api/rooms`.
#[utoipa::path(
    post,
    path = "/api/rooms",
    operation_id = "create_room",
    tag = "rooms",
    description = "A public or private room; the caller is its owner and first member. Slugs starting with `dm-` are kept for direct conversations (400 `invalid_room`), and a `direct` kind is refused (400: `POST /api/direct` starts those).",
    security(("session" = []), ("bearer" = [])),
    request_body = CreateRoom,
    responses(
        (status = 201, description = "The new room, with the caller's membership as its owner.", body = RoomInfo),
        RoomWriteErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(request): Body<CreateRoom>,
) -> Result<(StatusCode, Json<RoomInfo>), RoomsError> {
    let room = state.rooms.create_room(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(room)))
}

/// `GET /api/rooms/{room}`.
#[utoipa::path(
    get,
    path = "/api/rooms/{room}",
    operation_id = "room_details",
    tag = "rooms",
    description = "Anyone signed in for a public room; a private room or a direct conversation for its members and administrators (anyone else: 404, as for a room that does not exist).",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    responses(
        (status = 200, description = "The room, with the caller's membership if they are a member.", body = RoomInfo),
        RoomReadErrors,
    ),
)]
pub async fn details(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
) -> Result<Json<RoomInfo>, RoomsError> {
    Ok(Json(state.rooms.details(&caller, &room).await?))
}

/// `PATCH /api/rooms/{room}`.
#[utoipa::path(
    patch,
    path = "/api/rooms/{room}",
    operation_id = "update_room",
    tag = "rooms",
    description = "The owner (or an administrator) changes the title, topic, kind (public or private) and archived state; a direct conversation's people change its title and topic. An archived room's title, topic and kind stay until it is brought back (which the same request may do). Each change is audited.",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    request_body = RoomUpdate,
    responses(
        (status = 200, description = "The room as it is now.", body = RoomInfo),
        RoomWriteErrors,
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
    Body(update): Body<RoomUpdate>,
) -> Result<Json<RoomInfo>, RoomsError> {
    Ok(Json(state.rooms.update_room(&caller, &room, update).await?))
}
