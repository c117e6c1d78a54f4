//! Numbers beyond the largest stored id (`http::MAX_STORED_ID`, the
//! stores' signed 64-bit ids) in paths and queries, as schemathesis sent
//! them (`cargo xtask test`): they name nothing, and are answered so (404,
//! or the newest page of history), never with a 503 from a store that
//! could not look them up.

mod support;

use chat_server::http::MAX_STORED_ID;
use serde_json::json;
use support::accounts::{reader_get, setup_token_of, Api};
use support::{TempDb, TestServer};

#[tokio::test]
async fn an_id_beyond_the_stores_names_nothing() {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), &[]).await;
    let link = server
        .accounts
        .as_ref()
        .expect("started")
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
    assert_eq!(made.status, 200, "{made:?}");
    let admin = nobody.with_session(&made.session().expect("a session"));

    for beyond in [MAX_STORED_ID + 1, u64::MAX] {
        for (method, path, body) in [
            ("DELETE", format!("/api/me/sessions/{beyond}"), None),
            ("DELETE", format!("/api/me/tokens/{beyond}"), None),
            (
                "PATCH",
                format!("/api/admin/accounts/{beyond}"),
                Some(json!({"role": "member"})),
            ),
            (
                "POST",
                format!("/api/admin/accounts/{beyond}/reset-link"),
                Some(json!({})),
            ),
            ("GET", format!("/api/admin/accounts/{beyond}/tokens"), None),
            (
                "POST",
                format!("/api/admin/accounts/{beyond}/tokens"),
                Some(json!({"name": "t"})),
            ),
            (
                "DELETE",
                format!("/api/admin/accounts/{beyond}/tokens/1"),
                None,
            ),
            (
                "DELETE",
                format!("/api/admin/accounts/1/tokens/{beyond}"),
                None,
            ),
            ("DELETE", format!("/api/admin/invites/{beyond}"), None),
        ] {
            let answer = admin
                .request(method.parse().expect("a method"), &path, body.as_ref())
                .await;
            assert_eq!(answer.status, 404, "{method} {path}: {answer:?}");
            assert_eq!(answer.code(), "not_found", "{method} {path}");
        }
    }
    // The largest stored id itself is a number a store can look up.
    let answer = admin
        .request(
            "DELETE".parse().expect("a method"),
            &format!("/api/admin/invites/{MAX_STORED_ID}"),
            None,
        )
        .await;
    assert_eq!(answer.status, 404, "{answer:?}");
    server.stop().await;
}

#[tokio::test]
async fn history_before_an_id_beyond_the_stores_is_the_newest_page() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, _bob) = server.ann_and_bob_in_lobby().await;
    ann.say("lobby", "hello", None).await;
    // Stored before anyone sees it.
    ann.next_message().await;
    for beyond in [MAX_STORED_ID + 1, u64::MAX] {
        let response =
            reader_get(&server.url(&format!("/api/rooms/lobby/messages?before={beyond}"))).await;
        assert_eq!(response.status(), 200, "before={beyond}");
        let page: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(page["messages"][0]["text"], "hello", "{page}");
    }
    server.stop().await;
}
