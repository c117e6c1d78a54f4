//! The accounts' HTTP API on a real server (real TCP, a real SQLite file
//! or PostgreSQL database): the first-run setup, signing in and out,
//! throttled guessing, sign-up modes, invites, reset links, passwords,
//! profiles and their events, deactivation, bots and tokens, posting over
//! HTTP, and the check against cross-site request forgery.

mod support;

use chat_server::accounts::AccountEvent;
use serde_json::json;
use std::time::Duration;
use support::accounts::{setup_token_of, Api};
use support::process::ServerProcess;
use support::{TempDb, TestServer};

const ADMIN_PASSWORD: &str = "admin-password";
const MEMBER_PASSWORD: &str = "member-password";

/// A server with no account yet, and its administrator made with a setup
/// link: the server, the administrator's client.
async fn server_with_admin(flags: &[&str]) -> (TempDb, TestServer, Api) {
    let db = TempDb::new();
    let server = TestServer::start_bare(&db.path(), flags).await;
    let link = accounts(&server)
        .setup_link_if_needed()
        .await
        .expect("answers")
        .expect("no account yet");
    let token = setup_token_of(&link).expect("a setup link");
    let answer = Api::new(server.addr)
        .post(
            "/api/setup",
            &json!({
                "token": token,
                "username": "root",
                "display_name": "Root",
                "password": ADMIN_PASSWORD,
            }),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.str("/me/role"), "admin");
    let session = answer.session().expect("a cookie");
    // The administrator makes the accounts the tests' WebSocket clients
    // connect as (see `support::accounts::token_for`).
    support::accounts::register(server.addr, session.clone());
    let admin = Api::new(server.addr).with_session(&session);
    (db, server, admin)
}

fn accounts(server: &TestServer) -> &chat_server::accounts::Accounts {
    server.accounts.as_ref().expect("the server started")
}

/// A member made by `admin`, signed in.
async fn member(admin: &Api, username: &str) -> (u64, Api) {
    let made = admin
        .post(
            "/api/admin/accounts",
            &json!({
                "username": username,
                "display_name": username,
                "kind": "person",
                "role": "member",
                "password": MEMBER_PASSWORD,
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let session = Api::new(admin.addr)
        .sign_in(username, MEMBER_PASSWORD)
        .await
        .expect("signs in");
    (made.u64("/id"), session)
}

/// The next event, within a while.
async fn next_event(events: &mut tokio::sync::broadcast::Receiver<AccountEvent>) -> AccountEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event in time")
        .expect("an event")
}

#[test]
fn the_first_start_prints_a_setup_link_that_works_once_and_each_start_makes_a_new_one() {
    let db = TempDb::new();
    let first = ServerProcess::start_bare(&db.path(), &[]);
    let line = first.wait_for_printed("First start: open");
    assert!(
        line.contains(&format!("http://{}/#/setup/", first.addr)),
        "{line}"
    );
    assert!(line.ends_with("to create the administrator account (the link works once)."));
    let old = setup_token_of(&line).expect("a token");
    assert!(
        first.log_lines().iter().all(|log| !log.contains(&old)),
        "the token is never logged"
    );
    first.terminate();
    let second = ServerProcess::start_bare(&db.path(), &[]);
    let new = setup_token_of(&second.wait_for_printed("First start: open")).expect("a token");
    assert_ne!(old, new);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let api = Api::new(second.addr);
        let info = api.get("/api/server").await;
        assert_eq!(info.status, 200);
        assert_eq!(info.body["setup_needed"], true);
        assert_eq!(info.body["signup"], "invite");
        let setup = |token: String| {
            json!({
                "token": token,
                "username": "Root",
                "display_name": "Root",
                "password": ADMIN_PASSWORD,
            })
        };
        // The older link was revoked by the second start.
        let refused = api.post("/api/setup", &setup(old)).await;
        assert_eq!((refused.status, refused.code()), (410, "link_invalid"));
        let made = api.post("/api/setup", &setup(new.clone())).await;
        assert_eq!(made.status, 200, "{made:?}");
        assert_eq!(made.str("/me/username"), "root");
        assert!(made.session().is_some());
        let again = api.post("/api/setup", &setup(new)).await;
        assert_eq!((again.status, again.code()), (410, "link_invalid"));
        assert_eq!(api.get("/api/server").await.body["setup_needed"], false);
    });
    second.terminate();
    // With an account, a start prints no link.
    let third = ServerProcess::start_bare(&db.path(), &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        third.printed_lines().is_empty(),
        "{:?}",
        third.printed_lines()
    );
    third.terminate();
}

