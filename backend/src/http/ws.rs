//! `GET /ws`: checks where the request comes from and whether the server
//! has room for it, then upgrades it to a WebSocket served by
//! [`crate::connection`]. Every refusal happens before the upgrade, as a
//! plain HTTP error with a one-line explanation.

use super::AppState;
use crate::connection::{self, ConnectionContext};
use crate::limits::Refusal;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{HOST, ORIGIN, RETRY_AFTER, UPGRADE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Seconds a client refused because the server is full is told to wait
/// (`Retry-After`) before trying again.
pub const FULL_RETRY_AFTER_SECS: u32 = 10;

/// Size of each connection's read buffer, in bytes. A chat frame (a few
/// hundred bytes) fits in one read; a larger message grows the buffer for
/// as long as it takes. The default (128 KiB) would cost memory per idle
/// connection for nothing.
pub const READ_BUFFER_BYTES: usize = 1024;

/// Bytes of outgoing frames gathered before a write to the socket. The
/// writer flushes after every drain of the queue, so this only merges the
/// frames of a burst into fewer system calls; it never delays a frame.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Most bytes waiting in a connection's write buffer before writes fail;
/// a client that does not read is disconnected well before this.
pub const MAX_WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Upgrades the request to a WebSocket if its origin is allowed and the
/// server and the client's address are under their connection caps.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            // A plain GET (a browser tab, a crawler, a health check).
            tracing::debug!(%peer, %rejection, "not a WebSocket request");
            return (
                StatusCode::UPGRADE_REQUIRED,
                [(UPGRADE, "websocket")],
                "this is the chat's WebSocket endpoint: connect with a WebSocket client \
                 (see docs/PROTOCOL.md)\n",
            )
                .into_response();
        }
    };
    if !origin_allowed(&headers, &state.settings.allowed_origins) {
        tracing::info!(%peer, origin = ?headers.get(ORIGIN), "WebSocket refused: origin not allowed");
        state.metrics.connection_refused("origin");
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here\n",
        )
            .into_response();
    }
    let ticket = match state.admission.admit(peer.ip()) {
        Ok(ticket) => ticket,
        Err(Refusal::ServerFull) => {
            tracing::warn!(%peer, "WebSocket refused: the server is full");
            state.metrics.connection_refused("server_full");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(RETRY_AFTER, FULL_RETRY_AFTER_SECS.to_string())],
                "the chat server is full; try again later\n",
            )
                .into_response();
        }
        Err(Refusal::TooManyFromAddress) => {
            tracing::info!(%peer, "WebSocket refused: too many connections from this address");
            state.metrics.connection_refused("too_many_from_address");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "too many connections from your address; close some first\n",
            )
                .into_response();
        }
    };
    let context = ConnectionContext {
        hub: state.hub,
        metrics: state.metrics,
        settings: state.settings.connection,
        shutdown: state.shutdown,
    };
    let max_message = state.settings.max_message_bytes;
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_failed_upgrade(
            move |err| tracing::debug!(%peer, error = %err, "WebSocket upgrade failed"),
        )
        .on_upgrade(move |socket| {
            // A failed upgrade drops this closure, and the ticket with it.
            let serve = connection::serve(socket, peer, ticket, context);
            state.websockets.track_future(serve)
        })
}

/// Cross-site WebSocket hijacking protection. Browsers always send `Origin`
/// on WebSocket requests; it must name this server's own host (the `Host`
/// the browser connected to) or an allowed origin, exactly. Requests without
/// `Origin` come from non-browser clients, which no web page can drive, and
/// are allowed.
pub fn origin_allowed(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed_origins.iter().any(|allowed| allowed == origin) {
        return true;
    }
    let Some(host) = headers.get(HOST).and_then(|host| host.to_str().ok()) else {
        return false;
    };
    match origin.split_once("://") {
        Some(("http" | "https", authority)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn same_host_and_missing_origin_are_allowed() {
        assert!(origin_allowed(
            &headers(Some("http://localhost:8080"), "localhost:8080"),
            &[]
        ));
        assert!(origin_allowed(
            &headers(Some("https://chat.example"), "chat.example"),
            &[]
        ));
        assert!(origin_allowed(&headers(None, "localhost:8080"), &[]));
    }

    #[test]
    fn other_origins_are_refused_unless_listed_exactly() {
        let evil = headers(Some("http://evil.example"), "localhost:8080");
        assert!(!origin_allowed(&evil, &[]));
        assert!(origin_allowed(&evil, &["http://evil.example".to_owned()]));
        assert!(!origin_allowed(
            &evil,
            &["http://evil.example:80".to_owned()]
        ));
        let lookalike = headers(Some("http://localhost:8080.evil.example"), "localhost:8080");
        assert!(!origin_allowed(&lookalike, &[]));
        assert!(!origin_allowed(
            &headers(Some("null"), "localhost:8080"),
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("file://localhost:8080"), "localhost:8080"),
            &[]
        ));
    }
}
