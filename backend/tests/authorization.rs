//! Who may do what: one table, every HTTP route × every kind of caller
//! (no session, a member, an administrator, a deactivated account, a bot
//! with an API token), each cell the status the server must answer. The
//! WebSocket's requests are rows too ([`Via::WebSocket`]): its upgrade,
//! and each client frame after one, whose outcome is written as a number
//! ([`frame_outcome`]).
//!
//! `every_route_of_the_api_is_in_the_table` fails when a route of the
//! accounts API's table (`common/src/api/accounts.rs`) or of the rest of
//! the router is missing from [`rows`], and
//! `the_table_and_the_openapi_document_have_the_same_routes` when the
//! table and the served OpenAPI document (`/api/openapi.json`, which
//! tests/openapi.rs checks against the router) differ by a route, either
//! way.

mod support;

use common::{ClientFrame, ErrorCode, ServerFrame};
use serde_json::{json, Value};
use support::accounts::{setup_token_of, Api, Credential};
use support::{room_name, Client, TempDb, TestServer};

/// The callers, in the order of each row's statuses.
const CALLERS: [&str; 5] = ["nobody", "member", "admin", "deactivated", "bot"];

/// What the rows may name: the ids of accounts and tokens that exist.
struct Ids {
    /// A member the administrator changes.
    target: u64,
    /// The bot.
    bot: u64,
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

/// The client frames of the protocol, as rows of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Join,
    Send,
    Typing,
    Leave,
}

/// The cell of a frame that was carried out: 101, as the upgrade's
/// "Switching Protocols" (the connection goes on as asked). Carried out
/// means: `joined` for a join, the sent `message` (its nonce echoed) for a
/// send, and for typing and leave, which have no answer, no error before
/// the answer to a bad frame sent after them (a connection handles its
/// frames in order).
const CARRIED_OUT: u16 = 101;

/// The cell of a frame answered by an `error` frame: the HTTP status of
/// the same refusal over the API (401 `unauthenticated`, 403 `forbidden`,
/// 429 `rate_limited`, 409 `not_joined`/`already_joined`, 503
/// `unavailable`, 400 for the rest). A frame answered by the server
/// closing the connection is the close code (4001 when its session ended,
/// say): both are numbers the table can hold beside the HTTP ones.
fn error_outcome(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::Unauthenticated => 401,
        ErrorCode::Forbidden => 403,
        ErrorCode::RateLimited => 429,
        ErrorCode::NotJoined | ErrorCode::AlreadyJoined => 409,
        ErrorCode::Unavailable => 503,
        _ => 400,
    }
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

/// The request headers of `caller`'s credential on a WebSocket upgrade.
fn upgrade_headers(caller: &Api) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if let Some(origin) = &caller.origin {
        headers.push(("origin", origin.clone()));
    }
    match &caller.credential {
        Credential::None => {}
        Credential::Cookie(token) => headers.push(("cookie", format!("chat_session={token}"))),
        Credential::Bearer(token) => headers.push(("authorization", format!("Bearer {token}"))),
    }
    headers
}

/// The cell of a WebSocket row for `caller`, as [`Via::WebSocket`] says,
/// with what explains it (the refusal's body, or the frame that answered).
async fn websocket_answer(frame: Option<Frame>, caller: &Api, label: &str) -> (u16, Value) {
    let url = format!("ws://{}/ws", caller.addr);
    let headers = upgrade_headers(caller);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let mut client = match Client::try_connect(&url, &headers).await {
        Ok(client) => client,
        Err((status, body)) => return (status, Value::String(body)),
    };
    let Some(frame) = frame else {
        return (CARRIED_OUT, Value::Null);
    };
    let lobby = room_name("lobby");
    if frame != Frame::Join {
        client.join("lobby").await;
    }
    let nonce = format!("ws-{label}");
    let sent = match frame {
        Frame::Join => ClientFrame::Join {
            room: lobby,
            since: None,
        },
        Frame::Send => ClientFrame::Send {
            room: lobby,
            text: common::MessageText::parse("hello over the socket").expect("valid text"),
            nonce: Some(common::Nonce::parse(&nonce).expect("valid nonce")),
        },
        Frame::Typing => ClientFrame::Typing { room: lobby },
        Frame::Leave => ClientFrame::Leave { room: lobby },
    };
    client.send(&sent).await;
    if matches!(frame, Frame::Typing | Frame::Leave) {
        // No answer when carried out: the answer to a bad frame sent next
        // comes first then.
        client.send_text("{}").await;
    }
    let outcome = frame_outcome(&mut client, frame, &nonce).await;
    let _ = client.ws.close(None).await;
    outcome
}

