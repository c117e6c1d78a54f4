//! Accounts in real headless Chromium against the real release server:
//! the first-run setup through the page, an invite used by a second
//! person in another browser, the two chatting, signing out, a
//! deactivated person's page signed out, a session that ended while the
//! page was offline (what was written survives), a wrong password in
//! words, and signing in from the keyboard alone.

mod support;

use fantoccini::Locator;
use serde_json::json;
use support::accounts::{self, PASSWORD};
use support::keyboard::{ENTER, TAB};
use support::{eventually, Driver, Page, Server, QUIET};

#[tokio::test]
async fn the_first_run_setup_makes_the_administrator_and_opens_the_chat() {
    let server = Server::start_empty(&[]).await;
    let driver = Driver::start().await;
    // Before setup, the sign-in page says where accounts come from.
    let early = Page::first_visit(&driver, &server, "Ann", "lobby").await;
    eventually("the sign-in page to point to the setup link", || async {
        let offer = early.client.find(Locator::Css(".offer")).await.ok()?;
        let text = offer.text().await.ok()?;
        text.contains("setup link").then_some(())
    })
    .await;
    early.close().await;

    let (width, height) = support::emulation::DESKTOP;
    let client = driver.browser(width, height).await;
    client
        .goto(&server.setup_url().await)
        .await
        .expect("open the setup link");
    let ann = Page {
        client,
        name: "Ann".to_owned(),
    };
    ann.fill_new_account("Ann").await;
    // Signed in by the setup itself: the chat opens, in the lobby.
    ann.wait_for("textarea[aria-label='Message']").await;
    ann.wait_until_connected().await;
    ann.wait_for_members(json!(["Ann"])).await;
    let me = ann
        .find(".me-name strong")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(me, "Ann");
    ann.send("the first message").await;
    ann.wait_for_message("the first message").await;
    // The link works once.
    let again = accounts::request(
        server.addr,
        "POST",
        "/api/setup",
        None,
        Some(&json!({
            "token": server.setup_token().await,
            "username": "mallory",
            "display_name": "Mallory",
            "password": PASSWORD,
        })),
    )
    .await;
    assert_eq!(again.status, 410, "{again:?}");
    ann.close().await;
}

#[tokio::test]
async fn an_invite_brings_a_second_person_from_another_browser_and_they_chat() {
    let server = Server::start_with_people(&[], &["Ann"]).await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let admin = server.session_of("Ann").await;
    let token = accounts::create_invite(server.addr, &admin).await;

    // Eve, in a browser of her own (a fresh profile), opens the link.
    let client = driver.browser(1100, 850).await;
    client
        .goto(&format!("http://{}/#/invite/{token}", server.addr))
        .await
        .expect("open the invite link");
    let eve = Page {
        client,
        name: "Eve".to_owned(),
    };
    eve.fill_new_account("Eve").await;
    eve.wait_for("textarea[aria-label='Message']").await;
    eve.wait_until_connected().await;
    ann.wait_for_members(json!(["Ann", "Eve"])).await;
    eve.wait_for_members(json!(["Ann", "Eve"])).await;

    ann.send("welcome, Eve").await;
    eve.wait_for_message("welcome, Eve").await;
    eve.send("thanks, Ann").await;
    ann.wait_for_message("thanks, Ann").await;
    for page in [&ann, &eve] {
        let rows = page
            .eval(
                "return Array.from(document.querySelectorAll('[role=log] .msg'))\
                 .map(e => [e.querySelector('.author').textContent, e.classList.contains('own')])",
            )
            .await;
        let own_first = page.name == "Ann";
        assert_eq!(
            rows,
            json!([["Ann", own_first], ["Eve", !own_first]]),
            "{}",
            page.name
        );
    }
    // The invite was for one account.
    let used = accounts::request(
        server.addr,
        "POST",
        "/api/signup",
        None,
        Some(&json!({
            "invite": token,
            "username": "mallory",
            "display_name": "Mallory",
            "password": PASSWORD,
        })),
    )
    .await;
    assert_eq!(used.status, 410, "{used:?}");
    ann.close().await;
    eve.close().await;
}

