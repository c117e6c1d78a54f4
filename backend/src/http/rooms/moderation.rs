//! Moderation: a room's bans and its members' mutes.

use super::super::accounts::{Body, Caller};
use super::super::AppState;
use super::{MemberPath, RoomPath};
use crate::http::openapi::responses::{RoomReadErrors, RoomWriteErrors};
use crate::rooms::moderation::Banned;
use crate::rooms::RoomsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::rooms::{BanInfo, MemberInfo, Mute, Someone};
use common::RoomName;

/// `GET /api/rooms/{room}/bans`.
#[utoipa::path(
    get,
    path = "/api/rooms/{room}/bans",
    operation_id = "room_bans",
    tag = "rooms",
    description = "The room's moderators (and administrators).",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    responses(
        (status = 200, description = "Its bans, the oldest first.", body = Vec<BanInfo>),
        RoomReadErrors,
    ),
)]
pub async fn bans(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
) -> Result<Json<Vec<BanInfo>>, RoomsError> {
    Ok(Json(state.rooms.bans(&caller, &room).await?))
}

/// `POST /api/rooms/{room}/bans`.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/bans",
    operation_id = "ban",
    tag = "rooms",
    description = "A moderator bans someone of a lower rank, a member or not: their membership ends and they may neither join nor be added until the ban is lifted. Audited.",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    request_body = Someone,
    responses(
        (status = 201, description = "Banned.", body = BanInfo),
        (status = 200, description = "They were banned already; the ban stays as it was.", body = BanInfo),
        RoomWriteErrors,
    ),
)]
pub async fn ban(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
    Body(someone): Body<Someone>,
) -> Result<(StatusCode, Json<BanInfo>), RoomsError> {
    Ok(match state.rooms.ban(&caller, &room, &someone).await? {
        Banned::New(ban) => (StatusCode::CREATED, Json(ban)),
        Banned::Already(ban) => (StatusCode::OK, Json(ban)),
    })
}

/// `DELETE /api/rooms/{room}/bans/{user}`.
#[utoipa::path(
    delete,
    path = "/api/rooms/{room}/bans/{user}",
    operation_id = "unban",
    tag = "rooms",
    description = "A moderator lifts a ban; they are not a member again until they join or are added. Audited.",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("user" = u64, Path, maximum = 9223372036854775807_u64, description = "The banned account's number."),
    ),
    responses(
        (status = 204, description = "Lifted."),
        RoomWriteErrors,
    ),
)]
pub async fn unban(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MemberPath(room, user): MemberPath,
) -> Result<StatusCode, RoomsError> {
    state.rooms.unban(&caller, &room, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/rooms/{room}/members/{user}/mute`.
#[utoipa::path(
    put,
    path = "/api/rooms/{room}/members/{user}/mute",
    operation_id = "mute_member",
    tag = "rooms",
    description = "A moderator mutes a member of a lower rank for 1 to `MAX_MUTE_MINUTES` (43,200: 30 days) minutes from now: they read, but posting answers 403 `muted`. A new mute replaces the old one. Audited.",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("user" = u64, Path, maximum = 9223372036854775807_u64, description = "The member's account number."),
    ),
    request_body = Mute,
    responses(
        (status = 200, description = "The member, muted until `muted_until`.", body = MemberInfo),
        RoomWriteErrors,
    ),
)]
pub async fn mute(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MemberPath(room, user): MemberPath,
    Body(request): Body<Mute>,
) -> Result<Json<MemberInfo>, RoomsError> {
    let member = state
        .rooms
        .mute(&caller, &room, user, request.minutes)
        .await?;
    Ok(Json(member))
}

/// `DELETE /api/rooms/{room}/members/{user}/mute`.
#[utoipa::path(
    delete,
    path = "/api/rooms/{room}/members/{user}/mute",
    operation_id = "unmute_member",
    tag = "rooms",
    description = "A moderator lifts a member's mute (there may be none). Audited.",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("user" = u64, Path, maximum = 9223372036854775807_u64, description = "The member's account number."),
    ),
    responses(
        (status = 200, description = "The member, free to post.", body = MemberInfo),
        RoomWriteErrors,
    ),
)]
pub async fn unmute(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MemberPath(room, user): MemberPath,
) -> Result<Json<MemberInfo>, RoomsError> {
    Ok(Json(state.rooms.unmute(&caller, &room, user).await?))
}