/// What answered `frame` on `client`: [`CARRIED_OUT`], an error's
/// [`error_outcome`], or the close code of a closed connection. Others'
/// presence changes and messages are not answers, and are skipped.
async fn frame_outcome(client: &mut Client, frame: Frame, nonce: &str) -> (u16, Value) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let next = tokio::time::timeout(support::FRAME_TIMEOUT, client.ws.next())
            .await
            .expect("the frame is answered in time");
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                let code = close.map_or(1005, |close| u16::from(close.code));
                return (code, Value::String("closed".into()));
            }
            Some(Ok(_)) => continue,
            other => return (1006, Value::String(format!("{other:?}"))),
        };
        let answer = ServerFrame::decode(&text).expect("the server sends valid frames");
        let explained = Value::String(text.to_string());
        match (frame, answer) {
            (Frame::Join, ServerFrame::Joined { .. }) => return (CARRIED_OUT, explained),
            (Frame::Send, ServerFrame::Message(message))
                if message.nonce.as_ref().map(|n| n.as_str()) == Some(nonce) =>
            {
                return (CARRIED_OUT, explained)
            }
            (Frame::Typing | Frame::Leave, ServerFrame::Error(error))
                if error.code == ErrorCode::BadRequest && error.room.is_none() =>
            {
                return (CARRIED_OUT, explained)
            }
            (_, ServerFrame::Error(error)) => return (error_outcome(error.code), explained),
            (_, ServerFrame::Presence { .. } | ServerFrame::Message(_)) => continue,
            (_, _) => return (0, explained),
        }
    }
}

fn none(_: &str) -> Option<Value> {
    None
}

