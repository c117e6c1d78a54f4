//! The opening handshake (RFC 6455 section 4.2): an axum extractor that
//! checks the upgrade request, the `101 Switching Protocols` answer, and
//! the TCP stream once hyper hands it over.

use axum::extract::FromRequestParts;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;

/// The WebSocket version this server speaks (RFC 6455).
pub const WEBSOCKET_VERSION: &str = "13";

/// Appended to the client's key to make the accept value (RFC 6455 section 1.3).
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why a request is not a WebSocket upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotWebSocket {
    /// Not a GET.
    #[error("a WebSocket upgrade must be a GET")]
    Method,
    /// No `Connection: upgrade` and `Upgrade: websocket`.
    #[error("no `Connection: upgrade` and `Upgrade: websocket` headers")]
    NoUpgrade,
    /// A `Sec-WebSocket-Version` other than 13.
    #[error("unsupported WebSocket version (this server speaks 13)")]
    Version,
    /// No `Sec-WebSocket-Key`.
    #[error("no Sec-WebSocket-Key header")]
    Key,
    /// The connection cannot be upgraded (not HTTP/1.1 served with upgrades).
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl IntoResponse for NotWebSocket {
    /// `426 Upgrade Required`, naming the protocol and version to use.
    fn into_response(self) -> Response {
        (
            StatusCode::UPGRADE_REQUIRED,
            [
                (UPGRADE, "websocket"),
                (SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION),
            ],
            "this is the chat's WebSocket endpoint: connect with a WebSocket client \
             (see docs/PROTOCOL.md)\n",
        )
            .into_response()
    }
}

/// Why an accepted upgrade did not yield a connection.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// hyper could not complete the upgrade (the client went away).
    #[error("the upgrade did not complete")]
    Hyper(#[from] hyper::Error),
    /// The upgraded connection is not the TCP stream the server serves.
    #[error("the upgraded connection is not a TCP stream")]
    Transport,
}

/// A valid upgrade request, ready to be accepted.
#[derive(Debug)]
pub struct UpgradeRequest {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for UpgradeRequest {
    type Rejection = NotWebSocket;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(NotWebSocket::Method);
        }
        let headers = &parts.headers;
        if !has_token(headers, CONNECTION, "upgrade") || !has_token(headers, UPGRADE, "websocket") {
            return Err(NotWebSocket::NoUpgrade);
        }
        if headers
            .get(SEC_WEBSOCKET_VERSION)
            .is_none_or(|version| version != WEBSOCKET_VERSION)
        {
            return Err(NotWebSocket::Version);
        }
        let key = headers.get(SEC_WEBSOCKET_KEY).ok_or(NotWebSocket::Key)?;
        let accept = accept_key(key.as_bytes());
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(NotWebSocket::NotUpgradable)?;
        Ok(Self { accept, on_upgrade })
    }
}

impl UpgradeRequest {
    /// The `101 Switching Protocols` response to send, and the future of the
    /// TCP stream (with any bytes hyper read past the request), which
    /// resolves once the response is sent.
    pub fn accept(
        self,
    ) -> (
        Response,
        impl std::future::Future<Output = Result<(TcpStream, Bytes), UpgradeError>> + Send,
    ) {
        let response = (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (CONNECTION, HeaderValue::from_static("upgrade")),
                (UPGRADE, HeaderValue::from_static("websocket")),
                (SEC_WEBSOCKET_ACCEPT, self.accept),
            ],
        )
            .into_response();
        let on_upgrade = self.on_upgrade;
        let stream = async move {
            let upgraded = on_upgrade.await?;
            let parts = upgraded
                .downcast::<TokioIo<TcpStream>>()
                .map_err(|_| UpgradeError::Transport)?;
            Ok((parts.io.into_inner(), parts.read_buf))
        };
        (response, stream)
    }
}

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(ACCEPT_GUID.as_bytes());
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

/// Whether header `name` lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[test]
    fn the_accept_key_is_the_one_of_the_rfc() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    async fn extract(request: Request<()>) -> Result<UpgradeRequest, NotWebSocket> {
        let (mut parts, ()) = request.into_parts();
        UpgradeRequest::from_request_parts(&mut parts, &()).await
    }

    fn upgrade_request() -> axum::http::request::Builder {
        Request::get("/ws")
            .header("connection", "keep-alive, Upgrade")
            .header("upgrade", "WebSocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    }

    #[tokio::test]
    async fn requests_that_are_not_upgrades_are_told_why() {
        let plain = Request::get("/ws").body(()).expect("a valid request");
        assert_eq!(
            extract(plain).await.expect_err("refused"),
            NotWebSocket::NoUpgrade
        );
        let post = upgrade_request()
            .method("POST")
            .body(())
            .expect("a valid request");
        assert_eq!(
            extract(post).await.expect_err("refused"),
            NotWebSocket::Method
        );
        let old = upgrade_request()
            .header("sec-websocket-version", "8")
            .body(())
            .expect("a valid request");
        // Two version headers: the first (13) is read, so replace it.
        let (mut parts, ()) = old.into_parts();
        parts
            .headers
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        assert_eq!(
            UpgradeRequest::from_request_parts(&mut parts, &())
                .await
                .expect_err("refused"),
            NotWebSocket::Version
        );
        // Valid headers, but not a connection hyper can upgrade.
        let detached = upgrade_request().body(()).expect("a valid request");
        assert_eq!(
            extract(detached).await.expect_err("refused"),
            NotWebSocket::NotUpgradable
        );
    }
}
