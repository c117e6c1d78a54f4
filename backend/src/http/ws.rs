//! `GET /ws`: checks where the request comes from and whether the server
//! has room for it, then upgrades it to a WebSocket served by
//! [`crate::connection`]. Every refusal happens before the upgrade, as a
//! plain HTTP error with a one-line explanation.

use super::AppState;
use crate::connection;
use crate::limits::Refusal;
use crate::websocket::{NotWebSocket, UpgradeRequest};
use axum::extract::{ConnectInfo, State};
use axum::http::header::{HOST, ORIGIN, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::{self, Either, FutureExt};
use std::net::SocketAddr;
use std::sync::Arc;

/// Seconds a client refused because the server is full is told to wait
/// (`Retry-After`) before trying again.
pub const FULL_RETRY_AFTER_SECS: u32 = 10;

/// Upgrades the request to a WebSocket if its origin is allowed and the
/// server and the client's address are under their connection caps.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<UpgradeRequest, NotWebSocket>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            // A plain GET (a browser tab, a crawler, a health check).
            tracing::debug!(%peer, %rejection, "not a WebSocket request");
            return rejection.into_response();
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
    let context = Arc::clone(&state.connections);
    let (response, stream) = upgrade.accept();
    // A failed upgrade ends this task, and the ticket with it. `then`, not
    // an `async` block: what the block captured would stay in the task for
    // as long as the connection lives, next to the connection's own copy.
    state
        .websockets
        .spawn(stream.then(move |upgraded| match upgraded {
            Ok((stream, read_ahead)) => {
                Either::Left(connection::serve(stream, read_ahead, peer, ticket, context))
            }
            Err(err) => {
                tracing::debug!(%peer, error = %err, "WebSocket upgrade failed");
                Either::Right(future::ready(()))
            }
        }));
    response
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
