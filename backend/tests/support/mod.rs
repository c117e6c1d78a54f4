//! Test support: the real server on a real TCP port (port 0) with a
//! temporary database, and a real WebSocket client (tokio-tungstenite).
//!
//! Every WebSocket client is signed in (protocol version 2): a server the
//! tests start has a reader, an administrator bot, whose API token makes
//! the accounts the clients connect as ([`Endpoint::connect_as`], see
//! [`accounts::token_for`]): bots, named as the tests name people.
//!
//! The database of [`TempDb::new`] is a SQLite file in a temporary
//! directory, or, when [`TEST_DB_ENV`] is `postgres`, a fresh database on
//! the tests' PostgreSQL server (`postgres`): `cargo xtask test` runs the
//! server's tests once on each, so every feature is tested on both.

#![allow(dead_code)] // Each test file uses its own part of this module.

pub mod accounts;
pub mod broker;
pub mod people;
pub mod postgres;
pub mod process;
pub mod resend;
pub mod rooms;
pub mod stores;

use chat_server::Config;
use clap::Parser;
use common::{ChatMessage, ClientFrame, ErrorFrame, MessageId, Person, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest a test waits for a frame it expects before failing.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a test watches for a frame that must not come.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

/// The environment variable that picks the backend of [`TempDb::new`]:
/// `postgres`, or anything else (or nothing) for SQLite.
pub const TEST_DB_ENV: &str = "CHAT_TEST_DB";

/// A temporary directory, and the database of one test: a SQLite file in
/// it, or a PostgreSQL database (see [`TEST_DB_ENV`]).
pub struct TempDb {
    dir: tempfile::TempDir,
    postgres: Option<postgres::PgDatabase>,
}

impl TempDb {
    /// The backend the test run asks for.
    pub fn new() -> Self {
        let wants_postgres = std::env::var(TEST_DB_ENV).is_ok_and(|value| value == "postgres");
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory"),
            postgres: wants_postgres.then(fresh_database_blocking),
        }
    }

    /// Always a fresh PostgreSQL database, whatever [`TEST_DB_ENV`] says:
    /// for a feature's main flow to run on PostgreSQL in every run.
    pub fn postgres() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory"),
            postgres: Some(fresh_database_blocking()),
        }
    }

    /// Always a SQLite file: for tests of the file itself (its lock, its
    /// permissions), which have no PostgreSQL counterpart.
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory"),
            postgres: None,
        }
    }

    /// The `--db` value: the SQLite file, or the PostgreSQL URL.
    pub fn path(&self) -> PathBuf {
        match &self.postgres {
            Some(database) => PathBuf::from(database.url()),
            None => self.dir.path().join("chat.db"),
        }
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A fresh PostgreSQL database, made from synchronous code (a `TempDb` is
/// made inside and outside of Tokio runtimes): on a thread of its own, with
/// a runtime of its own.
pub fn fresh_database_blocking() -> postgres::PgDatabase {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(postgres::fresh_database())
    })
    .join()
    .expect("the database is made")
}

/// Flags that lift the per-connection rate limit (tests of other features
/// post faster than any person).
pub const UNLIMITED_RATE: [&str; 4] = [
    "--rate-limit-burst",
    "1000000",
    "--rate-limit-per-second",
    "1000000",
];

/// Where a server listens, and the URLs and clients that go there.
pub struct Endpoint {
    pub addr: SocketAddr,
}

impl Endpoint {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client signed in as `name` (its account is made the first time).
    pub async fn connect_as(&self, name: &str) -> Client {
        let token = accounts::token_for(self.addr, name).await;
        Client::connect_with_token(&self.ws_url(), &token).await
    }

    /// The `Authorization` header value of `name` (its account is made the
    /// first time), for tests that open a WebSocket by hand.
    pub async fn bearer(&self, name: &str) -> String {
        format!("Bearer {}", accounts::token_for(self.addr, name).await)
    }

    /// A client signed in as an account of its own, for tests that do not
    /// care who it is.
    pub async fn connect(&self) -> Client {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.connect_as(&format!("User {n}")).await
    }
}

/// The chat server, running in this process on 127.0.0.1 and a free port
/// (its [`Endpoint`]).
pub struct TestServer {
    endpoint: Endpoint,
    /// The server's accounts (their events, and the use cases as the
    /// command line has them), once it started.
    pub accounts: Option<chat_server::accounts::Accounts>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), chat_server::server::ServerError>>,
}

impl TestServer {
    /// Starts a server on `db` with default settings.
    pub async fn start(db: &Path) -> Self {
        Self::start_with(db, &[]).await
    }

    /// Starts a server on `db` with extra command-line flags, with a
    /// reader (a bot's API token that [`get_json`] sends) in its database.
    /// Set `TEST_LOG` (a `RUST_LOG`-style filter) to see the server's logs.
    pub async fn start_with(db: &Path, flags: &[&str]) -> Self {
        Self::start_as(db, flags, true).await
    }

