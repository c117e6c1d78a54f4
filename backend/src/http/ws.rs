//! `GET /ws`: checks where the request comes from, then upgrades it to a
//! WebSocket served by [`crate::connection`].

use super::AppState;
use crate::connection::{self, ConnectionSettings};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Size of each connection's read buffer, in bytes. Chat frames are small;
/// the default (128 KiB) would cost memory per idle connection for nothing.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Bytes of outgoing frames gathered before a write to the socket. The
/// writer flushes after every drain of the queue, so this only merges the
/// frames of a burst into fewer system calls; it never delays a frame.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Most bytes waiting in a connection's write buffer before writes fail;
/// a client that does not read is disconnected well before this.
pub const MAX_WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Upgrades the request to a WebSocket if its origin is allowed.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.settings.allowed_origins) {
        tracing::info!(%peer, origin = ?headers.get(ORIGIN), "WebSocket refused: origin not allowed");
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here\n",
        )
            .into_response();
    }
    let settings = ConnectionSettings {
        client_queue_bytes: state.settings.client_queue_bytes,
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
            let serve = connection::serve(socket, peer, state.hub, settings, state.shutdown);
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
