//! Accessibility as a gate (WCAG 2.1, levels A and AA), in real headless
//! Chromium against the real release server:
//!
//! - axe-core on every screen and state a person meets, at desktop and
//!   phone widths, in the light and the dark scheme;
//! - the whole flow from the keyboard alone, with the focus order and the
//!   focus indicator checked at every stop;
//! - the page at 200 % (zoom, and the browser's text size), losing nothing;
//! - the settings and administration pages: axe-core in every view, the
//!   keyboard walk, and nothing lost at a phone's width.

mod support;

use fantoccini::Locator;
use serde_json::json;
use support::axe::Audit;
use support::emulation::{Scheme, DESKTOP, PHONE, SETTLE, VIEWS};
use support::keyboard::{ENTER, ESCAPE, TAB};
use support::layout::assert_nothing_lost;
use support::{eventually, keys, Driver, Page, Server};

/// The largest WebSocket message the server of the axe test takes: small,
/// so that a message can be refused (and shown as failed) without the
/// client's own length limit getting in the way.
const SMALL_MAX_MESSAGE_BYTES: &str = "1024";

/// The message box.
const MESSAGE_BOX: &str = "textarea[aria-label='Message']";

/// Puts `text` in the message box as a paste would (one input event).
fn paste_script(text: &str) -> String {
    format!(
        "const t = document.querySelector(\"{MESSAGE_BOX}\"); t.value = {}; \
         t.dispatchEvent(new Event('input', {{bubbles: true}}));",
        json!(text)
    )
}

