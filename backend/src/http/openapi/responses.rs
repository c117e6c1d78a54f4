//! The error answers the routes share, as reusable OpenAPI responses
//! (`#/components/responses/…`): each route's `#[utoipa::path]` lists
//! those it can give, so one description says what each status means.
//!
//! Every one has an [`ErrorFrame`] body whose `code` is the
//! machine-readable reason; the statuses and codes are those of
//! [`crate::accounts::AccountsError::status`] and of the room API's
//! `ApiError`.

use common::ErrorFrame;
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{IntoResponses, PartialSchema, ToResponse, ToSchema};

/// An answer with an [`ErrorFrame`] body.
fn error_frame(description: &str) -> ResponseBuilder {
    let frame = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ErrorFrame::name()));
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(frame)))
}

/// The `Retry-After` header of 429 and 503 answers.
fn retry_after(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(u64::schema())
        .description(Some(description))
        .build()
}

/// Declares a reusable error response: its component name is the type's.
macro_rules! error_response {
    ($(#[$doc:meta])* $name:ident => $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T($build))
            }
        }
    };
}

error_response! {
    /// 400: the body, path or query does not parse or breaks a rule.
    BadRequest => error_frame(
        "The body, the path or the query does not parse, or a value breaks its rule; \
         `code` says which (`bad_request`, `invalid_username`, `invalid_password`, \
         `invalid_name`, `invalid_room`, `invalid_title`, `invalid_topic`, \
         `invalid_text`, `too_long`, `empty_text`, `invalid_nonce`) and `message` says \
         it in words.",
    ).build()
}

error_response! {
    /// 401: no credential, one that ended, or a wrong password.
    Unauthenticated => error_frame(
        "No session cookie or bearer token, or one that ended (`unauthenticated`); \
         for a sign-in or a password change, a wrong username or password \
         (`invalid_credentials`, never saying which).",
    ).build()
}

error_response! {
    /// 403: not allowed, or a request that may be forged.
    Forbidden => error_frame(
        "Not allowed (`forbidden`: a member asking for administration, a bot for a \
         password), signup closed this way (`signup_closed`), or a state-changing \
         request that may be forged: without a bearer token it needs an allowed \
         `Origin` (or `Sec-Fetch-Site: same-origin`).",
    ).build()
}

error_response! {
    /// 404: no such account, session, token or invite.
    NotFound => error_frame(
        "No such account, session, token or invite (`not_found`); an id that is \
         not a number names nothing either.",
    ).build()
}

error_response! {
    /// 403 of a room's routes: not allowed there, banned, muted.
    RoomForbidden => error_frame(
        "Not allowed in this room (`forbidden`: not a moderator or the owner, a \
         target of a higher rank, an action on oneself, something no direct \
         conversation allows), banned from this public room or naming someone who \
         is (`banned`), muted here (`muted`, with the mute's end in `message`), or a \
         state-changing request that may be forged (`forbidden`).",
    ).build()
}

error_response! {
    /// 404 of a room's routes: no such room, as far as the caller may know.
    RoomNotFound => error_frame(
        "No such room, or a private room or direct conversation the caller is not \
         in: the same answer, word for word (`not_found`); or no such account, \
         member or ban.",
    ).build()
}

error_response! {
    /// 409 of a room's routes: the room's state refuses it.
    RoomConflict => error_frame(
        "The room's state refuses it: it is archived (`archived`), the caller or \
         the person named is not a member (`not_member`), a room of this name exists \
         (`room_exists`), or someone is in as many rooms as one may be \
         (`too_many_rooms`).",
    ).build()
}

/// Declares a set of the error responses above, by status, that a route
/// names at once beside its successes (`responses((status = 200, …),
/// RoomReadErrors)`): the rooms' routes answer alike.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident => [$($status:literal => $response:ident),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$((
                    $status.to_owned(),
                    RefOr::Ref(Ref::from_response_name(stringify!($response))),
                )),*]
                .into_iter()
                .collect()
            }
        }
    };
}

error_set! {
    /// What a room route that reads may answer besides its success.
    RoomReadErrors => [
        "400" => BadRequest,
        "401" => Unauthenticated,
        "403" => RoomForbidden,
        "404" => RoomNotFound,
        "503" => Unavailable,
    ]
}

error_set! {
    /// What a room route that changes something may answer besides its
    /// success.
    RoomWriteErrors => [
        "400" => BadRequest,
        "401" => Unauthenticated,
        "403" => RoomForbidden,
        "404" => RoomNotFound,
        "409" => RoomConflict,
        "413" => TooLarge,
        "415" => NotJson,
        "503" => Unavailable,
    ]
}

error_response! {
    /// 409: the username is taken.
    Conflict => error_frame("Another account has this username, ignoring case (`username_taken`).")
        .build()
}

error_response! {
    /// 410: the link was used up, revoked or expired.
    Gone => error_frame(
        "The setup, invite or reset link was used up, revoked or expired, or is not \
         a token at all (`link_invalid`).",
    ).build()
}

error_response! {
    /// 413: the body is larger than the server takes.
    TooLarge => error_frame(&format!(
        "The body is larger than {} bytes (`http::MAX_HTTP_BODY_BYTES`), as its \
         `Content-Length` says (`bad_request`); refused before it is read. A body \
         sent in chunks that grows past it is a 400.",
        super::super::MAX_HTTP_BODY_BYTES
    ))
    .build()
}

error_response! {
    /// 415: a state-changing request without a JSON body.
    NotJson => error_frame(
        "A state-changing request (any but GET and HEAD, with or without a body) \
         must say `Content-Type: application/json` (`bad_request`).",
    ).build()
}

error_response! {
    /// 429: too many failed sign-ins.
    RateLimited => error_frame(
        "Too many failed sign-ins for this account or from this address \
         (`rate_limited`); `Retry-After` says when to try again.",
    )
    .header("Retry-After", retry_after("Seconds to wait before signing in again."))
    .build()
}

error_response! {
    /// 503: storage or the password pool cannot answer now.
    Unavailable => error_frame(
        "The server cannot do it now (`unavailable`: storage failed, or too many \
         passwords are being checked at once); retrying later may work. The accounts' \
         routes say when in `Retry-After`.",
    )
    .header("Retry-After", retry_after("Seconds to wait before trying again."))
    .build()
}
