//! The administration page (`#/admin`) in real headless Chromium against
//! the real release server: an invite link made in the page and used by
//! a second browser, a deactivation (asked first, naming the person) that
//! signs that person's open page out, a member who opens the address told
//! in words that it is not for them, and the server's refusal to demote
//! or deactivate the last administrator, in words, and a bot made in the
//! page with a token that works.

mod support;

use fantoccini::Locator;
use serde_json::json;
use support::{axe, eventually, keys, Driver, Page, Server};

/// The tags of the account row whose button `label` is there.
async fn account_tags(page: &Page, username: &str) -> serde_json::Value {
    let script = format!(
        "const row = Array.from(document.querySelectorAll('#accounts li'))\
         .find(li => li.textContent.includes('Username {username}')); \
         return row ? Array.from(row.querySelectorAll('.tag')).map(e => e.textContent) : null"
    );
    page.eval(&script).await
}

#[tokio::test]
async fn an_invite_made_in_the_page_brings_a_second_browser_in() {
    let server = Server::start_with_people(&[], &["Ann"]).await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    ann.open_page("#admin-link").await;
    let violations = axe::violations(&ann).await;
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    ann.wait_for_panel("invites-title", "#invites p", "No invites.")
        .await;
    // A wrong number of uses is said at its field.
    ann.fill("#invite-uses", "none").await;
    ann.press_enter("#invite-uses").await;
    let error = ann.field_problem("invite-uses").await;
    assert!(error.starts_with("Give a number from 1 to"), "{error}");
    ann.fill("#invite-uses", "1").await;
    ann.find("#invite-uses")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    let link = ann.secret().await;
    let prefix = format!("http://{}#/invite/", server.addr);
    assert!(link.starts_with(&prefix), "{link}");
    let label = ann
        .find("label[for=secret]")
        .await
        .text()
        .await
        .expect("text");
    assert!(label.contains("expires in 7 days"), "{label}");
    let row = ann.wait_for_panel("invites-title", "li", "1 left").await;
    assert!(row.contains("expires in 7 days"), "{row}");

    // Eve, in a browser of her own, opens the link and signs up.
    let client = driver.browser(1100, 850).await;
    client.goto(&link).await.expect("open the invite link");
    let eve = Page {
        client,
        name: "Eve".to_owned(),
    };
    eve.fill_new_account("Eve").await;
    eve.wait_for("textarea[aria-label='Message']").await;
    eve.wait_until_connected().await;
    // The page lists her and counts the use.
    ann.client.refresh().await.expect("reload");
    ann.wait_for_focus(support::pages::PAGE_TITLE).await;
    eventually("Eve in the accounts list", || async {
        let tags = account_tags(&ann, "eve").await;
        (tags == json!(["member", "person", "active"])).then_some(())
    })
    .await;
    ann.wait_for_panel("invites-title", "li", "used up").await;
    ann.close().await;
    eve.close().await;
}

