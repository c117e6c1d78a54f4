//! The HTTP side: the router and the state its handlers share.
//!
//! - [`ws`]: `GET /ws`, the WebSocket upgrade (origin check, connection
//!   caps, size limits).
//! - [`api`]: `GET /api/rooms`, `GET /api/rooms/{room}/messages`,
//!   `GET /healthz`, `GET /metrics`.
//! - [`accounts`]: the accounts' routes (setup, sessions, sign-up, the
//!   caller's account, administration, `POST /api/rooms/{room}/messages`)
//!   and the extractors of who is calling.
//! - [`rooms`]: the rooms' routes (the room list, making and changing
//!   rooms, members, roles, bans, mutes, read state, direct
//!   conversations, the audit log).
//! - [`openapi`]: `GET /api/openapi.json`, the OpenAPI 3.1 document of
//!   every route here, made from the handlers' annotations.
//! - [`frontend`]: everything else, the built web client.

pub mod accounts;
pub mod api;
pub mod frontend;
pub mod openapi;
pub mod rooms;
pub mod ws;

use crate::accounts::Accounts;
use crate::config::Config;
use crate::connection::{ConnectionContext, ConnectionSettings};
use crate::hub::Hub;
use crate::limits::Admission;
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use crate::store::MessageStore;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use common::{ErrorCode, ErrorFrame};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Largest HTTP request body accepted: the accounts' requests are a few
/// hundred bytes, and the largest, `POST /api/rooms/{room}/messages`,
/// holds one message of at most 4,000 characters, which fits sent as
/// UTF-8 (at most 4 bytes a character), as over the WebSocket, whose
/// default limit (`--max-message-bytes`) is the same 16 KiB.
pub const MAX_HTTP_BODY_BYTES: usize = 16 * 1024;

/// The largest id a store gives (of a message, an account, a session, a
/// token, an invite): both keep ids as signed 64-bit integers. A larger
/// number in a path or a query names nothing, and is answered as such
/// before it reaches a store, which could not look it up (SQLite refuses
/// to bind it).
pub const MAX_STORED_ID: u64 = i64::MAX as u64;

/// The query of a paged route (history, the audit log): older than
/// `before`, at most `limit`.
#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    /// Only what is older than this id; the newest when absent.
    pub before: Option<u64>,
    /// How many; the route's default when absent.
    pub limit: Option<usize>,
}

impl PageQuery {
    /// `before`, no larger than [`MAX_STORED_ID`]: every stored id is at
    /// most that, so older than a larger one is older than that.
    pub fn before(&self) -> Option<u64> {
        self.before.map(|id| id.min(MAX_STORED_ID))
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The room hub.
    pub hub: Hub,
    /// The message history.
    pub store: Arc<dyn MessageStore>,
    /// The accounts' use cases (and their store).
    pub accounts: Accounts,
    /// The rooms' use cases.
    pub rooms: Rooms,
    /// Settings from the configuration.
    pub settings: Arc<HttpSettings>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// The WebSocket connections, so shutdown can wait for them.
    pub websockets: TaskTracker,
    /// The connection caps.
    pub admission: Admission,
    /// The server's metrics.
    pub metrics: Metrics,
    /// What every WebSocket connection shares (the hub, metrics and limits
    /// again, in the form connections take them), and the open connections,
    /// which the shutdown closes.
    pub connections: Arc<ConnectionContext>,
}

/// The parts of the configuration the HTTP side needs.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Directory of the web client to serve instead of the embedded one.
    pub dist: Option<PathBuf>,
    /// Origins allowed to open WebSockets besides the server's own host.
    pub allowed_origins: Vec<String>,
    /// Each connection's limits and timeouts.
    pub connection: ConnectionSettings,
    /// Whether the main router serves `GET /metrics`.
    pub metrics_route: bool,
    /// Whether the session cookie is always `Secure` (`--secure-cookies`).
    pub secure_cookies: bool,
}

impl From<&Config> for HttpSettings {
    fn from(config: &Config) -> Self {
        Self {
            dist: config.dist.clone(),
            allowed_origins: config.allowed_origins.clone(),
            connection: ConnectionSettings::from(config),
            metrics_route: !config.no_metrics && config.metrics_addr.is_none(),
            secure_cookies: config.secure_cookies,
        }
    }
}

/// The application's routes, apart from any listener, so tests and `run`
/// build the same thing.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    if state.settings.metrics_route {
        router = router.route("/metrics", get(api::metrics));
    }
    let document = openapi::Document::new(state.settings.metrics_route);
    router
        .route(
            "/api/openapi.json",
            get(openapi::serve).layer(Extension(document)),
        )
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(api::healthz))
        .nest("/api", api::routes())
        .fallback(frontend::serve)
        .layer(RequestBodyLimitLayer::new(MAX_HTTP_BODY_BYTES))
        .layer(map_response(too_large_as_json))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The answer to a body over [`MAX_HTTP_BODY_BYTES`], which the limit's
/// layer gives in plain text, as JSON like every other error of the API
/// (an [`ErrorFrame`] with `bad_request`). No handler answers 413 itself.
async fn too_large_as_json(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let body = ErrorFrame {
        code: ErrorCode::BadRequest,
        message: format!("the request body is larger than {MAX_HTTP_BODY_BYTES} bytes"),
        room: None,
        nonce: None,
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// An error answer of the API: `status`, an [`ErrorFrame`] body of `code`
/// and `message`, and a `Retry-After` of `retry_after` seconds when given.
pub fn error_response(
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after: Option<u64>,
) -> Response {
    let body = ErrorFrame {
        code,
        message,
        room: None,
        nonce: None,
    };
    let mut response = (status, Json(body)).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The router of `--metrics-addr`: `GET /metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(api::metrics))
        .layer(RequestBodyLimitLayer::new(MAX_HTTP_BODY_BYTES))
        .with_state(state)
}