#[tokio::test]
async fn signing_out_ends_that_pages_websocket() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    bob.wait_for_members(json!(["Ann", "Bob"])).await;

    let button = ann.find("#sign-out").await;
    let (name, role) = ann.accessibility("#sign-out").await;
    assert_eq!((name.as_str(), role.as_str()), ("Sign out", "button"));
    button.click().await.expect("sign out");
    ann.wait_for("#username").await;
    // Ann's connection is gone: Bob sees her leave.
    bob.wait_for_members(json!(["Bob"])).await;
    // And the session with it: a reload stays at sign-in, saying nothing
    // about a session that ended (she ended it).
    ann.client.refresh().await.expect("reload");
    ann.wait_for("#username").await;
    tokio::time::sleep(QUIET).await;
    assert!(ann
        .client
        .find(Locator::Css("textarea[aria-label='Message']"))
        .await
        .is_err());
    assert!(ann.client.find(Locator::Css(".banner")).await.is_err());
    // Signing in again opens the room she was in.
    ann.sign_in().await;
    bob.wait_for_members(json!(["Bob", "Ann"])).await;
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_deactivated_persons_open_page_is_signed_out() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    let bob_session = server.session_of("Bob").await;
    let bob_id = accounts::user_id(server.addr, &bob_session).await;
    let admin = server.session_of("Ann").await;

    accounts::deactivate(server.addr, &admin, bob_id).await;
    bob.wait_for("#username").await;
    let banner = bob.find(".banner").await.text().await.expect("text");
    assert!(banner.contains("Your session ended"), "{banner}");
    ann.wait_for_members(json!(["Ann"])).await;
    // He cannot sign in again.
    bob.sign_in_with("bob", PASSWORD).await;
    let alert = bob.form_alert().await;
    assert!(
        alert.contains("Wrong username or password"),
        "said in words: {alert}"
    );
    assert!(bob
        .client
        .find(Locator::Css("textarea[aria-label='Message']"))
        .await
        .is_err());
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn what_was_written_survives_a_session_that_ended_offline_and_goes_out_once() {
    let mut server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;

    server.stop().await;
    bob.wait_for_status("Offline").await;
    let queued = "written while the server was away";
    bob.send(queued).await;
    bob.wait_for_message(queued).await;
    bob.find("textarea[aria-label='Message']")
        .await
        .send_keys("half a thought")
        .await
        .expect("type a draft");
    // Meanwhile Bob's sessions end (deactivated and reactivated from the
    // shell, which the stopped server lets open its database).
    server.admin(&["deactivate", "bob"]);
    server.admin(&["reactivate", "bob"]);
    server.restart().await;

    // His page learns it at its next connection attempt.
    bob.wait_for("#username").await;
    let banner = bob.find(".banner").await.text().await.expect("text");
    assert!(banner.contains("what you wrote is kept"), "{banner}");
    bob.sign_in().await;
    ann.wait_for_message(queued).await;
    let draft = bob
        .find("textarea[aria-label='Message']")
        .await
        .prop("value")
        .await
        .expect("the draft");
    assert_eq!(draft.as_deref(), Some("half a thought"));

    // Once, also a moment later and after a reload (which keeps the draft).
    tokio::time::sleep(QUIET).await;
    assert_eq!(ann.count(queued).await, 1);
    bob.client.refresh().await.expect("reload");
    bob.wait_for_message(queued).await;
    assert_eq!(bob.count(queued).await, 1);
    let draft = bob
        .wait_for("textarea[aria-label='Message']")
        .await
        .prop("value")
        .await
        .expect("the draft");
    assert_eq!(draft.as_deref(), Some("half a thought"));
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_wrong_password_is_explained_in_words() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::first_visit(&driver, &server, "Ann", "lobby").await;
    ann.sign_in_with("ann", "not the password").await;
    assert_eq!(ann.form_alert().await, "Wrong username or password.");
    // The password is cleared and focused for the next try; the username
    // stays.
    ann.wait_for_focus("#password").await;
    let value = |css: &'static str| {
        let ann = &ann;
        async move { ann.find(css).await.prop("value").await.expect("value") }
    };
    assert_eq!(value("#password").await.as_deref(), Some(""));
    assert_eq!(value("#username").await.as_deref(), Some("ann"));
    // An unknown username gets the same words.
    ann.sign_in_with("nobody", "not the password").await;
    eventually("the same words for an unknown username", || async {
        let text = ann.find("form [role=alert]").await.text().await.ok()?;
        let status = ann.find("form [role=status]").await.text().await.ok()?;
        (text == "Wrong username or password." && status.is_empty()).then_some(())
    })
    .await;
    // Empty fields are asked for at the field, before anything is sent.
    // (Emptied as typing does: WebDriver's clear sends no `input` event.)
    ann.eval(
        "const u = document.querySelector('#username'); u.value = ''; \
         u.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    .await;
    ann.press_enter("#password").await;
    let error = ann.field_problem("username").await;
    assert_eq!(error, "Type your username.");
    ann.close().await;
}

#[tokio::test]
async fn signing_in_works_from_the_keyboard_alone() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::first_visit(&driver, &server, "Ann", "lobby").await;
    // The focus starts in the first field; the fields have their labels.
    ann.wait_for_focus("#username").await;
    for (css, label) in [("#username", "Username"), ("#password", "Password")] {
        let (name, role) = ann.accessibility(css).await;
        assert_eq!((name.as_str(), role.as_str()), (label, "textbox"), "{css}");
    }
    ann.type_keys("ann").await;
    ann.press(TAB, false).await;
    ann.wait_for_focus("#password").await;
    ann.type_keys(PASSWORD).await;
    ann.press(ENTER, false).await;
    ann.wait_for("textarea[aria-label='Message']").await;
    ann.wait_until_connected().await;
    // Sign out is reachable from the keyboard too.
    ann.tab_to("#sign-out", false).await;
    ann.press(ENTER, false).await;
    ann.wait_for("#username").await;
    ann.wait_for_focus("#username").await;
    ann.close().await;
}
