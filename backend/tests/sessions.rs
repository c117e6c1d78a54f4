//! What sessions and accounts do to open WebSockets (protocol version 2),
//! on one real server: a socket closes with code 4001 when its session
//! ends (signed out, ended from the list, a password change), its account
//! is deactivated or its API token revoked, and its credential is refused
//! (401) from then on; a display-name change reaches every room of the
//! person; the connections of one account share one send budget.
//!
//! The people sign in for real (`POST /api/session`, see
//! `support::people`); the cluster's counterparts are in
//! tests/cluster_sessions.rs.

mod support;

use common::{CloseCode, ServerFrame};
use serde_json::json;
use support::accounts::Api;
use support::people::{self, assert_refused, open, session_token, Carry};
use support::{get_json, Client, TempDb, TestServer};

/// A server with the reader that makes the people of the tests.
async fn server() -> (TempDb, TestServer) {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    (db, server)
}

/// Asserts that `client` is closed with 4001 and `reason`.
async fn expect_ended(client: &mut Client, reason: &str) {
    assert_eq!(
        client.expect_close().await,
        (CloseCode::SessionEnded.code(), reason.to_owned())
    );
}

/// Asserts that `client` is still open and served.
async fn expect_open(client: &mut Client) {
    client.round_trip().await;
}

/// The id of the one session of `sessions` (`GET /api/me/sessions` of
/// another) that is not the current one.
async fn other_session_id(session: &Api) -> u64 {
    let listed = session.get("/api/me/sessions").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let others: Vec<u64> = listed
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter(|info| info["current"] == false)
        .map(|info| info["id"].as_u64().expect("an id"))
        .collect();
    assert_eq!(others.len(), 1, "{listed:?}");
    others[0]
}

#[tokio::test]
async fn signing_out_closes_the_sockets_of_that_session_alone() {
    let (_db, server) = server().await;
    people::make_person(&people::admin(server.addr), "Ann").await;
    let laptop = people::sign_in(server.addr, "Ann").await;
    let phone = people::sign_in(server.addr, "Ann").await;
    let (laptop_token, phone_token) = (session_token(&laptop), session_token(&phone));
    // The cookie as a browser sends it, and the token as a bearer.
    let mut by_cookie = open(server.addr, &laptop_token, Carry::Cookie).await;
    let mut by_bearer = open(server.addr, &laptop_token, Carry::Bearer).await;
    let mut on_phone = open(server.addr, &phone_token, Carry::Cookie).await;
    by_cookie.join("lobby").await;

    let out = laptop.delete("/api/session").await;
    assert_eq!(out.status, 204, "{out:?}");
    expect_ended(&mut by_cookie, "session ended").await;
    expect_ended(&mut by_bearer, "session ended").await;
    expect_open(&mut on_phone).await;
    assert_refused(server.addr, &laptop_token, Carry::Cookie).await;
    assert_refused(server.addr, &laptop_token, Carry::Bearer).await;
    server.stop().await;
}

#[tokio::test]
async fn a_session_ended_from_the_list_closes_its_sockets() {
    let (_db, server) = server().await;
    people::make_person(&people::admin(server.addr), "Ann").await;
    let lost = people::sign_in(server.addr, "Ann").await;
    let kept = people::sign_in(server.addr, "Ann").await;
    let lost_token = session_token(&lost);
    let mut on_lost = open(server.addr, &lost_token, Carry::Bearer).await;
    on_lost.join("lobby").await;
    let mut on_kept = open(server.addr, &session_token(&kept), Carry::Bearer).await;

    let id = other_session_id(&kept).await;
    let ended = kept.delete(&format!("/api/me/sessions/{id}")).await;
    assert_eq!(ended.status, 204, "{ended:?}");
    expect_ended(&mut on_lost, "session ended").await;
    expect_open(&mut on_kept).await;
    assert_refused(server.addr, &lost_token, Carry::Cookie).await;
    server.stop().await;
}