#[tokio::test]
async fn signing_in_sets_the_session_cookie_and_signing_out_clears_it() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    member(&admin, "ann").await;
    let api = Api::new(server.addr);
    let answer = api
        .post(
            "/api/session",
            &json!({"username": "ANN", "password": MEMBER_PASSWORD}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.str("/me/username"), "ann");
    let cookie = answer.set_cookie().expect("a cookie");
    for attribute in ["Max-Age=2592000", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let ann = api.with_session(&answer.session().expect("a token"));
    assert_eq!(ann.get("/api/me").await.str("/display_name"), "ann");
    let sessions = ann.get("/api/me/sessions").await;
    assert_eq!(sessions.body.as_array().expect("a list").len(), 2);
    let mut events = accounts(&server).subscribe();
    let out = ann.delete("/api/session").await;
    assert_eq!(out.status, 204);
    assert!(out.set_cookie().expect("cleared").contains("Max-Age=0"));
    assert!(
        matches!(next_event(&mut events).await, AccountEvent::SessionsEnded(ended) if ended.len() == 1)
    );
    let gone = ann.get("/api/me").await;
    assert_eq!((gone.status, gone.code()), (401, "unauthenticated"));
    server.stop().await;
}

#[tokio::test]
async fn secure_cookies_are_forced_by_the_flag() {
    let (_db, server, admin) = server_with_admin(&["--secure-cookies"]).await;
    member(&admin, "ann").await;
    let answer = Api::new(server.addr)
        .post(
            "/api/session",
            &json!({"username": "ann", "password": MEMBER_PASSWORD}),
        )
        .await;
    assert!(answer.set_cookie().expect("a cookie").ends_with("; Secure"));
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_is_explained_and_guessing_is_throttled() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    member(&admin, "ann").await;
    let api = Api::new(server.addr);
    let attempt = |username: &'static str, password: &'static str| {
        let api = api.clone();
        async move {
            api.post(
                "/api/session",
                &json!({"username": username, "password": password}),
            )
            .await
        }
    };
    let wrong = attempt("ann", "not-her-password").await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!(wrong.str("/message"), "wrong username or password");
    // An unknown username gets the very same answer.
    let unknown = attempt("nobody-here", "not-her-password").await;
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.body, wrong.body);
    // Five failures per username (throttle::ACCOUNT_FAILURES) in 15
    // minutes: then refused, even with the right password.
    for _ in 1..5 {
        assert_eq!(attempt("ann", "not-her-password").await.status, 401);
    }
    for password in ["not-her-password", MEMBER_PASSWORD] {
        let refused = attempt("ann", password).await;
        assert_eq!((refused.status, refused.code()), (429, "rate_limited"));
        let retry: u64 = refused.headers["retry-after"]
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("seconds");
        // The 15-minute window, counted in whole seconds rounded up.
        assert!((1..=901).contains(&retry), "{retry}");
    }
    // Unknown usernames are throttled alike.
    for _ in 1..5 {
        assert_eq!(attempt("nobody-here", "guess").await.status, 401);
    }
    assert_eq!(attempt("nobody-here", "guess").await.status, 429);
    // Another account is not affected.
    assert!(api.sign_in("root", ADMIN_PASSWORD).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn sign_up_follows_the_signup_mode() {
    let body = |invite: Option<&str>| {
        json!({
            "invite": invite,
            "username": "newcomer",
            "display_name": "Newcomer",
            "password": "newcomer-password",
        })
    };
    for (mode, status, code) in [
        ("open", 200, ""),
        ("closed", 403, "signup_closed"),
        ("invite", 403, "signup_closed"),
    ] {
        let (_db, server, _admin) = server_with_admin(&["--signup", mode]).await;
        let api = Api::new(server.addr);
        assert_eq!(api.get("/api/server").await.body["signup"], mode);
        let answer = api.post("/api/signup", &body(None)).await;
        assert_eq!((answer.status, answer.code()), (status, code), "{mode}");
        if mode == "open" {
            assert_eq!(answer.str("/me/role"), "member");
            let taken = api.post("/api/signup", &body(None)).await;
            assert_eq!((taken.status, taken.code()), (409, "username_taken"));
        }
        if mode == "invite" {
            let bogus = api.post("/api/signup", &body(Some("not-a-token"))).await;
            assert_eq!((bogus.status, bogus.code()), (410, "link_invalid"));
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn invites_have_uses_an_expiry_and_can_be_revoked() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let api = Api::new(server.addr);
    let invite = |body: serde_json::Value| {
        let admin = admin.clone();
        async move {
            let made = admin.post("/api/admin/invites", &body).await;
            assert_eq!(made.status, 201, "{made:?}");
            let link = made.str("/link");
            assert!(
                link.starts_with(&format!("http://{}/#/invite/", admin.addr)),
                "{link}"
            );
            let token = link.rsplit('/').next().expect("a token").to_owned();
            (made.u64("/id"), token)
        }
    };
    let sign_up = |token: String, username: &'static str| {
        let api = api.clone();
        async move {
            api.post(
                "/api/signup",
                &json!({
                    "invite": token,
                    "username": username,
                    "display_name": username,
                    "password": "a-good-password",
                }),
            )
            .await
        }
    };
    // Two uses.
    let (_, two) = invite(json!({"max_uses": 2})).await;
    assert_eq!(sign_up(two.clone(), "first").await.status, 200);
    // A failed sign-up (a taken username) uses nothing.
    assert_eq!(sign_up(two.clone(), "first").await.status, 409);
    assert_eq!(sign_up(two.clone(), "second").await.status, 200);
    let used_up = sign_up(two, "third").await;
    assert_eq!((used_up.status, used_up.code()), (410, "link_invalid"));
    // Expired.
    let (_, brief) = invite(json!({"expires_in_secs": 1})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sign_up(brief, "late").await.status, 410);
    // Revoked.
    let (id, revoked) = invite(json!({})).await;
    assert_eq!(
        admin
            .delete(&format!("/api/admin/invites/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        admin
            .delete(&format!("/api/admin/invites/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(sign_up(revoked, "too-late").await.status, 410);
    let listed = admin.get("/api/admin/invites").await;
    let listed = listed.body.as_array().expect("a list");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["uses"], 2);
    assert_eq!(listed[0]["max_uses"], 2);
    assert_eq!(listed[2]["revoked"], true);
    assert!(listed.iter().all(|invite| invite.get("token").is_none()));
    server.stop().await;
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let (ann_id, ann) = member(&admin, "ann").await;
    let made = admin
        .post(
            &format!("/api/admin/accounts/{ann_id}/reset-link"),
            &json!({}),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let link = made.str("/link");
    assert!(link.contains("/#/reset/"), "{link}");
    let token = link.rsplit('/').next().expect("a token").to_owned();
    let api = Api::new(server.addr);
    let weak = api
        .post(
            "/api/password-reset",
            &json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!((weak.status, weak.code()), (400, "invalid_password"));
    let mut events = accounts(&server).subscribe();
    let reset = api
        .post(
            "/api/password-reset",
            &json!({"token": token, "password": "a-new-password"}),
        )
        .await;
    assert_eq!(reset.status, 204, "{reset:?}");
    assert!(
        matches!(next_event(&mut events).await, AccountEvent::SessionsEnded(ended) if ended.len() == 1)
    );
    assert_eq!(ann.get("/api/me").await.status, 401);
    assert!(api.sign_in("ann", MEMBER_PASSWORD).await.is_err());
    assert!(api.sign_in("ann", "a-new-password").await.is_ok());
    let again = api
        .post(
            "/api/password-reset",
            &json!({"token": token, "password": "another-password"}),
        )
        .await;
    assert_eq!((again.status, again.code()), (410, "link_invalid"));
    server.stop().await;
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let (_, here) = member(&admin, "ann").await;
    let elsewhere = Api::new(server.addr)
        .sign_in("ann", MEMBER_PASSWORD)
        .await
        .expect("signs in");
    let wrong = here
        .post(
            "/api/me/password",
            &json!({"current_password": "not-it-at-all", "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    let mut events = accounts(&server).subscribe();
    let changed = here
        .post(
            "/api/me/password",
            &json!({"current_password": MEMBER_PASSWORD, "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{changed:?}");
    assert!(
        matches!(next_event(&mut events).await, AccountEvent::SessionsEnded(ended) if ended.len() == 1)
    );
    assert_eq!(here.get("/api/me").await.status, 200);
    assert_eq!(elsewhere.get("/api/me").await.status, 401);
    let sessions = here.get("/api/me/sessions").await;
    let sessions = sessions.body.as_array().expect("a list");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
    server.stop().await;
}

#[tokio::test]
async fn ending_a_session_from_the_list_signs_that_device_out() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let (_, here) = member(&admin, "ann").await;
    let other = Api::new(server.addr)
        .sign_in("ann", MEMBER_PASSWORD)
        .await
        .expect("signs in");
    let sessions = here.get("/api/me/sessions").await;
    let other_id = sessions
        .body
        .as_array()
        .expect("a list")
        .iter()
        .find(|session| session["current"] == false)
        .expect("the other session")["id"]
        .as_u64()
        .expect("an id");
    // Another account's session is not found from here.
    assert_eq!(
        admin
            .delete(&format!("/api/me/sessions/{other_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        here.delete(&format!("/api/me/sessions/{other_id}"))
            .await
            .status,
        204
    );
    assert_eq!(other.get("/api/me").await.status, 401);
    assert_eq!(here.get("/api/me").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_display_name_change_publishes_its_event() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let (ann_id, ann) = member(&admin, "ann").await;
    let mut events = accounts(&server).subscribe();
    let changed = ann
        .patch("/api/me", &json!({"display_name": "Ann Example"}))
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.str("/display_name"), "Ann Example");
    match next_event(&mut events).await {
        AccountEvent::ProfileChanged { user, display_name } => {
            assert_eq!(user, ann_id);
            assert_eq!(display_name.as_str(), "Ann Example");
        }
        other => panic!("{other:?}"),
    }
    let invalid = ann.patch("/api/me", &json!({"display_name": ""})).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(ann.get("/api/me").await.str("/display_name"), "Ann Example");
    server.stop().await;
}

#[tokio::test]
async fn a_deactivated_account_cannot_sign_in_and_its_sessions_and_tokens_end() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let (ann_id, ann) = member(&admin, "ann").await;
    let token = ann
        .post("/api/me/tokens", &json!({"name": "script"}))
        .await
        .str("/token");
    let script = ann.with_bearer(&token);
    assert_eq!(script.get("/api/me").await.status, 200);
    let mut events = accounts(&server).subscribe();
    let path = format!("/api/admin/accounts/{ann_id}");
    let off = admin.patch(&path, &json!({"state": "deactivated"})).await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.str("/state"), "deactivated");
    // The deactivation first: her sockets close saying so (tests/sessions.rs).
    assert_eq!(
        next_event(&mut events).await,
        AccountEvent::AccountDeactivated(ann_id)
    );
    assert!(
        matches!(next_event(&mut events).await, AccountEvent::SessionsEnded(ended) if ended.len() == 1)
    );
    assert_eq!(ann.get("/api/me").await.status, 401);
    assert_eq!(script.get("/api/me").await.status, 401);
    let refused = Api::new(server.addr)
        .sign_in("ann", MEMBER_PASSWORD)
        .await
        .expect_err("refused");
    assert_eq!(
        (refused.status, refused.code()),
        (401, "invalid_credentials")
    );
    // Reactivated: the password and the token work again.
    let on = admin.patch(&path, &json!({"state": "active"})).await;
    assert_eq!(on.str("/state"), "active");
    assert!(Api::new(server.addr)
        .sign_in("ann", MEMBER_PASSWORD)
        .await
        .is_ok());
    assert_eq!(script.get("/api/me").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_last_active_administrator_stays_one() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let me = admin.get("/api/me").await.u64("/id");
    let path = format!("/api/admin/accounts/{me}");
    for change in [json!({"role": "member"}), json!({"state": "deactivated"})] {
        let refused = admin.patch(&path, &change).await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "forbidden"),
            "{change}"
        );
    }
    // With a second administrator, the first may step down.
    let (ann_id, _) = member(&admin, "ann").await;
    let promoted = admin
        .patch(
            &format!("/api/admin/accounts/{ann_id}"),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(promoted.str("/role"), "admin");
    let stepped_down = admin.patch(&path, &json!({"role": "member"})).await;
    assert_eq!(stepped_down.str("/role"), "member");
    assert_eq!(admin.get("/api/admin/accounts").await.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn bots_use_tokens_never_passwords() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let bot = |password: Option<&str>| {
        json!({
            "username": "deploy-bot",
            "display_name": "Deploy",
            "kind": "bot",
            "role": "member",
            "password": password,
        })
    };
    let refused = admin
        .post("/api/admin/accounts", &bot(Some("a-password")))
        .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    let made = admin.post("/api/admin/accounts", &bot(None)).await;
    assert_eq!(made.status, 201, "{made:?}");
    let bot_id = made.u64("/id");
    // No password to sign in with, and none to reset.
    assert!(Api::new(server.addr)
        .sign_in("deploy-bot", "")
        .await
        .is_err());
    let reset = admin
        .post(
            &format!("/api/admin/accounts/{bot_id}/reset-link"),
            &json!({}),
        )
        .await;
    assert_eq!(reset.status, 400);
    let tokens = format!("/api/admin/accounts/{bot_id}/tokens");
    let created = admin.post(&tokens, &json!({"name": "ci"})).await;
    assert_eq!(created.status, 201, "{created:?}");
    let token = created.str("/token");
    assert!(token.starts_with("chat_"), "{token}");
    let token_id = created.u64("/info/id");
    let listed = admin.get(&tokens).await;
    assert_eq!(listed.body.as_array().expect("a list").len(), 1);
    assert!(listed.body[0].get("token").is_none());
    let script = Api::new(server.addr).with_bearer(&token);
    let me = script.get("/api/me").await;
    assert_eq!((me.status, me.str("/kind")), (200, "bot".to_owned()));
    // A bot makes no tokens of its own and has no password to change.
    assert_eq!(
        script
            .post("/api/me/tokens", &json!({"name": "x"}))
            .await
            .status,
        403
    );
    let change = script
        .post(
            "/api/me/password",
            &json!({"current_password": "whatever-it-is", "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!(change.status, 403);
    // A person's tokens are theirs: administrators manage bots' only.
    let me_id = admin.get("/api/me").await.u64("/id");
    let person_tokens = admin
        .get(&format!("/api/admin/accounts/{me_id}/tokens"))
        .await;
    assert_eq!(person_tokens.status, 403);
    let mut events = accounts(&server).subscribe();
    assert_eq!(
        admin.delete(&format!("{tokens}/{token_id}")).await.status,
        204
    );
    assert_eq!(
        next_event(&mut events).await,
        AccountEvent::ApiTokenRevoked(token_id)
    );
    assert_eq!(script.get("/api/me").await.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_post_with_a_nonce_sent_twice_is_stored_once_and_broadcast() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let made = admin
        .post(
            "/api/admin/accounts",
            &json!({"username": "hook", "display_name": "Webhook", "kind": "bot", "role": "member"}),
        )
        .await;
    let bot_id = made.u64("/id");
    let token = admin
        .post(
            &format!("/api/admin/accounts/{bot_id}/tokens"),
            &json!({"name": "hook"}),
        )
        .await
        .str("/token");
    let hook = Api::new(server.addr).with_bearer(&token);
    let mut reader = server.connect_as("Reader").await;
    reader.join("lobby").await;
    let message = json!({"text": "deployed 1.2.3", "nonce": "deploy-123"});
    let first = hook.post("/api/rooms/lobby/messages", &message).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.body["repeat"], false);
    let seen = reader.next_message().await;
    assert_eq!(seen.id, first.u64("/id"));
    assert_eq!(seen.name.as_str(), "Webhook");
    assert_eq!(seen.text.as_str(), "deployed 1.2.3");
    let second = hook.post("/api/rooms/lobby/messages", &message).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(second.body["repeat"], true);
    assert_eq!(second.u64("/id"), first.u64("/id"));
    reader.expect_silence().await;
    let page = hook.get("/api/rooms/lobby/messages").await;
    assert_eq!(page.body["messages"].as_array().expect("a list").len(), 1);
    // A session may post too (with the page's Origin); bad input is refused.
    let bad_room = admin
        .post(
            "/api/rooms/Not%20A%20Room/messages",
            &json!({"text": "x", "nonce": "n-1"}),
        )
        .await;
    assert_eq!((bad_room.status, bad_room.code()), (400, "invalid_room"));
    let posted = admin
        .post(
            "/api/rooms/lobby/messages",
            &json!({"text": "hello", "nonce": "n-1"}),
        )
        .await;
    assert_eq!(posted.status, 201, "{posted:?}");
    let anonymous = Api::new(server.addr)
        .post(
            "/api/rooms/lobby/messages",
            &json!({"text": "x", "nonce": "n-2"}),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn state_changing_requests_need_an_allowed_origin_and_json() {
    let (_db, server, admin) = server_with_admin(&[]).await;
    let sign_in = json!({"username": "root", "password": ADMIN_PASSWORD});
    let api = Api::new(server.addr);
    for origin in [Some("http://evil.example"), None, Some("null")] {
        let refused = api.with_origin(origin).post("/api/session", &sign_in).await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "forbidden"),
            "{origin:?}"
        );
        let refused = admin
            .with_origin(origin)
            .patch("/api/me", &json!({"display_name": "Forged"}))
            .await;
        assert_eq!(refused.status, 403, "{origin:?}");
    }
    // A form or text body is refused whatever its origin.
    let form = reqwest::Client::new()
        .post(api.url("/api/session"))
        .header("origin", format!("http://{}", server.addr))
        .header("content-type", "text/plain")
        .body(sign_in.to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(form.status(), 415);
    // The page's own origin, and an allowed one, pass.
    assert!(api.sign_in("root", ADMIN_PASSWORD).await.is_ok());
    assert_eq!(admin.get("/api/me").await.str("/display_name"), "Root");
    // A bearer token needs no Origin, but JSON still.
    let token = admin
        .post("/api/me/tokens", &json!({"name": "script"}))
        .await
        .str("/token");
    let script = api.with_bearer(&token);
    assert_eq!(
        script
            .patch("/api/me", &json!({"display_name": "Scripted"}))
            .await
            .status,
        200
    );
    let text = reqwest::Client::new()
        .patch(api.url("/api/me"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(r#"{"display_name":"Text"}"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(text.status(), 415);
    server.stop().await;
}

#[tokio::test]
async fn an_allowed_origin_may_sign_in() {
    let (_db, server, _admin) =
        server_with_admin(&["--allowed-origin", "http://127.0.0.1:8081"]).await;
    let api = Api::new(server.addr).with_origin(Some("http://127.0.0.1:8081"));
    assert!(api.sign_in("root", ADMIN_PASSWORD).await.is_ok());
    server.stop().await;
}