    /// Starts a server on `db` as it is: no account is added, so a new
    /// database is a first start (the tests of accounts).
    pub async fn start_bare(db: &Path, flags: &[&str]) -> Self {
        Self::start_as(db, flags, false).await
    }

    async fn start_as(db: &Path, flags: &[&str], reader: bool) -> Self {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let db = db.to_str().expect("UTF-8 path");
        // A directory that does not exist, beside a SQLite file (a
        // PostgreSQL URL has no directory).
        let missing_dist = if db.contains("://") {
            std::env::temp_dir().join("chat-test-no-dist")
        } else {
            Path::new(db).with_file_name("no-dist")
        };
        let missing_dist = missing_dist.to_str().expect("UTF-8 path");
        let mut args = vec!["chat-server"];
        if !flags.contains(&"--db") && !flags.contains(&"--cluster") {
            args.extend(["--db", db]);
        }
        if !flags.contains(&"--dist") {
            // Tests serve no web client unless they build one themselves.
            args.extend(["--dist", missing_dist]);
        }
        let has = |prefix: &str| flags.iter().any(|flag| flag.starts_with(prefix));
        if !has("--rate-limit") {
            // Tests of other features post faster than a person; the rate
            // limit has its own tests, which set it.
            args.extend(UNLIMITED_RATE);
        }
        if !has("--max-connections") {
            // Every test client comes from 127.0.0.1.
            args.extend(["--max-connections-per-ip", "100000"]);
        }
        args.extend_from_slice(flags);
        let config = Config::try_parse_from(args).expect("valid flags");
        let in_memory = config.db == chat_server::store::Database::Memory;
        if reader && !in_memory {
            if let Some(token) = accounts::provision_reader(&config.db).await {
                accounts::register(addr, token);
            }
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (ready, accounts) = oneshot::channel();
        let observe = move |accounts: &chat_server::accounts::Accounts| {
            let _ = ready.send(accounts.clone());
        };
        let task = tokio::spawn(chat_server::server::run_observed(
            listener, config, shutdown, observe,
        ));
        // Given when the database is open; never if the server could not
        // start (the task's result then says why).
        let accounts = tokio::time::timeout(Duration::from_secs(30), accounts)
            .await
            .ok()
            .and_then(Result::ok);
        if let (true, true, Some(accounts)) = (reader, in_memory, &accounts) {
            // Nothing can be written to a memory database before it opens.
            if let Some(token) = accounts::provision_reader_in(accounts.store()).await {
                accounts::register(addr, token);
            }
        }
        Self {
            endpoint: Endpoint { addr },
            accounts,
            stop: Some(stop),
            task,
        }
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic");
        result.expect("the server stops cleanly");
    }

    /// Ann and Bob, each on a connection of their own, in `lobby`; Ann has
    /// seen Bob arrive, so neither has a frame waiting.
    pub async fn ann_and_bob_in_lobby(&self) -> (Client, Client) {
        let mut ann = self.connect_as("Ann").await;
        let mut bob = self.connect_as("Bob").await;
        ann.join("lobby").await;
        bob.join("lobby").await;
        assert_eq!(ann.expect_presence().await, ["Ann", "Bob"]);
        (ann, bob)
    }
}

impl std::ops::Deref for TestServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client speaking the chat protocol. It keeps each room's
/// member list from `joined` and the `presence` deltas after it.
pub struct Client {
    pub ws: Socket,
    members: HashMap<String, Vec<Person>>,
}

impl Client {
    /// Connects to `url` with `token` as the bearer.
    pub async fn connect_with_token(url: &str, token: &str) -> Self {
        let bearer = format!("Bearer {token}");
        match Self::try_connect(url, &[("authorization", &bearer)]).await {
            Ok(client) => client,
            Err((status, body)) => panic!("WebSocket handshake refused: {status} {body}"),
        }
    }

    /// A client over an already upgraded socket.
    pub fn from_socket(ws: Socket) -> Self {
        Self {
            ws,
            members: HashMap::new(),
        }
    }