#[tokio::test]
async fn a_password_change_closes_the_other_sessions_sockets_and_keeps_its_own() {
    let (_db, server) = server().await;
    people::make_person(&people::admin(server.addr), "Ann").await;
    let changing = people::sign_in(server.addr, "Ann").await;
    let other = people::sign_in(server.addr, "Ann").await;
    let (changing_token, other_token) = (session_token(&changing), session_token(&other));
    let mut on_changing = open(server.addr, &changing_token, Carry::Cookie).await;
    let mut on_other = open(server.addr, &other_token, Carry::Cookie).await;
    on_changing.join("lobby").await;
    on_other.join("lobby").await;

    let changed = changing
        .post(
            "/api/me/password",
            &json!({"current_password": people::PASSWORD, "new_password": "another-password"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{changed:?}");
    expect_ended(&mut on_other, "session ended").await;
    // Ann's own socket is still served, and her session still works.
    expect_open(&mut on_changing).await;
    assert_eq!(changing.get("/api/me").await.status, 200);
    assert_refused(server.addr, &other_token, Carry::Cookie).await;
    let mut again = open(server.addr, &changing_token, Carry::Cookie).await;
    assert_eq!(again.join("side").await.name, "Ann");
    server.stop().await;
}

#[tokio::test]
async fn deactivating_an_account_closes_all_its_sockets() {
    let (_db, server) = server().await;
    let admin = people::admin(server.addr);
    let id = people::make_person(&admin, "Ann").await;
    let session = session_token(&people::sign_in(server.addr, "Ann").await);
    let token = people::sign_in(server.addr, "Ann")
        .await
        .post("/api/me/tokens", &json!({"name": "script"}))
        .await;
    assert_eq!(token.status, 201, "{token:?}");
    let token = token.str("/token");
    let mut in_browser = open(server.addr, &session, Carry::Cookie).await;
    let mut by_script = open(server.addr, &token, Carry::Bearer).await;
    in_browser.join("lobby").await;
    let mut bob = server.connect_as("Bob").await;
    bob.join("lobby").await;

    let off = admin
        .patch(
            &format!("/api/admin/accounts/{id}"),
            &json!({"state": "deactivated"}),
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    expect_ended(&mut in_browser, "account deactivated").await;
    expect_ended(&mut by_script, "account deactivated").await;
    // Bob sees her leave.
    loop {
        match bob.recv().await {
            ServerFrame::Presence { left, .. } if !left.is_empty() => break,
            ServerFrame::Presence { .. } => continue,
            other => panic!("expected Ann to leave, got {other:?}"),
        }
    }
    assert_eq!(bob.members_of("lobby"), ["Bob"]);
    assert_refused(server.addr, &session, Carry::Cookie).await;
    assert_refused(server.addr, &token, Carry::Bearer).await;
    server.stop().await;
}

#[tokio::test]
async fn revoking_an_api_token_closes_its_sockets_alone() {
    let (_db, server) = server().await;
    people::make_person(&people::admin(server.addr), "Ann").await;
    let ann = people::sign_in(server.addr, "Ann").await;
    let made = ann.post("/api/me/tokens", &json!({"name": "script"})).await;
    assert_eq!(made.status, 201, "{made:?}");
    let (id, token) = (made.u64("/info/id"), made.str("/token"));
    let mut by_script = open(server.addr, &token, Carry::Bearer).await;
    by_script.join("lobby").await;
    let mut in_browser = open(server.addr, &session_token(&ann), Carry::Cookie).await;

    let revoked = ann.delete(&format!("/api/me/tokens/{id}")).await;
    assert_eq!(revoked.status, 204, "{revoked:?}");
    expect_ended(&mut by_script, "token revoked").await;
    expect_open(&mut in_browser).await;
    assert_refused(server.addr, &token, Carry::Bearer).await;
    server.stop().await;
}

/// Reads `client`'s frames until a `presence` of `room` with an `updated`
/// person; returns the display names it updated.
async fn expect_updated(client: &mut Client, room: &str) -> Vec<String> {
    loop {
        match client.recv().await {
            ServerFrame::Presence {
                room: of, updated, ..
            } if of.as_str() == room && !updated.is_empty() => {
                return support::names(&updated);
            }
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => continue,
            other => panic!("expected an updated presence in {room}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_new_display_name_reaches_every_room_of_the_person() {
    let (_db, server) = server().await;
    people::make_person(&people::admin(server.addr), "Ann").await;
    let ann_api = people::sign_in(server.addr, "Ann").await;
    let mut ann = open(server.addr, &session_token(&ann_api), Carry::Cookie).await;
    ann.join("lobby").await;
    ann.join("side").await;
    let mut bob = server.connect_as("Bob").await;
    assert_eq!(bob.join("lobby").await.members, ["Ann", "Bob"]);
    let mut cid = server.connect_as("Cid").await;
    assert_eq!(cid.join("side").await.members, ["Ann", "Cid"]);

    let renamed = ann_api
        .patch("/api/me", &json!({"display_name": "Annie"}))
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(expect_updated(&mut bob, "lobby").await, ["Annie"]);
    assert_eq!(bob.members_of("lobby"), ["Annie", "Bob"]);
    assert_eq!(expect_updated(&mut cid, "side").await, ["Annie"]);
    assert_eq!(cid.members_of("side"), ["Annie", "Cid"]);

    // Her messages from now on carry the new name.
    ann.say("lobby", "renamed", Some("r1")).await;
    let message = bob.next_message().await;
    assert_eq!(
        (message.name.as_str(), message.text.as_str()),
        ("Annie", "renamed")
    );
    // A later join lists her under it, and so does a new connection of hers.
    let mut dan = server.connect_as("Dan").await;
    assert_eq!(dan.join("lobby").await.members, ["Annie", "Bob", "Dan"]);
    let mut again = open(server.addr, &session_token(&ann_api), Carry::Bearer).await;
    assert_eq!(again.join("side").await.name, "Annie");
    server.stop().await;
}

/// Reads `client`'s frames until the message of `nonce`; returns its text.
async fn message_of(client: &mut Client, nonce: &str) -> String {
    loop {
        match client.recv().await {
            ServerFrame::Message(message)
                if message.nonce.as_ref().map(|n| n.as_str()) == Some(nonce) =>
            {
                return message.text.to_string()
            }
            ServerFrame::Message(_) | ServerFrame::Presence { .. } => continue,
            other => panic!("expected the message of {nonce}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_connections_of_one_account_share_one_send_budget() {
    let db = TempDb::new();
    let server = TestServer::start_with(
        &db.path(),
        &[
            "--rate-limit-burst",
            "3",
            "--rate-limit-per-second",
            "0.001",
        ],
    )
    .await;
    // Three tabs of Ann's: each could post three on its own.
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let mut tab = server.connect_as("Ann").await;
        tab.join("lobby").await;
        tabs.push(tab);
    }
    let mut bob = server.connect_as("Bob").await;
    bob.join("lobby").await;

    for (i, tab) in tabs.iter_mut().enumerate() {
        let nonce = format!("a{i}");
        tab.say("lobby", &format!("ann {i}"), Some(&nonce)).await;
        assert_eq!(message_of(tab, &nonce).await, format!("ann {i}"));
    }
    // The first tab has two of its own left, but the account has none.
    tabs[0].say("lobby", "ann 3", Some("a3")).await;
    let refused = loop {
        match tabs[0].recv().await {
            ServerFrame::Error(error) => break error,
            ServerFrame::Message(_) | ServerFrame::Presence { .. } => continue,
            other => panic!("expected the refusal, got {other:?}"),
        }
    };
    assert_eq!(refused.code, common::ErrorCode::RateLimited);
    assert_eq!(refused.nonce.map(|n| n.to_string()), Some("a3".to_owned()));

    // Bob has his whole budget.
    for i in 0..3 {
        let nonce = format!("b{i}");
        bob.say("lobby", &format!("bob {i}"), Some(&nonce)).await;
        assert_eq!(message_of(&mut bob, &nonce).await, format!("bob {i}"));
    }
    let page: common::api::MessagePage = get_json(server.url("/api/rooms/lobby/messages")).await;
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        ["ann 0", "ann 1", "ann 2", "bob 0", "bob 1", "bob 2"]
    );
    server.stop().await;
}
