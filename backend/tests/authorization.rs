//! Who may do what: one table, every HTTP route × every kind of caller
//! (no session, a member, an administrator, a deactivated account, a bot
//! with an API token), each cell the status the server must answer. The
//! WebSocket's requests are rows too ([`Via::WebSocket`]): its upgrade,
//! and each client frame after one, whose outcome is written as a number
//! (`authorization/websocket.rs`). The rooms' routes are rows of it
//! (`authorization/room_routes.rs`), and a second table has them again
//! for every kind of room (public, private, a direct conversation) × what
//! the caller is to the room: an outsider, a member, a moderator, its
//! owner, an administrator who is not in it, someone banned, someone
//! muted (`authorization/room_roles.rs`).
//!
//! `every_route_of_the_api_is_in_the_table` fails when a route of the
//! accounts API's table (`common/src/api/accounts.rs`), of the rooms
//! API's (`common/src/api/rooms.rs`) or of the rest of the router is
//! missing from [`rows`], and
//! `the_table_and_the_openapi_document_have_the_same_routes` when the
//! table and the served OpenAPI document (`/api/openapi.json`, which
//! tests/openapi.rs checks against the router) differ by a route, either
//! way.

mod support;

#[path = "authorization/account_routes.rs"]
mod account_routes;
#[path = "authorization/room_roles.rs"]
mod room_roles;
#[path = "authorization/room_routes.rs"]
mod room_routes;
#[path = "authorization/websocket.rs"]
mod websocket;

use serde_json::{json, Value};
use support::accounts::{setup_token_of, Api};
use support::{TempDb, TestServer};
use websocket::{websocket_answer, Frame};

/// The callers, in the order of each row's statuses.
const CALLERS: [&str; 5] = ["nobody", "member", "admin", "deactivated", "bot"];

/// What the rows may name: the ids of accounts and tokens that exist.
struct Ids {
    /// A member the administrator changes; the owner of `lobby`, a public
    /// room.
    target: u64,
    /// The bot.
    bot: u64,
    /// A member of `lobby` whom moderation rows act on.
    victim: u64,
    /// Someone outside `lobby`, banned and unbanned by the rows.
    outcast: u64,
}

/// How a row's request is made, answered in [`answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// An HTTP request of this method, with the row's path and body.
    Http(&'static str),
    /// `GET /ws` with the caller's credential (its cookie with the
    /// server's own `Origin`, as a browser sends it, or its bearer token).
    /// With no frame the cell is the upgrade's status (101 when it
    /// upgrades); with a frame, a caller refused the upgrade gets the
    /// upgrade's status, and one that upgraded sends the frame (after
    /// joining `lobby`, for the frames that need a joined room) and gets
    /// [`frame_outcome`].
    WebSocket(Option<Frame>),
}

/// One request and what each caller gets.
struct Row {
    via: Via,
    /// The route as the table writes it (`/api/me/sessions/{id}`).
    route: &'static str,
    /// The path requested.
    path: fn(&Ids) -> String,
    /// The body (for the caller of this label).
    body: fn(&str) -> Option<Value>,
    /// The answer (an HTTP status) for each of [`CALLERS`].
    expect: [u16; 5],
}

/// The answer `caller` (of `label`) gets to `row`.
async fn answer(row: &Row, ids: &Ids, caller: &Api, label: &str) -> (u16, Value) {
    match row.via {
        Via::Http(method) => {
            let body = (row.body)(label);
            let method = method.parse().expect("a method");
            let answer = caller
                .request(method, &(row.path)(ids), body.as_ref())
                .await;
            (answer.status, answer.body)
        }
        Via::WebSocket(frame) => websocket_answer(frame, caller, label).await,
    }
}

fn none(_: &str) -> Option<Value> {
    None
}

/// Every route, with its cells. Requests that end something (signing
/// out) come last, so that each caller keeps its credential until then.
fn rows() -> Vec<Row> {
    let mut rows = account_routes::rows();
    rows.extend(room_routes::rows());
    rows.push(sign_out());
    rows
}

/// Signing out, last of all.
fn sign_out() -> Row {
    Row {
        via: Via::Http("DELETE"),
        route: "/api/session",
        path: |_| "/api/session".into(),
        body: none,
        // A bot's API token is not a session: revoke it instead.
        expect: [401, 204, 204, 401, 400],
    }
}

