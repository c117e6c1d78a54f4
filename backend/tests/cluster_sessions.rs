//! Sessions and accounts across a cluster (`--cluster`, a real Redis and
//! two instances on one PostgreSQL database): an account change made on
//! one instance reaches the sockets of the other, through the channel
//! `chat:accounts` (backend/src/cluster/accounts.rs). A session ended on
//! instance A closes its socket on instance B with code 4001, and so do
//! an account deactivated and an API token revoked on A; a display name
//! changed on A shows on B as an `updated` presence and in B's member
//! lists. The single server's counterparts are in tests/sessions.rs.

mod support;

use common::{CloseCode, ServerFrame};
use serde_json::json;
use std::collections::BTreeSet;
use support::broker::two_instances;
use support::people::{self, assert_refused, open, session_token, Carry};
use support::Client;

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

/// The names, as a set: a cluster's member lists put each instance's
/// members together, not everyone in the order of joining
/// (tests/cluster.rs compares them so too).
fn set<S: AsRef<str>>(names: &[S]) -> BTreeSet<String> {
    names.iter().map(|name| name.as_ref().to_owned()).collect()
}

#[tokio::test]
async fn a_session_ended_on_one_instance_closes_its_socket_on_the_other() {
    let (_dir, _broker, a, b) = two_instances().await;
    people::make_person(&people::admin(a.addr), "Ann").await;
    let ann = people::sign_in(a.addr, "Ann").await;
    let token = session_token(&ann);
    let mut on_b = open(b.addr, &token, Carry::Cookie).await;
    on_b.join("lobby").await;
    let mut kept_on_b = open(
        b.addr,
        &session_token(&people::sign_in(b.addr, "Ann").await),
        Carry::Bearer,
    )
    .await;

    let out = ann.delete("/api/session").await;
    assert_eq!(out.status, 204, "{out:?}");
    assert_eq!(
        on_b.expect_close().await,
        (CloseCode::SessionEnded.code(), "session ended".to_owned())
    );
    kept_on_b.round_trip().await;
    assert_refused(b.addr, &token, Carry::Cookie).await;
    assert_refused(a.addr, &token, Carry::Bearer).await;
}

#[tokio::test]
async fn an_account_deactivated_on_one_instance_is_closed_on_the_other() {
    let (_dir, _broker, a, b) = two_instances().await;
    let admin = people::admin(a.addr);
    let id = people::make_person(&admin, "Ann").await;
    let session = session_token(&people::sign_in(b.addr, "Ann").await);
    let made = people::sign_in(b.addr, "Ann")
        .await
        .post("/api/me/tokens", &json!({"name": "script"}))
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let token = made.str("/token");
    let mut in_browser = open(b.addr, &session, Carry::Cookie).await;
    in_browser.join("lobby").await;
    let mut by_script = open(b.addr, &token, Carry::Bearer).await;
    by_script.join("lobby").await;

    let off = admin
        .patch(
            &format!("/api/admin/accounts/{id}"),
            &json!({"state": "deactivated"}),
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    let ended = (
        CloseCode::SessionEnded.code(),
        "account deactivated".to_owned(),
    );
    assert_eq!(in_browser.expect_close().await, ended);
    assert_eq!(by_script.expect_close().await, ended);
    assert_refused(b.addr, &session, Carry::Cookie).await;
    assert_refused(b.addr, &token, Carry::Bearer).await;
}

#[tokio::test]
async fn an_api_token_revoked_on_one_instance_is_closed_on_the_other() {
    let (_dir, _broker, a, b) = two_instances().await;
    people::make_person(&people::admin(a.addr), "Ann").await;
    let ann = people::sign_in(a.addr, "Ann").await;
    let made = ann.post("/api/me/tokens", &json!({"name": "script"})).await;
    assert_eq!(made.status, 201, "{made:?}");
    let (id, token) = (made.u64("/info/id"), made.str("/token"));
    let mut by_script = open(b.addr, &token, Carry::Bearer).await;
    by_script.join("lobby").await;
    let mut in_browser = open(b.addr, &session_token(&ann), Carry::Cookie).await;
    in_browser.join("lobby").await;

    let revoked = ann.delete(&format!("/api/me/tokens/{id}")).await;
    assert_eq!(revoked.status, 204, "{revoked:?}");
    assert_eq!(
        by_script.expect_close().await,
        (CloseCode::SessionEnded.code(), "token revoked".to_owned())
    );
    // The session of the same account is not the token: its socket stays.
    in_browser.round_trip().await;
    assert_refused(b.addr, &token, Carry::Bearer).await;
}

#[tokio::test]
async fn a_rename_on_one_instance_shows_on_the_other() {
    let (_dir, _broker, a, b) = two_instances().await;
    people::make_person(&people::admin(a.addr), "Ann").await;
    let ann_api = people::sign_in(a.addr, "Ann").await;
    let mut ann = open(a.addr, &session_token(&ann_api), Carry::Cookie).await;
    ann.join("lobby").await;
    let mut bob = b.connect_as("Bob").await;
    assert_eq!(set(&bob.join("lobby").await.members), set(&["Ann", "Bob"]));

    let renamed = ann_api
        .patch("/api/me", &json!({"display_name": "Annie"}))
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(expect_updated(&mut bob, "lobby").await, ["Annie"]);
    assert_eq!(set(&bob.members_of("lobby")), set(&["Annie", "Bob"]));
    // B's own member list of the room has the new name: a join there.
    let mut cid = b.connect_as("Cid").await;
    assert_eq!(
        set(&cid.join("lobby").await.members),
        set(&["Annie", "Bob", "Cid"])
    );
    // And her messages from A carry it to B.
    ann.say("lobby", "renamed", None).await;
    assert_eq!(bob.next_message().await.name.as_str(), "Annie");
}