/// Every route, with its cells. Requests that end something (signing
/// out) come last, so that each caller keeps its credential until then.
fn rows() -> Vec<Row> {
    vec![
        Row {
            via: Via::Http("GET"),
            route: "/api/server",
            path: |_| "/api/server".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/setup",
            path: |_| "/api/setup".into(),
            body: |_| {
                Some(json!({
                    "token": "0000000000000000000000000000000000000000000",
                    "username": "intruder",
                    "display_name": "Intruder",
                    "password": "intruder-password",
                }))
            },
            // The setup is done: no link works. A script (no Origin) is
            // refused before that.
            expect: [410, 410, 410, 410, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/session",
            path: |_| "/api/session".into(),
            body: |_| Some(json!({"username": "nobody", "password": "wrong-password"})),
            expect: [401, 401, 401, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/signup",
            path: |_| "/api/signup".into(),
            body: |_| {
                Some(json!({
                    "username": "newcomer",
                    "display_name": "Newcomer",
                    "password": "newcomer-password",
                }))
            },
            // `--signup invite` without an invite.
            expect: [403, 403, 403, 403, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/password-reset",
            path: |_| "/api/password-reset".into(),
            body: |_| {
                Some(json!({
                    "token": "0000000000000000000000000000000000000000000",
                    "password": "a-new-password",
                }))
            },
            expect: [410, 410, 410, 410, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/me",
            path: |_| "/api/me".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("PATCH"),
            route: "/api/me",
            path: |_| "/api/me".into(),
            body: |caller| Some(json!({"display_name": format!("{caller} renamed")})),
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/me/password",
            path: |_| "/api/me/password".into(),
            body: |caller| {
                Some(json!({
                    "current_password": format!("{caller}-password"),
                    "new_password": format!("{caller}-password"),
                }))
            },
            expect: [401, 204, 204, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/me/sessions",
            path: |_| "/api/me/sessions".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/me/sessions/{id}",
            path: |_| "/api/me/sessions/999999".into(),
            body: none,
            expect: [401, 404, 404, 401, 404],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/me/tokens",
            path: |_| "/api/me/tokens".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/me/tokens",
            path: |_| "/api/me/tokens".into(),
            body: |_| Some(json!({"name": "mine"})),
            expect: [401, 201, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/me/tokens/{id}",
            path: |_| "/api/me/tokens/999999".into(),
            body: none,
            expect: [401, 404, 404, 401, 404],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/accounts",
            path: |_| "/api/admin/accounts".into(),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/accounts",
            path: |_| "/api/admin/accounts".into(),
            body: |caller| {
                Some(json!({
                    "username": format!("made-by-{caller}"),
                    "display_name": "Made",
                    "kind": "person",
                    "role": "member",
                    "password": "made-password",
                }))
            },
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("PATCH"),
            route: "/api/admin/accounts/{id}",
            path: |ids| format!("/api/admin/accounts/{}", ids.target),
            body: |_| Some(json!({"role": "member"})),
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/accounts/{id}/reset-link",
            path: |ids| format!("/api/admin/accounts/{}/reset-link", ids.target),
            body: |_| Some(json!({})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/accounts/{id}/tokens",
            path: |ids| format!("/api/admin/accounts/{}/tokens", ids.bot),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/accounts/{id}/tokens",
            path: |ids| format!("/api/admin/accounts/{}/tokens", ids.bot),
            body: |_| Some(json!({"name": "another"})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/admin/accounts/{id}/tokens/{token}",
            path: |ids| format!("/api/admin/accounts/{}/tokens/999999", ids.bot),
            body: none,
            expect: [401, 403, 404, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/invites",
            path: |_| "/api/admin/invites".into(),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/invites",
            path: |_| "/api/admin/invites".into(),
            body: |_| Some(json!({"max_uses": 1})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/admin/invites/{id}",
            path: |_| "/api/admin/invites/999999".into(),
            body: none,
            expect: [401, 403, 404, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms",
            path: |_| "/api/rooms".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms/{room}/messages",
            path: |_| "/api/rooms/lobby/messages".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/messages",
            path: |_| "/api/rooms/lobby/messages".into(),
            body: |caller| Some(json!({"text": "hello", "nonce": format!("n-{caller}")})),
            expect: [401, 201, 201, 401, 201],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/openapi.json",
            path: |_| "/api/openapi.json".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/healthz",
            path: |_| "/healthz".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/metrics",
            path: |_| "/metrics".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::WebSocket(None),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Join)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Send)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Typing)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Leave)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/session",
            path: |_| "/api/session".into(),
            body: none,
            // A bot's API token is not a session: revoke it instead.
            expect: [401, 204, 204, 401, 400],
        },
    ]
}

/// The routes of the router outside the accounts API's table.
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

/// The routes of the table in `common/src/api/accounts.rs`'s documentation.
fn documented_routes() -> Vec<(String, String)> {
    let source = include_str!("../../common/src/api/accounts.rs");
    source
        .lines()
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
    assert!(documented.len() >= 25, "{documented:?}");
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

/// The five callers, signed in as they are in the table.
async fn callers(server: &TestServer) -> ([Api; 5], Ids) {
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
    let admin = nobody.with_session(&made.session().expect("a session"));
    let create = |username: &'static str, kind: &'static str| {
        let admin = admin.clone();
        async move {
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
    };
    create("member", "person").await;
    let gone = create("deactivated", "person").await;
    let target = create("target", "person").await;
    let bot = create("bot", "bot").await;
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
    (
        [nobody, member, admin, deactivated, bot_api],
        Ids { target, bot },
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
