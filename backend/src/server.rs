//! Accepting connections and shutting down.
//!
//! [`run`] takes a bound listener and a shutdown future, so the binary and
//! the tests start the very same server (tests bind port 0).
//!
//! Connections are served with hyper directly rather than `axum::serve`,
//! because `axum::serve` has no header-read timeout: a client that opens a
//! connection and sends its headers byte by byte would hold it forever.

use crate::accounts::{self, AccountSettings, Accounts, AccountsError};
use crate::audit::Audit;
use crate::bot_tokens::{BotTokens, BotTokensError};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::connection::{account_events, room_events, ConnectionContext};
use crate::http::{self, AppState, HttpSettings};
use crate::hub::Hub;
use crate::limits::Admission;
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use crate::store::memory::MEMORY_DB;
use crate::store::{Database, MessageStore, StoreError};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Longest shutdown waits for connections to close and rooms to commit
/// their messages before it closes the database anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (for example when out of file
/// descriptors), so the loop does not spin while the condition lasts.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database could not be opened or closed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--cluster` without a PostgreSQL `--db`.
    #[error(
        "--cluster needs --db postgres://… (the same database for every instance: history, ids \
         and nonces are kept there)"
    )]
    ClusterNeedsPostgres,
    /// The `--bot-tokens` file is invalid, or its bots could not be stored.
    #[error(transparent)]
    BotTokens(#[from] BotTokensError),
    /// The first-run setup link could not be made.
    #[error("cannot prepare the first-run setup: {0}")]
    Setup(#[source] AccountsError),
    /// The listener has no local address.
    #[error("cannot read the listening address")]
    Listener(#[source] std::io::Error),
    /// The metrics address (`--metrics-addr`) cannot be listened on.
    #[error("cannot listen on {addr} for metrics")]
    MetricsListener {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Runs the chat server on `listener` until `shutdown` resolves, then shuts
/// down gracefully: stops accepting, closes every WebSocket with 1001,
/// waits (up to [`SHUTDOWN_GRACE`]) for rooms to commit what they accepted,
/// leaves the cluster (in cluster mode), and closes the database.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    run_observed(listener, config, shutdown, |_| {}).await
}

/// [`run`], handing `observe` the server's [`Accounts`] once they are
/// ready (before the first connection is served): in-process tests
/// subscribe to their events and use them as the command line does.
pub async fn run_observed(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
    observe: impl FnOnce(&Accounts),
) -> Result<(), ServerError> {
    let addr = listener.local_addr().map_err(ServerError::Listener)?;
    let metrics_listener = match config.metrics_addr {
        Some(metrics_addr) => Some(TcpListener::bind(metrics_addr).await.map_err(|source| {
            ServerError::MetricsListener {
                addr: metrics_addr,
                source,
            }
        })?),
        None => None,
    };
    let stop = CancellationToken::new();
    if config.cluster.is_some() && !config.db.is_postgres() {
        return Err(ServerError::ClusterNeedsPostgres);
    }
    // Read and checked before the database is opened: an invalid line
    // stops the start before anything is changed.
    let bot_tokens = config
        .bot_tokens
        .as_deref()
        .map(BotTokens::read)
        .transpose()?;
    let stores = config.db.open(config.durability).await?;
    if let Some(bot_tokens) = &bot_tokens {
        let ensured = bot_tokens
            .ensure(stores.accounts.as_ref(), accounts::now_ms())
            .await?;
        tracing::info!(
            bots = bot_tokens.len(),
            accounts_created = ensured.accounts_created,
            accounts_changed = ensured.accounts_changed,
            tokens_created = ensured.tokens_created,
            "bot tokens ready"
        );
    }
    let (store, cluster): (Arc<dyn MessageStore>, _) = match &config.cluster {
        Some(url) => {
            let cluster = Cluster::connect(url, stores.messages, stop.clone()).await?;
            tracing::info!("cluster mode: history in the database, live events through the broker");
            (Arc::new(cluster.store.clone()), Some(cluster))
        }
        None => {
            if config.db == Database::Memory {
                tracing::warn!(
                    "history is kept in memory only (--db {MEMORY_DB}): it is lost on exit"
                );
            }
            (stores.messages, None)
        }
    };
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let audit = Audit::new(Arc::clone(&stores.rooms));
    let accounts = Accounts::new(
        Arc::clone(&stores.accounts),
        audit.clone(),
        AccountSettings::new(config.signup, &public_url),
    );
    let rooms = Rooms::new(stores.rooms, stores.accounts, audit);
    announce_setup(&accounts).await?;
    observe(&accounts);
    let metrics = Metrics::new();
    let presence = cluster.as_ref().map(|cluster| cluster.presence.clone());
    let hub = Hub::new(Arc::clone(&store), cluster.clone(), metrics.clone());
    let websockets = TaskTracker::new();
    let settings = Arc::new(HttpSettings::from(&config));
    let connections = Arc::new(ConnectionContext::new(
        hub.clone(),
        rooms.clone(),
        metrics.clone(),
        settings.connection,
    ));
    tokio::spawn(account_events::follow(
        accounts.clone(),
        Arc::clone(&connections),
        cluster.clone(),
        stop.clone(),
    ));
    tokio::spawn(room_events::follow(
        rooms.clone(),
        Arc::clone(&connections),
        cluster,
        stop.clone(),
    ));
    let state = AppState {
        hub: hub.clone(),
        store: Arc::clone(&store),
        accounts,
        rooms,
        settings,
        shutdown: stop.clone(),
        websockets: websockets.clone(),
        admission: Admission::new(config.max_connections, config.max_connections_per_ip),
        metrics,
        connections: Arc::clone(&connections),
    };
    let app = http::router(state.clone());
    tracing::info!(
        history = %history_source(&config),
        web_client = %http::frontend::source(config.dist.as_deref()),
        "chat server listening on http://{addr}"
    );

    let http_connections = TaskTracker::new();
    let accept = Accept {
        stop: &stop,
        connections: &http_connections,
        header_read_timeout: config.header_read_timeout,
    };
    match metrics_listener {
        Some(metrics_listener) => {
            if let Ok(metrics_addr) = metrics_listener.local_addr() {
                tracing::info!("metrics on http://{metrics_addr}/metrics");
            }
            let metrics_app = http::metrics_router(state);
            let main = async {
                accept.until(listener, app, shutdown).await;
                stop.cancel();
            };
            let metrics = accept.until(metrics_listener, metrics_app, stop.cancelled());
            tokio::join!(main, metrics);
        }
        None => accept.until(listener, app, shutdown).await,
    }

    tracing::info!("shutting down");
    stop.cancel();
    connections.shut_down();
    http_connections.close();
    websockets.close();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        http_connections.wait().await;
        websockets.wait().await;
        hub.wait_for_rooms().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "connections still open after {SHUTDOWN_GRACE:?}; closing the database anyway"
        );
    }
    if let Some(presence) = presence {
        // Members still listed (a release that did not go out) disappear
        // now rather than when this instance's time runs out.
        if let Err(err) = presence.leave().await {
            tracing::warn!(error = %err, "cannot remove this instance's members from the cluster; they disappear when its time runs out");
        }
    }
    store.close().await?;
    tracing::info!("stopped");
    Ok(())
}

/// On a start without any account: makes a new setup link (revoking older
/// ones) and prints it on standard output, where the person who started
/// the server sees it. Never through `tracing`: the link is a secret, and
/// logs never carry secrets.
async fn announce_setup(accounts: &Accounts) -> Result<(), ServerError> {
    if let Some(link) = accounts
        .setup_link_if_needed()
        .await
        .map_err(ServerError::Setup)?
    {
        tracing::info!("no account yet: the setup link is printed on standard output");
        println!(
            "First start: open {link} to create the administrator account (the link works once)."
        );
    }
    Ok(())
}

/// Where history is kept, for the start-up log line (never the broker URL,
/// which may hold a password).
fn history_source(config: &Config) -> String {
    match &config.cluster {
        Some(_) => format!("{} (cluster)", config.db),
        None => config.db.to_string(),
    }
}

/// What the accept loops share.
struct Accept<'a> {
    stop: &'a CancellationToken,
    connections: &'a TaskTracker,
    header_read_timeout: Duration,
}

impl Accept<'_> {
    /// Accepts connections on `listener` and serves `app` on them until
    /// `shutdown` resolves.
    async fn until(&self, listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
        let mut shutdown = pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let serve = serve_connection(
                        stream,
                        peer,
                        app.clone(),
                        self.stop.clone(),
                        self.header_read_timeout,
                    );
                    self.connections.spawn(serve);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            }
        }
    }
}

/// Serves HTTP on one TCP connection; a WebSocket upgrade hands the socket
/// over to its own task.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    stop: CancellationToken,
    header_read_timeout: Duration,
) {
    // Chat frames are small and latency matters more than packet count.
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %err, "cannot set TCP_NODELAY");
    }
    let service = app.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    let mut connection = pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop.cancelled() => {
            // Finish the request in progress, then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "HTTP connection ended with an error");
    }
}