    /// Applies a frame to the member lists it changes.
    fn track(&mut self, frame: &ServerFrame) {
        match frame {
            ServerFrame::Joined { room, members, .. } => {
                self.members.insert(room.to_string(), members.clone());
            }
            ServerFrame::Presence {
                room,
                joined,
                left,
                updated,
            } => {
                let list = self.members.entry(room.to_string()).or_default();
                list.retain(|person| !left.contains(&person.user_id));
                for person in joined {
                    if !list.iter().any(|present| present.user_id == person.user_id) {
                        list.push(person.clone());
                    }
                }
                for person in updated {
                    for present in list.iter_mut() {
                        if present.user_id == person.user_id {
                            *present = person.clone();
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The members of `room` as this client knows them, by display name.
    pub fn members_of(&self, room: &str) -> Vec<String> {
        self.members
            .get(room)
            .map(|people| names(people))
            .unwrap_or_default()
    }

    /// Opens a WebSocket with extra request headers; a refused handshake
    /// gives its HTTP status and body.
    pub async fn try_connect(url: &str, headers: &[(&str, &str)]) -> Result<Self, (u16, String)> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let mut request = url.into_client_request().expect("a WebSocket URL");
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Self::from_socket(ws)),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_ref()
                    .map(|body| String::from_utf8_lossy(body).into_owned())
                    .unwrap_or_default();
                Err((response.status().as_u16(), body))
            }
            Err(other) => panic!("unexpected handshake failure: {other}"),
        }
    }

    /// Connects with `token`, or says that it could not (the server may be
    /// restarting).
    pub async fn try_connect_quietly(url: &str, token: &str) -> Result<Self, ()> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().map_err(|_| ())?;
        let bearer = format!("Bearer {token}").parse().map_err(|_| ())?;
        request.headers_mut().insert("authorization", bearer);
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Self::from_socket(ws)),
            Err(_) => Err(()),
        }
    }

    /// Sends a text frame; fails if the connection is gone.
    pub async fn try_send_text(&mut self, text: &str) -> Result<(), ()> {
        self.ws.send(Message::text(text)).await.map_err(|_| ())
    }

    /// The next frame within `wait`; `None` on timeout, close or any
    /// connection failure.
    pub async fn try_recv_quietly(&mut self, wait: Duration) -> Option<ServerFrame> {
        match self.receive_within(wait).await {
            Received::Frame(frame) => Some(frame),
            Received::Nothing | Received::Closed => None,
        }
    }

