//! `POST /api/rooms/{room}/messages`: a message from a script, a webhook
//! or a bot, as the caller's account (its display name), stored and
//! broadcast through the hub like a member's `send`, once per nonce, where
//! the rooms' policy lets the caller post ([`crate::rooms::Rooms::may_post`]).

use super::super::AppState;
use super::{Body, Caller};
use crate::http::openapi::responses::RoomWriteErrors;
use crate::rooms::RoomsError;
use crate::store::Posted;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use common::api::accounts::{PostMessage, PostedMessage};
use common::RoomName;

/// Signed in or a bearer token: 201 for a new message, 200 for a repeat
/// of a nonce.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/messages",
    operation_id = "post_message",
    tag = "rooms",
    description = "A message as the caller's account (its display name), once per nonce: for scripts, webhooks and bots. Anyone signed in posts in a public room (a room that does not exist yet is made, public, by its first message), members in a private room or a direct conversation (others: 404, as for a room that does not exist); the muted and the banned get 403 (`muted`, `banned`), and an archived room 409 `archived`.",
    security(("session" = []), ("bearer" = [])),
    params(
        ("room" = RoomName, Path, description = "The room."),
    ),
    request_body = PostMessage,
    responses(
        (status = 201, description = "Stored and sent to the room's members.", body = PostedMessage),
        (status = 200, description = "This nonce made the message already; nothing new was stored.", body = PostedMessage),
        RoomWriteErrors,
    ),
)]
pub async fn post(
    State(state): State<AppState>,
    Caller(caller): Caller,
    super::Ids(room): super::Ids<String>,
    Body(message): Body<PostMessage>,
) -> Result<Response, RoomsError> {
    let room = RoomName::parse(room)?;
    state.rooms.may_post(&caller, &room).await?;
    let author = caller.person();
    let mentions = state
        .rooms
        .mentioned_accounts(message.text.as_str())
        .await?;
    let posted = state
        .hub
        .post_as(&room, &author, message.text, message.nonce, mentions)
        .await;
    Ok(match posted {
        Ok(Posted::New(stored)) => {
            tracing::debug!(room = %room, id = stored.id, user = caller.user_id, "posted over HTTP");
            let body = PostedMessage {
                id: stored.id,
                repeat: false,
            };
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Ok(Posted::Repeat(id)) => {
            (StatusCode::OK, Json(PostedMessage { id, repeat: true })).into_response()
        }
        // The hub refuses only when the message could not be stored now.
        Err(refused) => {
            tracing::debug!(room = %room, code = %refused.code, "post over HTTP refused");
            return Err(RoomsError::Unavailable(
                "the message could not be stored now; send it again with the same nonce",
            ));
        }
    })
}
