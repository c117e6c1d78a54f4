//! `GET /api/openapi.json` from a real server (on port 0): an OpenAPI 3.1
//! document, readable by anyone, that lists every route the router has
//! (found in the router's source, the only list of them there is) and
//! nothing else, each answered by the router, with every reference and
//! security scheme it names defined. The table of who may do what
//! (`authorization.rs`) is checked against the same document there.
//!
//! `cargo xtask test` also fuzzes every operation of the document with
//! schemathesis against a release server (xtask/src/schemathesis.rs).

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use support::{TempDb, TestServer};

/// A route as `METHOD /path/{param}`.
type Route = (String, String);

/// The served document, fetched without any credential.
async fn document(server: &TestServer) -> Value {
    let response = reqwest::get(server.url("/api/openapi.json"))
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert_eq!(content_type, "application/json");
    response.json().await.expect("a JSON document")
}

/// Every operation of a document.
fn operations(doc: &Value) -> BTreeSet<Route> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|key| {
                    ["get", "post", "put", "patch", "delete", "head", "options"]
                        .contains(&key.as_str())
                })
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// The routes the router's source registers: every `.route("…", …)` of
/// `http/mod.rs` (as written) and of `http/api.rs`,
/// `http/accounts/mod.rs` and `http/rooms/mod.rs` (under `/api`, where the
/// router nests them), with each method routed (`get(…)`, `.post(…)`, …).
fn routes_in_the_source() -> BTreeSet<Route> {
    let top = include_str!("../src/http/mod.rs");
    let api = include_str!("../src/http/api.rs");
    let accounts = include_str!("../src/http/accounts/mod.rs");
    let rooms = include_str!("../src/http/rooms/mod.rs");
    // The prefix below is where these lines put the others' routes.
    assert!(top.contains(r#".nest("/api", api::routes())"#));
    assert!(api.contains(".merge(super::accounts::routes())"));
    assert!(api.contains(".merge(super::rooms::routes())"));
    let mut routes = BTreeSet::new();
    for (source, prefix) in [
        (top, ""),
        (api, "/api"),
        (accounts, "/api"),
        (rooms, "/api"),
    ] {
        for call in route_calls(source) {
            let (path, methods) = parse_route_call(call);
            for method in methods {
                routes.insert((method, format!("{prefix}{path}")));
            }
        }
    }
    routes
}

/// The text inside each `.route(…)` of `source`, up to its closing
/// parenthesis.
fn route_calls(source: &str) -> Vec<&str> {
    let mut calls = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let inside = &rest[at + ".route(".len()..];
        let mut depth = 1;
        let end = inside
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .expect("a closed .route(");
        calls.push(&inside[..end]);
        rest = &inside[end..];
    }
    calls
}

/// The path and methods of one `.route(…)`'s arguments.
fn parse_route_call(call: &str) -> (String, Vec<String>) {
    let path = call
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("a path in .route({call})"));
    let after = &call[call.find(',').expect("a method router") + 1..];
    let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
        .into_iter()
        .filter(|method| {
            after.match_indices(&format!("{method}(")).any(|(at, _)| {
                after[..at]
                    .chars()
                    .last()
                    .is_none_or(|before| !before.is_alphanumeric() && before != '_')
            })
        })
        .map(str::to_uppercase)
        .collect();
    assert!(!methods.is_empty(), "no method in .route({call})");
    (path.to_owned(), methods)
}

#[test]
fn the_source_scan_finds_routes_as_rustfmt_writes_them() {
    let calls = route_calls(
        r#"Router::new()
        .route("/a", get(x::a))
        .route(
            "/b/{id}",
            get(b::list).post(b::create),
        )
        .route("/c", delete(c::end).layer(Extension(get_it())))"#,
    );
    let parsed: Vec<_> = calls.into_iter().map(parse_route_call).collect();
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        parsed,
        vec![
            ("/a".to_owned(), strings(&["GET"])),
            ("/b/{id}".to_owned(), strings(&["GET", "POST"])),
            ("/c".to_owned(), strings(&["DELETE"])),
        ]
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_route_of_the_router() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let doc = document(&server).await;
    let version = doc["openapi"].as_str().expect("a version");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(doc["info"]["title"].is_string());

    let documented = operations(&doc);
    let routed = routes_in_the_source();
    assert!(routed.len() >= 30, "{routed:?}");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without a document entry: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    server.stop().await;
}

/// Each documented operation reaches a handler of the real router: not
/// the `/api` fallback (404 `no such API route`), not the web client's
/// (HTML), and not a 405 for a method the path does not have.
#[tokio::test]
async fn every_documented_operation_is_answered_by_its_handler() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let doc = document(&server).await;
    let client = reqwest::Client::new();
    for (method, path) in operations(&doc) {
        let concrete = path
            .replace("{room}", "lobby")
            .replace("{id}", "1")
            .replace("{user}", "1")
            .replace("{token}", "1");
        let response = client
            .request(method.parse().expect("a method"), server.url(&concrete))
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("a body");
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !content_type.starts_with("text/html"),
            "{method} {path}: {body}"
        );
        assert!(
            !body.contains("no such API route"),
            "{method} {path}: {body}"
        );
    }
    server.stop().await;
}

