//! A room's members: joining, leaving, the list, adding and removing
//! members, and their roles.

use super::super::accounts::{Body, Caller};
use super::super::AppState;
use super::{MemberPath, RoomPath};
use crate::http::openapi::responses::{RoomReadErrors, RoomWriteErrors};
use crate::rooms::members::AddedMember;
use crate::rooms::RoomsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use common::api::rooms::{MemberInfo, RoomInfo, RoomMembers, SetRole, Someone};
use common::RoomName;

/// `POST /api/rooms/{room}/join`.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/join",
    operation_id = "join_room",
    tag = "rooms",
    description = "Makes the caller a member of a public room (an administrator: of a private one too); a member joining again changes nothing. A room that does not exist is made, public, with the caller as its owner. Nobody joins a direct conversation (its people are members already); a private room's outsiders get 404, the banned 403 `banned`.",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    responses(
        (status = 200, description = "The room, with the caller's membership.", body = RoomInfo),
        RoomWriteErrors,
    ),
)]
pub async fn join(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
) -> Result<Json<RoomInfo>, RoomsError> {
    let access = state.rooms.join(&caller, &room).await?;
    Ok(Json(state.rooms.info_for(&caller, &access).await?))
}

/// `POST /api/rooms/{room}/leave`.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/leave",
    operation_id = "leave_room",
    tag = "rooms",
    description = "Ends the caller's membership. The owner cannot leave (archive the room instead), nor can anyone leave a direct conversation (403).",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    responses(
        (status = 204, description = "No longer a member."),
        RoomWriteErrors,
    ),
)]
pub async fn leave(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
) -> Result<StatusCode, RoomsError> {
    state.rooms.leave(&caller, &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/rooms/{room}/members`.
#[utoipa::path(
    get,
    path = "/api/rooms/{room}/members",
    operation_id = "room_members",
    tag = "rooms",
    description = "For those who may read the room (a private room's outsiders: 404).",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    responses(
        (status = 200, description = "Its members with their roles, the earliest to join first, at most `MEMBER_LIST_LIMIT` (1,000); `total` counts them all.", body = RoomMembers),
        RoomReadErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
) -> Result<Json<RoomMembers>, RoomsError> {
    let mut list = state.rooms.members(&caller, &room).await?;
    // Being a member is lasting; being here is live, the hub's to say.
    let online = state.hub.online(&room).await;
    for member in &mut list.members {
        member.online = Some(online.contains(&member.user));
    }
    Ok(Json(list))
}

/// `POST /api/rooms/{room}/members`.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/members",
    operation_id = "add_member",
    tag = "rooms",
    description = "A member (or an administrator) adds an active account to a public or private room; nobody is added to a direct conversation. Audited.",
    security(("session" = []), ("bearer" = [])),
    params(("room" = RoomName, Path, description = "The room.")),
    request_body = Someone,
    responses(
        (status = 201, description = "They are a member now.", body = MemberInfo),
        (status = 200, description = "They were one already; nothing changed.", body = MemberInfo),
        RoomWriteErrors,
    ),
)]
pub async fn add(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RoomPath(room): RoomPath,
    Body(someone): Body<Someone>,
) -> Result<(StatusCode, Json<MemberInfo>), RoomsError> {
    Ok(
        match state.rooms.add_member(&caller, &room, &someone).await? {
            AddedMember::New(member) => (StatusCode::CREATED, Json(member)),
            AddedMember::Already(member) => (StatusCode::OK, Json(member)),
        },
    )
}

/// `DELETE /api/rooms/{room}/members/{user}`.
#[utoipa::path(
    delete,
    path = "/api/rooms/{room}/members/{user}",
    operation_id = "remove_member",
    tag = "rooms",
    description = "A moderator removes a member of a lower rank (a moderator: members; the owner: moderators too; an administrator: anyone). They may join again unless banned. Audited.",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("user" = u64, Path, maximum = 9223372036854775807_u64, description = "The member's account number."),
    ),
    responses(
        (status = 204, description = "Removed."),
        RoomWriteErrors,
    ),
)]
pub async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MemberPath(room, user): MemberPath,
) -> Result<StatusCode, RoomsError> {
    state.rooms.remove_member(&caller, &room, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/rooms/{room}/members/{user}/role`.
#[utoipa::path(
    put,
    path = "/api/rooms/{room}/members/{user}/role",
    operation_id = "set_member_role",
    tag = "rooms",
    description = "The owner (or an administrator) makes a member a moderator or a plain member; the owner's own role does not change, and no room has a second owner (400). Audited.",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
        ("user" = u64, Path, maximum = 9223372036854775807_u64, description = "The member's account number."),
    ),
    request_body = SetRole,
    responses(
        (status = 200, description = "The member with their role now.", body = MemberInfo),
        RoomWriteErrors,
    ),
)]
pub async fn set_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MemberPath(room, user): MemberPath,
    Body(request): Body<SetRole>,
) -> Result<Json<MemberInfo>, RoomsError> {
    let member = state
        .rooms
        .set_role(&caller, &room, user, request.role)
        .await?;
    Ok(Json(member))
}