/// Waits until `page`'s typing line names `who`.
async fn wait_for_typing(page: &Page, who: &str) {
    let what = format!("{} to see {who} typing", page.name);
    eventually(&what, || async {
        let line = page.find(".typing").await.text().await.ok()?;
        line.contains(who).then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_screen_passes_axe_core_in_both_schemes_at_desktop_and_phone_widths() {
    let mut server = Server::start_with(&["--max-message-bytes", SMALL_MAX_MESSAGE_BYTES]).await;
    let driver = Driver::start().await;
    let mut audit = Audit::default();
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;

    // The first screen, empty, then with a wrong password.
    let ann = Page::first_visit(&driver, &server, "Ann", "lobby").await;
    ann.wait_for(".offer").await;
    audit.check_views(&ann, "sign-in screen").await;
    ann.sign_in_with("ann", "not the password").await;
    eventually(
        "the sign-in screen to say the password is wrong",
        || async {
            let error = ann
                .client
                .find(Locator::Css("form [role=alert]"))
                .await
                .ok()?;
            error
                .text()
                .await
                .ok()?
                .contains("Wrong username or password")
                .then_some(())
        },
    )
    .await;
    audit
        .check_views(&ann, "sign-in screen, wrong password")
        .await;
    ann.sign_in().await;

    // A second room, which gets news while Ann reads the first.
    let join = ann.find("#join-room").await;
    join.send_keys("second").await.expect("type");
    join.send_keys(keys::ENTER).await.expect("join");
    ann.wait_for("a[data-room='second'][aria-current='page']")
        .await;
    ann.find("a[data-room='lobby']")
        .await
        .click()
        .await
        .expect("back to lobby");
    ann.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
    let cy = Page::join(&driver, &server, "Cy", "second").await;
    cy.send("News in the second room").await;
    ann.wait_for("a[data-room='second'] .badge").await;

    // A conversation: others' and own messages, links in both, emoji.
    bob.send("Morning 👋 the notes are at https://example.com/notes")
        .await;
    bob.send("Coffee first ☕").await;
    ann.wait_for_message("Coffee first ☕").await;
    ann.send("Thanks! Mine are at https://example.com/mine 🎉")
        .await;
    bob.wait_for_message("Thanks! Mine are at https://example.com/mine 🎉")
        .await;

    // A message the server refuses (too big for it): shown as failed,
    // with Retry and Delete; the page reconnects by itself.
    let limit: usize = SMALL_MAX_MESSAGE_BYTES.parse().expect("a number");
    ann.eval(&paste_script(&"too long ".repeat(limit / 8)))
        .await;
    ann.find("button.send").await.click().await.expect("send");
    ann.wait_for(".msg-state.failed").await;
    ann.wait_until_connected().await;

    // Errors in words: a bad room name, a message over the length limit.
    let join = ann.find("#join-room").await;
    join.send_keys("not a room!").await.expect("type");
    join.send_keys(keys::ENTER).await.expect("join");
    ann.wait_for("#join-room-error:not(:empty)").await;
    ann.eval(&paste_script(&"x".repeat(4_003))).await;
    ann.wait_for(".counter.over").await;

    // Bob types before each check, as the line goes 5 s after his last key.
    // The controls of this state (Retry and Delete, the links) are walked
    // with Tab in each view too, for their focus rings on each background.
    let bob_box = bob.find(MESSAGE_BOX).await;
    for view in VIEWS {
        bob_box.send_keys("typ").await.expect("type");
        wait_for_typing(&ann, "Bob").await;
        ann.set_view(view).await;
        audit.check(&ann, "chat screen", view).await;
        ann.find(MESSAGE_BOX).await.click().await.expect("focus");
        ann.walk(&format!("chat screen, {}", view.name)).await;
    }
    ann.set_view(VIEWS[0]).await;

    // Offline: the status says so, and a message waits as pending.
    server.stop().await;
    ann.wait_for_status("Offline").await;
    ann.eval(&paste_script("")).await;
    ann.send("written while offline").await;
    ann.wait_for_message("written while offline").await;
    ann.wait_for(".msg.pending .msg-state:not(.failed)").await;
    audit.check_views(&ann, "chat screen, offline").await;
    ann.find(MESSAGE_BOX).await.click().await.expect("focus");
    let stops = ann.walk("chat screen, offline").await;
    assert!(
        stops.iter().any(|stop| stop.name == "Retry now"),
        "Retry now is not reached by Tab"
    );
    server.restart().await;
    ann.wait_until_connected().await;

    // The phone's drawers: the room list, and the member list.
    for view in VIEWS.iter().filter(|view| view.size == PHONE) {
        ann.set_view(*view).await;
        ann.find("button[aria-controls='sidebar']")
            .await
            .click()
            .await
            .expect("open the room list");
        ann.wait_for(".chat.rooms-open").await;
        ann.set_view(*view).await;
        audit
            .check(&ann, "chat screen, room list open", *view)
            .await;
        // The scrim is mostly under the drawer: Escape closes it (sent
        // to the element the click focused, with no check of its focus
        // ring, which a click does not show).
        ann.client
            .active_element()
            .await
            .expect("the focused element")
            .send_keys(&ESCAPE.to_string())
            .await
            .expect("press Escape");
        ann.wait_for_gone(".chat.rooms-open").await;
        ann.find("button[aria-controls='members']")
            .await
            .click()
            .await
            .expect("open the member list");
        ann.wait_for(".members.open").await;
        ann.set_view(*view).await;
        audit
            .check(&ann, "chat screen, member list open", *view)
            .await;
        ann.find("button[aria-controls='members']")
            .await
            .click()
            .await
            .expect("close it");
    }
    ann.set_view(VIEWS[0]).await;

    // Every room left: the screen that says how to join one.
    for room in ["lobby", "second"] {
        ann.find(&format!("a[data-room='{room}']"))
            .await
            .click()
            .await
            .expect("open the room");
        ann.wait_for(&format!("a[data-room='{room}'][aria-current='page']"))
            .await;
        ann.find(&format!("button[aria-label='Leave #{room}']"))
            .await
            .click()
            .await
            .expect("leave");
        ann.wait_for_gone(&format!("a[data-room='{room}']")).await;
    }
    ann.wait_for(".empty-room").await;
    audit.check_views(&ann, "no room open").await;

    // Signed out by the server (her session ended from another device):
    // the sign-in screen says so. (The Room field still holds the bad
    // name from before: emptied as typing does.)
    ann.set_view(VIEWS[0]).await;
    ann.eval(
        "const r = document.querySelector('#join-room'); r.value = ''; \
         r.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    .await;
    let join = ann.find("#join-room").await;
    join.send_keys("lobby").await.expect("type");
    join.send_keys(keys::ENTER).await.expect("join");
    ann.wait_for(MESSAGE_BOX).await;
    ann.wait_until_connected().await;
    end_other_sessions(&server, "Ann").await;
    ann.wait_for("#username").await;
    ann.wait_for(".banner").await;
    audit
        .check_views(&ann, "sign-in screen, session ended")
        .await;

    audit.assert_clean();
    for page in [ann, bob, cy] {
        page.close().await;
    }
}

/// Ends every session of `name` but a new one made over HTTP, as the
/// list of sessions of another device does.
async fn end_other_sessions(server: &Server, name: &str) {
    use support::accounts::request;
    let session = server.session_of(name).await;
    let sessions = request(server.addr, "GET", "/api/me/sessions", Some(&session), None).await;
    for other in sessions.body.as_array().expect("a list of sessions") {
        if other["current"] != json!(true) {
            let path = format!("/api/me/sessions/{}", other["id"]);
            let ended = request(server.addr, "DELETE", &path, Some(&session), None).await;
            assert_eq!(ended.status, 204, "{ended:?}");
        }
    }
}

/// The names of the stops of a walk, for comparing with what a screen holds.
fn names(stops: &[support::keyboard::Stop]) -> Vec<String> {
    stops.iter().map(|stop| stop.name.clone()).collect()
}

#[tokio::test]
async fn everything_can_be_done_from_the_keyboard_with_the_focus_shown() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    bob.send("Hi! Notes: https://example.com/notes").await;

    // The sign-in screen: the username has the focus, then the password,
    // then Sign in.
    let ann = Page::first_visit(&driver, &server, "Ann", "lobby").await;
    ann.wait_for(".offer").await;
    ann.wait_for_focus("#username").await;
    let stops = ann.walk("sign-in screen").await;
    assert_eq!(
        stops.iter().map(|s| s.what.as_str()).collect::<Vec<_>>(),
        ["input#username", "input#password", "button.primary"],
        "sign-in screen"
    );
    ann.wait_for_focus("#username").await;
    ann.type_keys("ann").await;
    ann.press(TAB, false).await;
    ann.type_keys(support::accounts::PASSWORD).await;
    ann.press(ENTER, false).await;
    ann.wait_for(MESSAGE_BOX).await;
    ann.wait_until_connected().await;

    // The chat: the message box has the focus; Enter sends.
    ann.wait_for_focus("#message").await;
    ann.type_keys("Hello from the keyboard").await;
    ann.press(ENTER, false).await;
    ann.wait_for_message("Hello from the keyboard").await;
    for scheme in [Scheme::Light, Scheme::Dark] {
        ann.set_scheme(scheme).await;
        let stops = ann
            .walk(&format!("chat screen, desktop, {}", scheme.name()))
            .await;
        for wanted in [
            "#lobby",
            "input#join-room",
            "Join",
            "Sign out",
            "Leave #lobby",
            "https://example.com/notes",
            "textarea#message",
        ] {
            assert!(
                stops
                    .iter()
                    .any(|stop| stop.name == wanted || stop.what == wanted),
                "the chat screen's walk has no {wanted:?}: {:?}",
                names(&stops)
            );
        }
    }
    ann.set_scheme(Scheme::Light).await;

    // Joining a room with the Room field.
    ann.tab_to("#join-room", true).await;
    ann.type_keys("second").await;
    ann.press(ENTER, false).await;
    ann.wait_for("a[data-room='second'][aria-current='page']")
        .await;
    ann.wait_for_focus("#message").await;

    // Switching back with the room list.
    ann.tab_to("a[data-room='lobby']", true).await;
    ann.press(ENTER, false).await;
    ann.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
    ann.wait_for_focus("#message").await;

    // On a phone: the room list is a drawer, out of the way until opened.
    ann.set_size(PHONE).await;
    ann.walk("chat screen, phone").await;
    ann.tab_to("button[aria-controls='sidebar']", true).await;
    ann.press(ENTER, false).await;
    ann.wait_for(".chat.rooms-open").await;
    ann.wait_for_focus("#sidebar a[aria-current='page']").await;
    // The drawer slides in for 0.2 s.
    tokio::time::sleep(SETTLE).await;
    let stops = ann.walk("room list drawer").await;
    assert!(
        stops.iter().all(|stop| stop.region.name == "rooms"),
        "the focus leaves the open drawer for what it covers: {:?}",
        names(&stops)
    );
    ann.press(ESCAPE, false).await;
    ann.wait_for_gone(".chat.rooms-open").await;
    ann.wait_for_focus("button[aria-controls='sidebar']").await;
    ann.press(ENTER, false).await;
    ann.wait_for_focus("#sidebar a[aria-current='page']").await;
    ann.tab_to("a[data-room='second']", false).await;
    ann.press(ENTER, false).await;
    ann.wait_for("a[data-room='second'][aria-current='page']")
        .await;
    ann.wait_for_gone(".chat.rooms-open").await;
    ann.wait_for_focus("#message").await;

    // The member list opens and closes from its button, and with Escape.
    ann.tab_to("button[aria-controls='members']", true).await;
    ann.press(ENTER, false).await;
    ann.wait_for(".members.open").await;
    ann.press(ESCAPE, false).await;
    ann.wait_for_gone(".members.open").await;
    ann.wait_for_focus("button[aria-controls='members']").await;

    // Leaving the room: the next room opens with the focus in its message box.
    ann.set_size(DESKTOP).await;
    ann.tab_to("button[aria-label='Leave #second']", false)
        .await;
    ann.press(ENTER, false).await;
    ann.wait_for_gone("a[data-room='second']").await;
    ann.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
    ann.wait_for_focus("#message").await;

    // Signing out, and in again, from the keyboard.
    ann.tab_to("#sign-out", true).await;
    ann.press(ENTER, false).await;
    ann.wait_for_focus("#username").await;
    ann.type_keys("ann").await;
    ann.press(TAB, false).await;
    ann.type_keys(support::accounts::PASSWORD).await;
    ann.press(ENTER, false).await;
    ann.wait_for(MESSAGE_BOX).await;
    ann.wait_for_focus("#message").await;

    ann.close().await;
    bob.close().await;
}

/// WCAG 2.1's 1.4.4 (resize text) asks that text can be resized to 200 %
/// without losing content or function. People do that in two ways, and
/// both are checked in a 1280x880 window:
///
/// - zoom (Ctrl and +): the page is laid out in half as many CSS pixels
///   (640x440), each drawn twice as large. Emulated exactly with the
///   DevTools' device metrics in the same browser (`Page::zoom`), which is
///   what `--force-device-scale-factor=2` in a halved window also gives.
///   (`document.body.style.zoom` is not the same: it scales the body inside
///   a viewport that keeps its width, so media queries see a desktop.)
/// - the browser's text size (Settings, Font size): the default font goes
///   from 16 px to 32 px, through Chromium's `default_font_size`
///   preference, in a browser of its own. Only text in relative units
///   grows, so this catches sizes fixed in pixels.
///
/// At each, nothing may scroll sideways or be cut off, every control must
/// be reached by Tab and be on screen and uncovered when it is, and a
/// message must still be written and sent.
#[tokio::test]
async fn text_at_200_percent_loses_no_content_or_function() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    bob.send("Did the deploy go out? Notes at https://example.com/releases/1.0")
        .await;

    // Zoom: the sign-in screen, then the chat, then the room list drawer.
    let ann = Page::first_visit(&driver, &server, "Ann", "lobby").await;
    ann.wait_for(".offer").await;
    ann.zoom(DESKTOP, 2).await;
    assert_nothing_lost(&ann, "sign-in screen at 200 % zoom").await;
    ann.wait_for_focus("#username").await;
    ann.walk("sign-in screen at 200 % zoom").await;
    ann.wait_for_focus("#username").await;
    ann.type_keys("ann").await;
    ann.press(TAB, false).await;
    ann.type_keys(support::accounts::PASSWORD).await;
    ann.press(ENTER, false).await;
    ann.wait_for(MESSAGE_BOX).await;
    ann.wait_until_connected().await;
    ann.wait_for_message("Did the deploy go out? Notes at https://example.com/releases/1.0")
        .await;
    send_from_the_keyboard(&ann, "Sent at 200 % zoom").await;
    assert_nothing_lost(&ann, "chat screen at 200 % zoom").await;
    ann.walk("chat screen at 200 % zoom").await;
    // Opened from the keyboard, as the walk after it is a keyboard's (a
    // click would move the focus without showing it, as browsers do for
    // a mouse).
    ann.tab_to("button[aria-controls='sidebar']", true).await;
    ann.press(ENTER, false).await;
    ann.wait_for(".chat.rooms-open").await;
    tokio::time::sleep(SETTLE).await;
    assert_nothing_lost(&ann, "room list at 200 % zoom").await;
    ann.walk("room list at 200 % zoom").await;
    ann.close().await;

    // The browser's text size at twice the default.
    let client = driver
        .browser_with_prefs(
            DESKTOP.0,
            DESKTOP.1,
            json!({ "webkit": { "webprefs": { "default_font_size": 32 } } }),
        )
        .await;
    client
        .goto(&server.room_url("lobby"))
        .await
        .expect("open the page");
    let cy = Page {
        client,
        name: "Cy".to_owned(),
    };
    cy.wait_for("#username").await;
    cy.wait_for(".offer").await;
    let sizes = cy
        .eval(
            "return [parseFloat(getComputedStyle(document.documentElement).fontSize), \
             parseFloat(getComputedStyle(document.querySelector('#username')).fontSize)]",
        )
        .await;
    let sizes: Vec<f64> = serde_json::from_value(sizes).expect("two sizes");
    assert!(
        sizes.iter().all(|size| *size >= 28.0),
        "the page's text does not follow the browser's text size of 32 px: {sizes:?} px"
    );
    assert_nothing_lost(&cy, "sign-in screen at 200 % text").await;
    cy.walk("sign-in screen at 200 % text").await;
    cy.wait_for_focus("#username").await;
    cy.type_keys("cy").await;
    cy.press(TAB, false).await;
    cy.type_keys(support::accounts::PASSWORD).await;
    cy.press(ENTER, false).await;
    cy.wait_for(MESSAGE_BOX).await;
    cy.wait_until_connected().await;
    send_from_the_keyboard(&cy, "Sent at 200 % text").await;
    assert_nothing_lost(&cy, "chat screen at 200 % text").await;
    cy.walk("chat screen at 200 % text").await;
    cy.close().await;
    bob.close().await;
}

/// Writes `text` in the message box and sends it with the Send button,
/// both reached from the keyboard, and checks it arrives.
async fn send_from_the_keyboard(page: &Page, text: &str) {
    page.wait_for_focus("#message").await;
    page.type_keys(text).await;
    page.press(TAB, false).await;
    page.wait_for_focus("button.send").await;
    let send = page
        .focused()
        .await
        .unwrap_or_else(|| panic!("{}: the Send button has the focus", page.name));
    assert!(send.visible, "{}: the Send button is off screen", page.name);
    page.press(ENTER, false).await;
    page.wait_for_message(text).await;
}

#[tokio::test]
async fn the_settings_and_administration_pages_pass_axe_core_and_the_keyboard_walk() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let mut audit = Audit::default();
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;

    // The settings, with a token just made (the secret shown once) and
    // a refused field.
    ann.open_page("#settings-link").await;
    ann.wait_for("#sessions li").await;
    ann.fill("#token-name", "ci").await;
    ann.find("#token-name")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    ann.wait_for("#secret").await;
    ann.fill("#display-name", "").await;
    ann.find("#display-name")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    ann.wait_for_focus("#display-name").await;
    audit.check_views(&ann, "settings").await;
    ann.walk("settings, desktop").await;
    ann.set_size(PHONE).await;
    assert_nothing_lost(&ann, "settings, phone").await;
    ann.set_size(DESKTOP).await;

    // The administration (from the settings' header), with an invite
    // link just made.
    ann.open_page("a[href='#/admin']").await;
    ann.wait_for("#accounts li").await;
    ann.find("#invite-uses")
        .await
        .send_keys(keys::ENTER)
        .await
        .expect("press Enter");
    ann.wait_for("#secret").await;
    audit.check_views(&ann, "administration").await;
    ann.walk("administration, desktop").await;
    ann.set_size(PHONE).await;
    assert_nothing_lost(&ann, "administration, phone").await;
    ann.set_size(DESKTOP).await;

    // A member at the administration's address: the refusal.
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    bob.client
        .goto(&format!("http://{}/#/admin", server.addr))
        .await
        .expect("open the address");
    eventually("the refusal", || async {
        let text = bob.find("main > [role=alert]").await.text().await.ok()?;
        (!text.is_empty()).then_some(())
    })
    .await;
    audit.check_views(&bob, "administration, refused").await;
    audit.assert_clean();
    ann.close().await;
    bob.close().await;
}
