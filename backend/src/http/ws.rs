//! `GET /ws`: checks where the request comes from, who sends it (a
//! session cookie or `Authorization: Bearer`, as every signed-in route:
//! none is 401) and whether the server has room for it, then upgrades it
//! to a WebSocket served by [`crate::connection`] as that account. Every
//! refusal happens before the upgrade, as a plain HTTP error with a
//! one-line explanation (the accounts API's JSON error for a 401).

use super::AppState;
use crate::accounts::{AccountsError, Identity};
use crate::connection::{self, ConnectionContext};
use crate::limits::{AdmissionTicket, Refusal};
use crate::websocket::{NotWebSocket, UpgradeRequest};
use axum::extract::{ConnectInfo, State};
use axum::http::header::{HOST, ORIGIN, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::{self, Either, FutureExt};
use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

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
    // Before the caps: a caller who may not connect takes no place.
    let identity = match state.accounts.authenticate(&headers).await {
        Ok(Some(identity)) => identity,
        Ok(None) => {
            tracing::debug!(%peer, "WebSocket refused: not signed in");
            state.metrics.connection_refused("unauthenticated");
            return AccountsError::Unauthenticated.into_response();
        }
        Err(err) => {
            tracing::warn!(%peer, error = %err, "WebSocket refused: cannot check the credential");
            state.metrics.connection_refused("unavailable");
            return err.into_response();
        }
    };
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
    state.websockets.spawn(connection_task(
        stream,
        peer,
        ticket,
        Box::new(identity),
        context,
    ));
    response
}

/// The task of one WebSocket: waits for the upgraded stream, then serves
/// it as `identity`. A failed upgrade ends the task, and the ticket with
/// it. The identity is boxed: it waits inside the task's future (see below).
///
/// `then`, not an `async` block: what the block captured would stay in the
/// task for as long as the connection lives, next to the connection's own
/// copy. Every idle connection carries this future (see the test of its
/// size below).
fn connection_task(
    upgraded: impl Future<Output = Result<(TcpStream, Bytes), impl Display>> + Send,
    peer: SocketAddr,
    ticket: AdmissionTicket,
    identity: Box<Identity>,
    context: Arc<ConnectionContext>,
) -> impl Future<Output = ()> + Send {
    upgraded.then(move |upgraded| match upgraded {
        Ok((stream, read_ahead)) => Either::Left(connection::serve(
            stream, read_ahead, peer, ticket, *identity, context,
        )),
        Err(err) => {
            tracing::debug!(%peer, error = %err, "WebSocket upgrade failed");
            Either::Right(future::ready(()))
        }
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
    use crate::config::Config;
    use crate::connection::ConnectionSettings;
    use crate::hub::Hub;
    use crate::limits::Admission;
    use crate::metrics::Metrics;
    use crate::store::memory::MemoryStore;
    use axum::http::HeaderValue;
    use clap::Parser;
    use std::convert::Infallible;
    use tokio::net::TcpListener;
    use tokio_util::task::TaskTracker;

    /// Bytes tokio adds to a task's future in the task's cell (tokio 1.54 on
    /// x86_64, `runtime/task/core.rs`): the header (state, queue link,
    /// vtable, owner: 32), the scheduler and the task's id (16), the tag of
    /// the stage that holds the future (8) and the trailer (list links, the
    /// join handle's waker, a hook: 48). Checked with a counting allocator:
    /// a 536-byte future gets a 640-byte cell, a 544-byte one 768 bytes.
    const TOKIO_TASK_BYTES: usize = 104;

    /// tokio aligns a task's cell to the cache line (`repr(align(128))` on
    /// x86_64), so the cell grows in steps of 128 bytes: a byte over a step
    /// costs every connection 128 more.
    const TOKIO_CELL_STEP: usize = 128;

    /// The cell an idle connection's task is to fit: 640 bytes, 5 steps.
    /// At 768 bytes, an idle connection took 2.12 KiB in `chat-bench run
    /// idle`; 2 KiB is the goal (`docs/BENCHMARKS.md`).
    const CONNECTION_CELL_BYTES: usize = 640;

    /// Every idle connection carries its task's cell: the future that
    /// `upgrade` spawns (the connection's state, its timer, the combinators
    /// around it and the tracker's token) plus tokio's part. Growing the
    /// connection's state past a step shows in `chat-bench run idle`.
    #[cfg(target_arch = "x86_64")]
    #[tokio::test]
    async fn an_idle_connections_task_fits_its_cell() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let peer = listener.local_addr().expect("an address");
        let (socket, accepted) = tokio::join!(TcpStream::connect(peer), listener.accept());
        let (socket, _server_side) = (socket.expect("connect"), accepted.expect("accept"));
        let config = Config::try_parse_from(["chat-server"]).expect("no flags needed");
        let metrics = Metrics::new();
        let hub = Hub::new(Arc::new(MemoryStore::new()), None, metrics.clone());
        let settings = ConnectionSettings::from(&config);
        let store = Arc::new(MemoryStore::new());
        let audit = crate::audit::Audit::new(store.clone());
        let rooms = crate::rooms::Rooms::new(store.clone(), store, audit);
        let context = Arc::new(ConnectionContext::new(hub, rooms, metrics, settings));
        let ticket = Admission::new(1, 1).admit(peer.ip()).expect("room for one");
        let upgraded = future::ready(Ok::<_, Infallible>((socket, Bytes::new())));
        let identity = Box::new(Identity {
            user_id: 1,
            username: common::Username::parse("ann").expect("valid"),
            display_name: common::DisplayName::parse("Ann").expect("valid"),
            role: common::Role::Member,
            kind: common::AccountKind::Person,
            credential: crate::accounts::Credential::Session(1),
        });
        let task = TaskTracker::new()
            .track_future(connection_task(upgraded, peer, ticket, identity, context));

        let future = std::mem::size_of_val(&task);
        let cell = (TOKIO_TASK_BYTES + future).next_multiple_of(TOKIO_CELL_STEP);
        assert!(
            cell <= CONNECTION_CELL_BYTES,
            "the connection's task is a {future}-byte future in a {cell}-byte cell; \
             at most {} bytes fit {CONNECTION_CELL_BYTES}",
            CONNECTION_CELL_BYTES - TOKIO_TASK_BYTES
        );
        println!("the connection's task: a {future}-byte future in a {cell}-byte cell");
    }

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