    /// The next frame within `wait`, nothing, or the end of the connection
    /// (a server that died, or closed it).
    pub async fn receive_within(&mut self, wait: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame = ServerFrame::decode(&text).expect("the server sends valid frames");
                    self.track(&frame);
                    return Received::Frame(frame);
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Err(_) => return Received::Nothing,
                Ok(_) => return Received::Closed,
            }
        }
    }

    /// Reads (and drops) frames until the server's close frame; returns its
    /// code and reason. Fails the test if none comes within `wait`.
    pub async fn expect_close_within(&mut self, wait: Duration) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the server closes the connection in time");
            match next {
                Some(Ok(Message::Close(Some(close)))) => {
                    return (u16::from(close.code), close.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => panic!("a close frame without a code"),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Like [`Client::expect_close_within`], within [`FRAME_TIMEOUT`].
    pub async fn expect_close(&mut self) -> (u16, String) {
        self.expect_close_within(FRAME_TIMEOUT).await
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(&frame.encode()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("send a frame");
    }

    /// Sends a `send` frame.
    pub async fn say(&mut self, room: &str, text: &str, nonce: Option<&str>) {
        self.send(&ClientFrame::Send {
            room: room_name(room),
            text: common::MessageText::parse(text).expect("valid text"),
            nonce: nonce.map(|n| common::Nonce::parse(n).expect("valid nonce")),
        })
        .await;
    }

    /// Waits until the server has handled every frame sent before: frames
    /// of one connection are handled in order, so the answer to a bad frame
    /// comes after the effects of the earlier ones reached their rooms.
    pub async fn round_trip(&mut self) {
        self.send_text("{}").await;
        loop {
            match self.recv().await {
                ServerFrame::Error(error) if error.code == common::ErrorCode::BadRequest => return,
                ServerFrame::Presence { .. }
                | ServerFrame::Typing { .. }
                | ServerFrame::Message(_) => {}
                other => panic!("expected the answer to a bad frame, got {other:?}"),
            }
        }
    }

    /// The next frame, whatever it is. Fails the test after [`FRAME_TIMEOUT`].
    pub async fn recv(&mut self) -> ServerFrame {
        self.try_recv(FRAME_TIMEOUT)
            .await
            .expect("a frame arrives in time")
    }

    /// The next frame within `wait`, or `None`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    let frame = ServerFrame::decode(&text).expect("the server sends valid frames");
                    self.track(&frame);
                    return Some(frame);
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Asserts that no frame arrives for [`QUIET_PERIOD`].
    pub async fn expect_silence(&mut self) {
        if let Some(frame) = self.try_recv(QUIET_PERIOD).await {
            panic!("expected no frame, got {frame:?}");
        }
    }

    /// Joins `room` and returns the `joined` frame's parts.
    pub async fn join(&mut self, room: &str) -> Joined {
        self.join_since(room, None).await
    }

    pub async fn join_since(&mut self, room: &str, since: Option<MessageId>) -> Joined {
        self.send(&ClientFrame::Join {
            room: room_name(room),
            since,
        })
        .await;
        self.expect_joined().await
    }

    pub async fn expect_joined(&mut self) -> Joined {
        match self.recv().await {
            ServerFrame::Joined {
                room,
                you,
                members,
                history,
                has_older,
            } => Joined {
                room: room.to_string(),
                name: you.display_name.to_string(),
                user_id: you.user_id,
                members: names(&members),
                history,
                has_older,
            },
            other => panic!("expected joined, got {other:?}"),
        }
    }

    pub async fn expect_error(&mut self) -> ErrorFrame {
        match self.recv().await {
            ServerFrame::Error(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Waits for the next `presence` frame and returns the room's member
    /// list after it.
    pub async fn expect_presence(&mut self) -> Vec<String> {
        match self.recv().await {
            ServerFrame::Presence { room, .. } => self.members_of(room.as_str()),
            other => panic!("expected presence, got {other:?}"),
        }
    }

    /// The next chat message, skipping presence and typing frames.
    pub async fn next_message(&mut self) -> ChatMessage {
        loop {
            match self.recv().await {
                ServerFrame::Message(message) => return message,
                ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }
}

/// Reads the answers to `count` sends of `client`: the texts of the
/// messages stored, and the nonces of the sends refused as over the rate
/// limit (each refusal must say so), in the order they came.
pub async fn stored_and_rate_limited(
    client: &mut Client,
    count: usize,
) -> (Vec<String>, Vec<String>) {
    let mut stored = Vec::new();
    let mut refused = Vec::new();
    while stored.len() + refused.len() < count {
        match client.recv().await {
            ServerFrame::Message(message) => stored.push(message.text.to_string()),
            ServerFrame::Error(error) => {
                assert_eq!(error.code, common::ErrorCode::RateLimited);
                assert!(error.message.contains("too fast"), "{}", error.message);
                refused.push(error.nonce.expect("the refused send's nonce").to_string());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    (stored, refused)
}

/// What [`Client::receive_within`] brought.
#[derive(Debug)]
pub enum Received {
    /// A frame from the server.
    Frame(ServerFrame),
    /// Nothing within the wait; the connection is open.
    Nothing,
    /// The connection ended: a close frame, its end, or a failure.
    Closed,
}

/// Ann and Bob (both joined to `room`) each post `each` messages ("ann 0",
/// "bob 0", …) without waiting for each other; returns the messages each
/// of them then received, in order.
pub async fn post_at_once(
    ann: &mut Client,
    bob: &mut Client,
    room: &str,
    each: usize,
) -> (Vec<ChatMessage>, Vec<ChatMessage>) {
    for i in 0..each {
        ann.say(room, &format!("ann {i}"), Some(&format!("a{i}")))
            .await;
        bob.say(room, &format!("bob {i}"), Some(&format!("b{i}")))
            .await;
    }
    let mut seen_by_ann = Vec::new();
    let mut seen_by_bob = Vec::new();
    for _ in 0..2 * each {
        seen_by_ann.push(ann.next_message().await);
        seen_by_bob.push(bob.next_message().await);
    }
    (seen_by_ann, seen_by_bob)
}

/// The parts of a `joined` frame, with names as plain strings.
#[derive(Debug)]
pub struct Joined {
    pub room: String,
    pub name: String,
    pub user_id: common::UserId,
    pub members: Vec<String>,
    pub history: Vec<ChatMessage>,
    pub has_older: bool,
}

/// `GET url`, expecting a 200 with a JSON body of type `T`; with the
/// reader's token of the server it names, if it has one.
pub async fn get_json<T: serde::de::DeserializeOwned>(url: String) -> T {
    let response = accounts::reader_get(&url).await;
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("a JSON body")
}

/// The server's metrics (`GET /metrics`).
pub async fn metrics(server: &TestServer) -> Metrics {
    let response = reqwest::get(server.url("/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    Metrics(response.text().await.expect("a text body"))
}

/// Metrics in the Prometheus text format.
pub struct Metrics(pub String);

impl Metrics {
    /// The value of the sample written exactly as `series` (a name with
    /// its labels, e.g. `chat_disconnects_total{reason="size"}`), or 0 when
    /// it is absent (a labelled counter appears once it is first counted).
    pub fn value(&self, series: &str) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == series).then(|| value.parse().expect("a number"))
            })
            .unwrap_or(0.0)
    }
}

/// The display names of `people`.
pub fn names(people: &[Person]) -> Vec<String> {
    people
        .iter()
        .map(|person| person.display_name.to_string())
        .collect()
}

pub fn ids(messages: &[ChatMessage]) -> Vec<MessageId> {
    messages.iter().map(|message| message.id).collect()
}

pub fn room_name(room: &str) -> common::RoomName {
    common::RoomName::parse(room).expect("valid room")
}
