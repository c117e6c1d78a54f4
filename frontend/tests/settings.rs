//! The settings page (`#/settings`) in real headless Chromium against the
//! real release server: a new display name seen in another person's
//! browser, a password change that signs the other browser out (and the
//! new password signs in), another session ended from the list, an API
//! token shown once and revoked (then refused over HTTP), and the
//! display-name form from the keyboard alone, with axe's checks.

mod support;

use serde_json::json;
use support::accounts::PASSWORD;
use support::keyboard::{ENTER, TAB};
use support::pages::{bearer_status, PAGE_TITLE};
use support::{axe, eventually, keys, Driver, Page, Server};

/// WebDriver's End key.
const END: char = '\u{E010}';

/// Waits until the sidebar says who is signed in as `name`.
async fn wait_for_me(page: &Page, name: &str) {
    let what = format!("{}: signed in as {name}", page.name);
    eventually(&what, || async {
        let text = page.find(".me-name strong").await.text().await.ok()?;
        (text == name).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_new_display_name_is_seen_in_another_persons_browser() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    bob.wait_for_members(json!(["Ann", "Bob"])).await;

    ann.open_page("#settings-link").await;
    let title = ann.find(PAGE_TITLE).await.text().await.expect("text");
    assert_eq!(title, "Settings");
    // Checked before it is sent, with the rules of `common`.
    ann.fill("#display-name", "").await;
    ann.press_enter("#display-name").await;
    let error = ann.field_problem("display-name").await;
    assert_eq!(error, "Choose a display name.");

    ann.fill("#display-name", "Annie").await;
    ann.find("#display-name")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    let said = ann
        .wait_for_panel("name-title", "[role=status]", "Annie")
        .await;
    assert!(said.contains("Your display name is now Annie"), "{said}");
    // Bob's chat shows it at once; Ann's own chat too.
    bob.wait_for_members(json!(["Annie", "Bob"])).await;
    ann.find("#back-to-chat")
        .await
        .click()
        .await
        .expect("back to the chat");
    ann.wait_for("textarea[aria-label='Message']").await;
    wait_for_me(&ann, "Annie").await;
    ann.send("now as Annie").await;
    bob.wait_for_message("now as Annie").await;
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_password_change_signs_the_other_browser_out_and_the_new_one_signs_in() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let here = Page::join(&driver, &server, "Ann", "lobby").await;
    let there = Page::join(&driver, &server, "Ann", "lobby").await;
    here.open_page("#settings-link").await;

    // A wrong password now is said at its field.
    here.fill("#current-password", "not my password").await;
    here.fill("#password", "a new long passphrase").await;
    here.fill("#password-again", "a new long passphrase").await;
    here.press_enter("#password-again").await;
    let error = here.field_problem("current-password").await;
    assert_eq!(error, "This is not your current password.");

    here.fill("#current-password", PASSWORD).await;
    here.find("#current-password")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    let said = here
        .wait_for_panel("password-title", "[role=status]", "Password changed")
        .await;
    assert!(said.contains("other sessions were signed out"), "{said}");
    // The other browser goes to sign-in, saying why.
    there.wait_for("#username").await;
    let banner = there.find(".banner").await.text().await.expect("text");
    assert!(banner.contains("Your session ended"), "{banner}");
    // This one stays signed in: its sessions list has only itself.
    eventually("one session left", || async {
        let rows = here
            .eval("return document.querySelectorAll('#sessions li').length")
            .await;
        (rows == json!(1)).then_some(())
    })
    .await;
    // The old password no longer works; the new one does.
    there.sign_in_with("ann", PASSWORD).await;
    let alert = there.form_alert().await;
    assert_eq!(alert, "Wrong username or password.");
    there.sign_in_with("ann", "a new long passphrase").await;
    there.wait_for("textarea[aria-label='Message']").await;
    there.wait_until_connected().await;
    here.close().await;
    there.close().await;
}

#[tokio::test]
async fn ending_another_session_from_the_list_signs_that_page_out() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let here = Page::join(&driver, &server, "Bob", "lobby").await;
    let there = Page::join(&driver, &server, "Bob", "lobby").await;
    here.open_page("#settings-link").await;
    eventually("two sessions listed", || async {
        let rows = here
            .eval("return document.querySelectorAll('#sessions li').length")
            .await;
        (rows == json!(2)).then_some(())
    })
    .await;
    // This session is marked and has no button; the other one has one.
    let tags = here
        .eval("return Array.from(document.querySelectorAll('#sessions .tag')).map(e => e.textContent)")
        .await;
    assert_eq!(tags, json!(["this session"]));
    let buttons = here
        .eval("return document.querySelectorAll('#sessions button').length")
        .await;
    assert_eq!(buttons, json!(1));
    here.find("#sessions button")
        .await
        .click()
        .await
        .expect("sign the other session out");
    there.wait_for("#username").await;
    let said = here
        .wait_for_panel("sessions-title", "[role=status]", "signed out")
        .await;
    assert_eq!(said, "That session is signed out.");
    eventually("one session left", || async {
        let rows = here
            .eval("return document.querySelectorAll('#sessions li').length")
            .await;
        (rows == json!(1)).then_some(())
    })
    .await;
    here.close().await;
    there.close().await;
}

#[tokio::test]
async fn a_token_is_shown_once_and_once_revoked_it_is_refused() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let cy = Page::join(&driver, &server, "Cy", "lobby").await;
    cy.open_page("#settings-link").await;
    cy.wait_for_panel("tokens-title", "#tokens p", "No API tokens.")
        .await;
    cy.fill("#token-name", "ci").await;
    cy.find("#token-name")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    let token = cy.secret().await;
    assert!(token.starts_with("chat_"), "{token}");
    cy.wait_for_focus("#secret").await;
    let note = cy.find("#secret-note").await.text().await.expect("text");
    assert!(note.contains("will not be shown again"), "{note}");
    assert_eq!(bearer_status(server.addr, "/api/me", &token).await, 200);

    // Shown once: not after a reload, where only its name is listed.
    cy.client.refresh().await.expect("reload");
    cy.wait_for_focus(PAGE_TITLE).await;
    cy.wait_for("#tokens li").await;
    assert!(cy
        .client
        .find(fantoccini::Locator::Css("#secret"))
        .await
        .is_err());
    let row = cy.find("#tokens li").await.text().await.expect("text");
    assert!(row.contains("ci") && row.contains("last used"), "{row}");

    cy.press_button("Revoke \u{201c}ci\u{201d}").await;
    let question = cy.confirm().await;
    assert!(question.contains("\u{201c}ci\u{201d}"), "{question}");
    cy.wait_for_panel("tokens-title", "[role=status]", "revoked")
        .await;
    cy.wait_for_panel("tokens-title", "#tokens p", "No API tokens.")
        .await;
    assert_eq!(bearer_status(server.addr, "/api/me", &token).await, 401);
    cy.close().await;
}

#[tokio::test]
async fn the_display_name_form_works_from_the_keyboard_alone() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let di = Page::join(&driver, &server, "Di", "lobby").await;
    di.wait_for_focus("#message").await;
    // From the chat to the settings, by their link.
    di.tab_to("#settings-link", true).await;
    di.press(ENTER, false).await;
    di.wait_for_focus(PAGE_TITLE).await;
    let violations = axe::violations(&di).await;
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    di.press(TAB, false).await;
    di.tab_to("#display-name", false).await;
    // The field holds the name now (Tab selected it): typing goes on
    // after it.
    di.press(END, false).await;
    di.type_keys(" Lee").await;
    di.press(ENTER, false).await;
    di.wait_for_panel("name-title", "[role=status]", "Di Lee")
        .await;
    // And back to the chat.
    di.tab_to("#back-to-chat", true).await;
    di.press(ENTER, false).await;
    di.wait_for("textarea[aria-label='Message']").await;
    wait_for_me(&di, "Di Lee").await;
    di.close().await;
}