/// Every `$ref` of the document points at something it defines, every
/// security requirement names a defined scheme, and every operation has
/// an id of its own, an answer for success, and each parameter of its
/// path declared.
#[tokio::test]
async fn the_document_is_whole() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let doc = document(&server).await;

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50, "{refs:?}");
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{reference} is not defined");
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "chat_session");
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");

    let mut operation_ids = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let id = operation["operationId"].as_str().expect("an operationId");
        assert!(operation_ids.insert(id.to_owned()), "{id} twice");
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().expect("a requirement").keys() {
                assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
            }
        }
        let answers = operation["responses"].as_object().expect("responses");
        assert!(
            answers
                .keys()
                .any(|status| status.starts_with('1') || status.starts_with('2')),
            "{method} {path} has no success"
        );
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|parameter| parameter["in"] == "path")
            .map(|parameter| parameter["name"].as_str().expect("a name"))
            .collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, in_path, "{method} {path}");
    }
    server.stop().await;
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => collect_refs(value, into),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|value| collect_refs(value, into)),
        _ => {}
    }
}

/// The validated values' rules are in their schemas, and the routes that
/// need a caller say so, the room list and history among them.
#[tokio::test]
async fn the_schemas_say_the_rules_and_the_routes_who_may_call() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let doc = document(&server).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["RoomName"]["pattern"],
        common::openapi::ROOM_PATTERN
    );
    assert_eq!(
        schemas["RoomName"]["maxLength"],
        common::values::ROOM_MAX_CHARS
    );
    assert_eq!(
        schemas["Username"]["minLength"],
        common::account::USERNAME_MIN_CHARS
    );
    assert_eq!(
        schemas["DisplayName"]["maxLength"],
        common::values::NAME_MAX_CHARS
    );
    assert_eq!(
        schemas["MessageText"]["maxLength"],
        common::values::TEXT_MAX_CHARS
    );
    assert_eq!(
        schemas["Nonce"]["maxLength"],
        common::values::NONCE_MAX_CHARS
    );
    assert_eq!(
        schemas["Password"]["minLength"],
        common::account::PASSWORD_MIN_CHARS
    );
    assert_eq!(
        schemas["RoomTitle"]["maxLength"],
        common::room::TITLE_MAX_CHARS
    );
    assert_eq!(
        schemas["RoomTopic"]["maxLength"],
        common::room::TOPIC_MAX_CHARS
    );
    // A mute's bounds are the server's.
    assert_eq!(schemas["Mute"]["properties"]["minutes"]["minimum"], 1);
    assert_eq!(
        schemas["Mute"]["properties"]["minutes"]["maximum"],
        common::api::rooms::MAX_MUTE_MINUTES
    );
    // A new password is a Password; signing in takes any string.
    assert_eq!(
        schemas["SetupRequest"]["properties"]["password"]["$ref"],
        "#/components/schemas/Password"
    );
    assert_eq!(
        schemas["SignInRequest"]["properties"]["password"]["type"],
        "string"
    );

    let signed_in = |method: &str, path: &str| {
        let operation = &doc["paths"][path][method];
        let names: BTreeSet<String> = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|requirement| requirement.as_object().expect("a requirement").keys())
            .cloned()
            .collect();
        names == BTreeSet::from(["session".to_owned(), "bearer".to_owned()])
            && operation["responses"]["401"].is_object()
    };
    for (method, path) in [
        ("get", "/api/rooms"),
        ("post", "/api/rooms"),
        ("get", "/api/rooms/{room}"),
        ("patch", "/api/rooms/{room}"),
        ("post", "/api/rooms/{room}/join"),
        ("get", "/api/rooms/{room}/members"),
        ("post", "/api/rooms/{room}/bans"),
        ("put", "/api/rooms/{room}/members/{user}/mute"),
        ("post", "/api/direct"),
        ("post", "/api/me/read-all"),
        ("get", "/api/admin/audit"),
        ("get", "/api/rooms/{room}/messages"),
        ("post", "/api/rooms/{room}/messages"),
        ("get", "/api/me"),
        ("delete", "/api/session"),
        ("get", "/api/admin/accounts"),
        ("get", "/ws"),
    ] {
        assert!(signed_in(method, path), "{method} {path}");
    }
    for (method, path) in [
        ("get", "/api/server"),
        ("post", "/api/session"),
        ("post", "/api/setup"),
        ("get", "/api/openapi.json"),
        ("get", "/healthz"),
    ] {
        assert!(
            doc["paths"][path][method]["security"].is_null(),
            "{method} {path}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn without_metrics_on_the_main_router_the_document_has_none() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &["--no-metrics"]).await;
    let doc = document(&server).await;
    assert!(doc["paths"]["/metrics"].is_null());
    assert!(doc["paths"]["/healthz"].is_object());
    server.stop().await;
}

/// A body over the limit is refused as the document says: 413 with the
/// API's JSON error, on any route (the limit comes before routing).
#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let doc = document(&server).await;
    assert_eq!(
        doc["components"]["responses"]["TooLarge"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorFrame"
    );
    let body = vec![b'x'; chat_server::http::MAX_HTTP_BODY_BYTES + 1];
    for path in ["/api/session", "/api/rooms/lobby/messages", "/nowhere"] {
        let response = reqwest::Client::new()
            .post(server.url(path))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 413, "{path}");
        let error: common::ErrorFrame = response.json().await.expect("an ErrorFrame");
        assert_eq!(error.code, common::ErrorCode::BadRequest, "{path}");
    }
    server.stop().await;
}