/// The routes of the router outside the accounts' and rooms' tables.
const OTHER_ROUTES: [(&str, &str); 5] = [
    ("GET", "/api/rooms"),
    ("GET", "/api/rooms/{room}/messages"),
    ("GET", "/api/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
];

/// Routes of the OpenAPI document that have no row yet (none: the
/// WebSocket's are rows of [`Via::WebSocket`]).
const NOT_IN_THE_TABLE_YET: [(&str, &str); 0] = [];

/// The routes of the table, as `(METHOD, /route)`.
fn table_routes() -> Vec<(String, String)> {
    rows()
        .iter()
        .map(|row| match row.via {
            Via::Http(method) => (method.to_owned(), row.route.to_owned()),
            Via::WebSocket(_) => ("GET".to_owned(), row.route.to_owned()),
        })
        .collect()
}

/// The routes of the tables in `common/src/api/accounts.rs`'s and
/// `common/src/api/rooms.rs`'s documentation.
fn documented_routes() -> Vec<(String, String)> {
    let accounts = include_str!("../../common/src/api/accounts.rs");
    let rooms = include_str!("../../common/src/api/rooms.rs");
    accounts
        .lines()
        .chain(rooms.lines())
        .filter_map(|line| {
            let cell = line.strip_prefix("//! | `")?;
            let (route, _) = cell.split_once('`')?;
            let (method, path) = route.split_once(' ')?;
            Some((method.to_owned(), path.to_owned()))
        })
        .collect()
}

#[test]
fn every_route_of_the_api_is_in_the_table() {
    let documented = documented_routes();
    assert!(documented.len() >= 43, "{documented:?}");
    let table = table_routes();
    let expected = documented.into_iter().chain(
        OTHER_ROUTES
            .iter()
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned())),
    );
    for route in expected {
        assert!(table.contains(&route), "{route:?} is not in the table");
    }
}

/// The table has a row for every operation of the OpenAPI document the
/// server serves, and the document an operation for every row: the
/// document is checked against the router itself in tests/openapi.rs.
#[tokio::test]
async fn the_table_and_the_openapi_document_have_the_same_routes() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let doc: Value = reqwest::get(server.url("/api/openapi.json"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("a path item").keys();
            methods
                .filter(|method| {
                    ["get", "post", "put", "patch", "delete"].contains(&method.as_str())
                })
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .filter(|(method, path)| !NOT_IN_THE_TABLE_YET.contains(&(method.as_str(), path.as_str())))
        .collect();
    documented.sort();
    let mut table = table_routes();
    table.sort();
    table.dedup();
    assert_eq!(table, documented);
    server.stop().await;
}

/// The administrator of a server's first start, made with its setup
/// link, signed in.
async fn first_admin(server: &TestServer) -> Api {
    let accounts = server.accounts.as_ref().expect("started");
    let link = accounts
        .setup_link_if_needed()
        .await
        .expect("answers")
        .expect("a first start");
    let nobody = Api::new(server.addr);
    let made = nobody
        .post(
            "/api/setup",
            &json!({
                "token": setup_token_of(&link).expect("a token"),
                "username": "admin",
                "display_name": "Admin",
                "password": "admin-password",
            }),
        )
        .await;
    nobody.with_session(&made.session().expect("a session"))
}

/// Makes an account with `admin`'s API: a person (whose password is
/// `<username>-password`) or a bot; returns its id.
async fn create(admin: &Api, username: &str, kind: &str) -> u64 {
    let password = (kind == "person").then(|| format!("{username}-password"));
    let made = admin
        .post(
            "/api/admin/accounts",
            &json!({
                "username": username,
                "display_name": username,
                "kind": kind,
                "role": "member",
                "password": password,
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    made.u64("/id")
}

/// The five callers, signed in as they are in the table, and the public
/// room `lobby` the room rows ask about: made by `target`, with `victim`
/// in it.
async fn callers(server: &TestServer) -> ([Api; 5], Ids) {
    let admin = first_admin(server).await;
    let nobody = Api::new(server.addr);
    create(&admin, "member", "person").await;
    let gone = create(&admin, "deactivated", "person").await;
    let target = create(&admin, "target", "person").await;
    let bot = create(&admin, "bot", "bot").await;
    let victim = create(&admin, "victim", "person").await;
    let outcast = create(&admin, "outcast", "person").await;
    let member = nobody
        .sign_in("member", "member-password")
        .await
        .expect("in");
    let deactivated = nobody
        .sign_in("deactivated", "deactivated-password")
        .await
        .expect("in");
    let off = admin
        .patch(
            &format!("/api/admin/accounts/{gone}"),
            &json!({"state": "deactivated"}),
        )
        .await;
    assert_eq!(off.status, 200);
    let token = admin
        .post(
            &format!("/api/admin/accounts/{bot}/tokens"),
            &json!({"name": "t"}),
        )
        .await
        .str("/token");
    let bot_api = nobody.with_bearer(&token);
    let owner = nobody
        .sign_in("target", "target-password")
        .await
        .expect("in");
    let lobby = owner
        .post("/api/rooms", &json!({"room": "lobby", "kind": "public"}))
        .await;
    assert_eq!(lobby.status, 201, "{lobby:?}");
    let joined = owner
        .post("/api/rooms/lobby/members", &json!({"user": victim}))
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    (
        [nobody, member, admin, deactivated, bot_api],
        Ids {
            target,
            bot,
            victim,
            outcast,
        },
    )
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_table_says() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let (callers, ids) = callers(&server).await;
    let mut wrong = Vec::new();
    for row in rows() {
        for (at, caller) in callers.iter().enumerate() {
            let label = CALLERS[at];
            let (status, body) = answer(&row, &ids, caller, label).await;
            if status != row.expect[at] {
                wrong.push(format!(
                    "{:?} {} as {label}: {status} (expected {}) {body}",
                    row.via, row.route, row.expect[at]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    server.stop().await;
}
