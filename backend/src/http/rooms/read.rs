//! Read state: marking a room read, or every room of the caller's.

use super::super::accounts::{Body, Caller};
use super::super::AppState;
use super::RoomPath;
use crate::http::openapi::responses::RoomWriteErrors;
use crate::rooms::RoomsError;
use axum::extract::State;
use axum::Json;
use common::api::rooms::{MarkRead, ReadAll, ReadState};
use common::RoomName;

/// `POST /api/rooms/{room}/read`.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/read",
    operation_id = "mark_read",
    tag = "rooms",
    description = "The caller, a member, has read the room up to `up_to`: their read state becomes the larger of what it was and `up_to`, and no larger than the room's newest id. A public room's non-member: 409 `not_member`.",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    request_body = MarkRead,
    responses(
        (status = 200, description = "The read state now.", body = ReadState),
        RoomWriteErrors,
    ),
)]
pub async fn mark_read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
    Body(request): Body<MarkRead>,
) -> Result<Json<ReadState>, RoomsError> {
    let read = state.rooms.mark_read(&caller, &room, request.up_to).await?;
    Ok(Json(read))
}

/// `POST /api/me/read-all`.
#[utoipa::path(
    post,
    path = "/api/me/read-all",
    operation_id = "mark_all_read",
    tag = "rooms",
    description = "Every room of the caller's is read up to its newest message.",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "How many rooms had something unread.", body = ReadAll),
        RoomWriteErrors,
    ),
)]
pub async fn mark_all_read(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ReadAll>, RoomsError> {
    Ok(Json(state.rooms.mark_all_read(&caller).await?))
}
