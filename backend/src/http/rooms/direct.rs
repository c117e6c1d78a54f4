//! `POST /api/direct`: starting a direct conversation, or finding it
//! again.

use super::super::accounts::{Body, Caller};
use super::super::AppState;
use crate::http::openapi::responses::RoomWriteErrors;
use crate::rooms::direct::Opened;
use crate::rooms::RoomsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::rooms::{RoomInfo, StartDirect};

/// `POST /api/direct`.
#[utoipa::path(
    post,
    path = "/api/direct",
    operation_id = "start_direct",
    tag = "rooms",
    description = "The direct conversation of the caller and the people named (by number or username; 2 to 9 people with the caller, `DIRECT_MAX_PEOPLE`, all active accounts: an unknown or deactivated one is 404). Its slug is `dm-` and their sorted ids (`dm-3-17`), so the same people always find the same conversation.",
    security(("session" = []), ("bearer" = [])),
    request_body = StartDirect,
    responses(
        (status = 201, description = "Started now: every one of its people is a member.", body = RoomInfo),
        (status = 200, description = "It existed: the same conversation, unchanged.", body = RoomInfo),
        RoomWriteErrors,
    ),
)]
pub async fn start_direct(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(request): Body<StartDirect>,
) -> Result<(StatusCode, Json<RoomInfo>), RoomsError> {
    Ok(match state.rooms.start_direct(&caller, request).await? {
        Opened::New(room) => (StatusCode::CREATED, Json(room)),
        Opened::Existing(room) => (StatusCode::OK, Json(room)),
    })
}
