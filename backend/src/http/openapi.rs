//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every HTTP route,
//! generated from the code: each handler's `#[utoipa::path]` (its method,
//! path, parameters, body, every answer it can give and who may call it),
//! the wire types' schemas from `common` (feature `openapi`), the shared
//! error answers of [`responses`], and the two ways to sign a request
//! ([`SESSION_SCHEME`], [`BEARER_SCHEME`]).
//!
//! The document is made once, when the router is built, and served as
//! bytes; anyone may read it. `GET /metrics` is in it only when the main
//! router serves it (not with `--no-metrics` or `--metrics-addr`).
//!
//! `backend/tests/openapi.rs` checks the served document against the
//! router, and `cargo xtask test` fuzzes every route in it with
//! schemathesis against a real server (xtask/src/schemathesis.rs).

pub mod responses;

use crate::auth::cookie::SESSION_COOKIE;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Extension;
use bytes::Bytes;
use common::ErrorFrame;
use responses::{
    BadRequest, Conflict, Forbidden, Gone, NotFound, NotJson, RateLimited, RoomConflict,
    RoomForbidden, RoomNotFound, TooLarge, Unauthenticated, Unavailable,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The security scheme of the session cookie, as routes name it.
pub const SESSION_SCHEME: &str = "session";
/// The security scheme of `Authorization: Bearer <token>` (an API token or
/// a session's token), as routes name it.
pub const BEARER_SCHEME: &str = "bearer";

/// The document: every route's annotations, put together.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "chat-server",
        description = "The HTTP API of the chat server, protocol version 2: rooms \
            (public, private, direct conversations; their members, roles, moderation \
            and read state) and their history, the accounts (setup, sessions, sign-up, the caller's own \
            account, its sessions and API tokens, administration), posting from scripts, \
            the health check and the metrics. The WebSocket (`GET /ws`) speaks the \
            protocol of docs/PROTOCOL.md once upgraded.\n\n\
            Every state-changing request (any method but GET and HEAD) needs \
            `Content-Type: application/json`, and, unless it has a bearer token, an \
            allowed `Origin` (this server's own, or one of `--allowed-origin`), \
            against cross-site request forgery.",
        license(name = "MIT"),
    ),
    paths(
        super::rooms::room::list,
        super::rooms::room::create,
        super::rooms::room::details,
        super::rooms::room::update,
        super::rooms::direct::start_direct,
        super::rooms::members::join,
        super::rooms::members::leave,
        super::rooms::members::list,
        super::rooms::members::add,
        super::rooms::members::remove,
        super::rooms::members::set_role,
        super::rooms::moderation::bans,
        super::rooms::moderation::ban,
        super::rooms::moderation::unban,
        super::rooms::moderation::mute,
        super::rooms::moderation::unmute,
        super::rooms::read::mark_read,
        super::rooms::read::mark_all_read,
        super::api::room_messages,
        super::accounts::messages::post,
        super::accounts::session::server,
        super::accounts::session::setup,
        super::accounts::session::sign_in,
        super::accounts::session::sign_out,
        super::accounts::session::sign_up,
        super::accounts::session::reset_password,
        super::accounts::me::me,
        super::accounts::me::update,
        super::accounts::me::change_password,
        super::accounts::me::sessions,
        super::accounts::me::end_session,
        super::accounts::me::tokens,
        super::accounts::me::create_token,
        super::accounts::me::revoke_token,
        super::accounts::admin::accounts,
        super::accounts::admin::create_account,
        super::accounts::admin::update_account,
        super::accounts::admin::reset_link,
        super::accounts::admin::tokens,
        super::accounts::admin::create_token,
        super::accounts::admin::revoke_token,
        super::accounts::admin::invites,
        super::accounts::admin::create_invite,
        super::accounts::admin::revoke_invite,
        super::rooms::audit::page,
        super::api::healthz,
        super::api::metrics,
        websocket,
        serve,
    ),
    components(
        schemas(ErrorFrame),
        responses(
            BadRequest,
            Unauthenticated,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            TooLarge,
            NotJson,
            RateLimited,
            Unavailable,
            RoomForbidden,
            RoomNotFound,
            RoomConflict,
        ),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "rooms", description = "Rooms people belong to: the room list, making and changing rooms, direct conversations, members and roles, bans and mutes, read state, history pages, and posting."),
        (name = "session", description = "Getting in and out: setup, sign-in, sign-up, password reset."),
        (name = "me", description = "The caller's own account, sessions and API tokens."),
        (name = "admin", description = "Administration: accounts, bots' tokens, invites, reset links, the audit log."),
        (name = "server", description = "The server itself: its settings, health, metrics, this document, the WebSocket."),
    ),
)]
pub struct ApiDoc;

/// Adds the security schemes the routes' `security(...)` name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session a sign-in, sign-up or setup sets (HttpOnly, SameSite=Lax).",
            ))),
        );
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`POST /api/me/tokens`, or a bot's from an \
                         administrator) or a session's token. Requests with one need \
                         no `Origin`: no browser adds this header by itself.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as served: JSON, without `GET /metrics` when the main
/// router does not serve it.
#[derive(Clone)]
pub struct Document(pub Bytes);

impl Document {
    /// The document of a router that serves `GET /metrics` or not.
    pub fn new(metrics_route: bool) -> Self {
        let mut doc = ApiDoc::openapi();
        if !metrics_route {
            doc.paths.paths.remove("/metrics");
        }
        // Serializing a document of plain values cannot fail; an empty
        // answer would show it did.
        Self(Bytes::from(doc.to_json().unwrap_or_default()))
    }
}

/// `GET /api/openapi.json`: anyone.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi_document",
    tag = "server",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1).", content_type = "application/json", body = Object),
    ),
)]
pub async fn serve(Extension(document): Extension<Document>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document.0)
}

/// `GET /ws`: the WebSocket; its handler is in [`super::ws`], and this
/// function only carries the route's documentation (the handler's module
/// belongs to the connection's code).
#[utoipa::path(
    get,
    path = "/ws",
    operation_id = "websocket",
    tag = "server",
    security(("session" = []), ("bearer" = [])),
    description = "Upgrades to a WebSocket that speaks the protocol of docs/PROTOCOL.md, \
        as the account of the session cookie or the bearer token. Every refusal comes \
        before the upgrade: a plain-text answer with one line that says why, or the \
        accounts API's JSON error when the credential is missing, ended, or cannot \
        be checked now.",
    responses(
        (status = 101, description = "Switched to the WebSocket protocol."),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "This `Origin` may not open a WebSocket here.", content_type = "text/plain; charset=utf-8", body = String),
        (status = 426, description = "Not a WebSocket upgrade (a plain GET).", content_type = "text/plain; charset=utf-8", body = String),
        (status = 429, description = "Too many connections from this address.", content_type = "text/plain; charset=utf-8", body = String),
        (status = 503, description = "The server is full (plain text, with `Retry-After`), or the credential cannot be checked now (the JSON error).", content(
            (String = "text/plain; charset=utf-8"),
            (ErrorFrame = "application/json"),
        )),
    ),
)]
#[allow(
    dead_code,
    reason = "documentation only: the route is served by http::ws::upgrade"
)]
fn websocket() {}