#[tokio::test]
async fn deactivating_from_the_page_asks_first_and_signs_that_person_out() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    ann.open_page("#admin-link").await;

    ann.press_button("Deactivate Bob (bob)").await;
    let question = ann.confirm().await;
    assert!(question.starts_with("Deactivate Bob (bob)?"), "{question}");
    assert!(question.contains("messages stay"), "{question}");
    let said = ann
        .wait_for_panel("accounts-title", "[role=status]", "deactivated")
        .await;
    assert!(said.starts_with("Bob (bob) is deactivated"), "{said}");
    // His open page is signed out at once.
    bob.wait_for("#username").await;
    let banner = bob.find(".banner").await.text().await.expect("text");
    assert!(banner.contains("Your session ended"), "{banner}");
    eventually("Bob's row to say deactivated", || async {
        let tags = account_tags(&ann, "bob").await;
        (tags == json!(["member", "person", "deactivated"])).then_some(())
    })
    .await;
    // Reactivated, he signs in again.
    ann.press_button("Reactivate Bob (bob)").await;
    ann.wait_for_panel("accounts-title", "[role=status]", "active again")
        .await;
    bob.sign_in().await;
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_member_who_opens_the_administration_page_is_told_in_words() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    // The chat links to the settings, not to the administration.
    bob.wait_for("#settings-link").await;
    assert!(bob.client.find(Locator::Css("#admin-link")).await.is_err());
    bob.client
        .goto(&format!("http://{}/#/admin", server.addr))
        .await
        .expect("open the address");
    bob.wait_for_focus(support::pages::PAGE_TITLE).await;
    let what = "the refusal in words";
    let refusal = eventually(what, || async {
        let text = bob
            .client
            .find(Locator::Css("main > [role=alert]"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert!(
        refusal.starts_with("Only administrators may do this."),
        "{refusal}"
    );
    assert!(
        refusal.contains("for the server's administrators"),
        "{refusal}"
    );
    // No panel of the page shows.
    let shown = bob
        .eval("return document.querySelector('#accounts').checkVisibility()")
        .await;
    assert_eq!(shown, json!(false));
    // Still signed in: the way back works.
    bob.find("#back-to-chat")
        .await
        .click()
        .await
        .expect("back to the chat");
    bob.wait_for("textarea[aria-label='Message']").await;
    bob.close().await;
}

#[tokio::test]
async fn the_last_administrator_cannot_be_demoted_or_deactivated_and_is_told_why() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    ann.open_page("#admin-link").await;
    let words = "The last active administrator can be neither demoted nor deactivated.";

    ann.press_button("Remove administrator Ann (ann)").await;
    let alert = ann.panel_says("accounts-title", "[role=alert]").await;
    assert_eq!(alert, words);

    ann.press_button("Deactivate Ann (ann)").await;
    ann.confirm().await;
    // Said again (the alert is cleared, then filled).
    ann.wait_for_panel("accounts-title", "[role=alert]", "last active")
        .await;
    let tags = account_tags(&ann, "ann").await;
    assert_eq!(tags, json!(["administrator", "person", "active"]));
    // Still signed in, still an administrator.
    ann.find("#back-to-chat")
        .await
        .click()
        .await
        .expect("back to the chat");
    ann.wait_until_connected().await;
    ann.wait_for("#admin-link").await;
    ann.close().await;
}

#[tokio::test]
async fn a_bot_made_in_the_page_gets_a_token_shown_once_that_works() {
    let server = Server::start_with_people(&[], &["Ann"]).await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    ann.open_page("#admin-link").await;
    // A bot: chosen in the Kind select, with no password.
    ann.eval(
        "const k = document.querySelector('#new-kind'); k.value = 'bot'; \
         k.dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .await;
    ann.fill("#username", "deploy").await;
    ann.fill("#display-name", "Deploy").await;
    ann.find("#display-name")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    let said = ann
        .wait_for_panel("new-account-title", "[role=status]", "is made")
        .await;
    assert!(said.starts_with("Deploy (deploy) is made."), "{said}");
    eventually("the bot in the accounts list", || async {
        let tags = account_tags(&ann, "deploy").await;
        (tags == json!(["member", "bot", "active"])).then_some(())
    })
    .await;

    // Its tokens, under the list.
    ann.press_button("Tokens Deploy (deploy)").await;
    ann.wait_for_focus("#tokens-title").await;
    ann.wait_for_panel("tokens-title", "#tokens p", "No API tokens.")
        .await;
    ann.fill("#token-name", "ci").await;
    ann.find("#token-name")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    let token = ann.secret().await;
    assert!(token.starts_with("chat_"), "{token}");
    ann.wait_for_panel("tokens-title", "#tokens li", "ci").await;
    assert_eq!(
        support::pages::bearer_status(server.addr, "/api/me", &token).await,
        200
    );
    ann.close().await;
}
