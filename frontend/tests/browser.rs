//! The chat in real headless Chromium, against the real release server:
//! two people in separate browsers, reloads, a server restart under open
//! pages, unread counts, and the README's screenshot.

mod support;

use fantoccini::Locator;
use std::path::PathBuf;
use support::{eventually, keys, Driver, Page, Server, QUIET};

#[tokio::test]
async fn a_message_from_one_person_appears_for_the_other() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;

    // Shift+Enter makes a new line; Enter sends.
    let field = ann.find("textarea[aria-label='Message']").await;
    field
        .send_keys(&format!(
            "first line{}{}{}second line",
            keys::SHIFT,
            keys::ENTER,
            keys::RELEASE
        ))
        .await
        .expect("type");
    field.send_keys(keys::ENTER).await.expect("send");
    bob.wait_for_message("first line\nsecond line").await;
    ann.wait_for_message("first line\nsecond line").await;

    bob.send("hi Ann").await;
    ann.wait_for_message("hi Ann").await;

    // Each sees who wrote what, and their own messages apart.
    let authors = ann
        .eval("return Array.from(document.querySelectorAll('[role=log] .author')).map(e => e.textContent)")
        .await;
    assert_eq!(authors, serde_json::json!(["Ann", "Bob"]));
    let own = ann
        .eval("return Array.from(document.querySelectorAll('[role=log] .msg')).map(e => e.classList.contains('own'))")
        .await;
    assert_eq!(own, serde_json::json!([true, false]));

    // Both are in the member list, and typing shows.
    let members = ann
        .eval("return Array.from(document.querySelectorAll('.member-list .member-name')).map(e => e.textContent)")
        .await;
    assert_eq!(members, serde_json::json!(["Ann", "Bob"]));
    bob.find("textarea[aria-label='Message']")
        .await
        .send_keys("still typ")
        .await
        .expect("type");
    eventually("Ann to see that Bob is typing", || async {
        let line = ann.find(".typing").await.text().await.ok()?;
        (line == "Bob is typing…").then_some(())
    })
    .await;

    // The names the issue asks for, as assistive technology gets them.
    for (css, name, role) in [
        ("[role=log]", "Messages", "log"),
        ("textarea[aria-label='Message']", "Message", "textbox"),
        ("button.send", "Send", "button"),
        ("#join-room", "Room", "textbox"),
        ("[role=status]", "", "status"),
    ] {
        let (computed_name, computed_role) = ann.accessibility(css).await;
        assert_eq!(computed_role, role, "{css}");
        if !name.is_empty() {
            assert_eq!(computed_name, name, "{css}");
        }
    }
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_reload_shows_the_history_and_html_stays_text() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;

    let html = "<img src=x onerror=alert(1)>";
    ann.send(html).await;
    ann.send("docs at https://example.com/docs.").await;
    bob.wait_for_message(html).await;
    bob.wait_for_message("docs at https://example.com/docs.")
        .await;

    for page in [&ann, &bob] {
        let images = page
            .client
            .find_all(Locator::Css("[role=log] img"))
            .await
            .expect("search");
        assert!(images.is_empty(), "{}: the text became an image", page.name);
        let alert = page.client.get_alert_text().await;
        assert!(
            alert.as_ref().is_err_and(|err| err.is_no_such_alert()),
            "{}: an alert opened: {alert:?}",
            page.name
        );
        // The address is a link, the period after it is not.
        let link = page
            .find("[role=log] a[href='https://example.com/docs']")
            .await;
        assert_eq!(
            link.text().await.expect("link text"),
            "https://example.com/docs"
        );
    }

    // A reload remembers the name and shows the history.
    bob.client.refresh().await.expect("reload");
    bob.wait_until_connected().await;
    bob.wait_for_message(html).await;
    assert_eq!(bob.count(html).await, 1);
    assert_eq!(bob.count("docs at https://example.com/docs.").await, 1);
    assert!(
        bob.client.find(Locator::Css("#username")).await.is_err(),
        "still signed in after a reload"
    );
    let own = bob
        .eval("return Array.from(document.querySelectorAll('[role=log] .msg.own')).length")
        .await;
    assert_eq!(own, serde_json::json!(0), "Ann's messages are not Bob's");
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn both_pages_reconnect_after_a_server_restart_without_loss_or_duplicates() {
    let mut server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    ann.send("before one").await;
    bob.wait_for_message("before one").await;
    bob.send("before two").await;
    ann.wait_for_message("before two").await;

    server.stop().await;
    ann.wait_for_status("Offline").await;
    bob.wait_for_status("Offline").await;

    // Written during the outage: shown as pending, sent after the reconnect.
    let during = "written during the outage";
    ann.send(during).await;
    ann.wait_for_message(during).await;
    let pending = ann
        .eval("return Array.from(document.querySelectorAll('[role=log] .msg.pending .msg-text')).map(e => e.textContent)")
        .await;
    assert_eq!(pending, serde_json::json!([during]));
    let state = ann
        .find(".msg.pending .msg-state")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(state, "Waiting for the connection…");

    server.restart().await;
    ann.wait_until_connected().await;
    bob.wait_until_connected().await;
    bob.wait_for_message(during).await;
    eventually("Ann's message to be confirmed", || async {
        let pending = ann
            .eval("return document.querySelectorAll('[role=log] .msg.pending').length")
            .await;
        (pending == serde_json::json!(0)).then_some(())
    })
    .await;

    // Exactly once each, in both pages, also a moment later.
    tokio::time::sleep(QUIET).await;
    for page in [&ann, &bob] {
        assert_eq!(
            page.messages().await,
            ["before one", "before two", during],
            "{}",
            page.name
        );
    }
    // And the server stored it once.
    bob.client.refresh().await.expect("reload");
    bob.wait_for_message(during).await;
    assert_eq!(bob.messages().await, ["before one", "before two", during]);
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn another_room_shows_how_many_messages_are_unread() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;

    // Ann leaves a draft in lobby, joins a second room with the Room field,
    // then goes back: the draft is still there.
    ann.find("textarea[aria-label='Message']")
        .await
        .send_keys("a draft for lobby")
        .await
        .expect("type");
    let field = ann.find("#join-room").await;
    field.send_keys("second").await.expect("type");
    field.send_keys(keys::ENTER).await.expect("join");
    eventually("the address to name the second room", || async {
        let url = ann.client.current_url().await.ok()?;
        (url.fragment() == Some("/r/second")).then_some(())
    })
    .await;
    ann.find("a[data-room='lobby']")
        .await
        .click()
        .await
        .expect("open lobby");
    ann.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
    let draft = ann
        .wait_for("textarea[aria-label='Message']")
        .await
        .prop("value")
        .await
        .expect("read the message box");
    assert_eq!(draft.as_deref(), Some("a draft for lobby"));

    let bob = Page::join(&driver, &server, "Bob", "second").await;
    bob.send("news in the second room").await;
    bob.send("and more").await;

    // The row is drawn anew when its count changes: look the badge up each time.
    eventually("the unread count to reach 2", || async {
        let badge = ann
            .client
            .find(Locator::Css("a[data-room='second'] .badge"))
            .await
            .ok()?;
        (badge.text().await.ok()? == "2").then_some(())
    })
    .await;
    let label = ann
        .find("a[data-room='second']")
        .await
        .attr("aria-label")
        .await
        .expect("label");
    assert_eq!(label.as_deref(), Some("#second, 2 unread messages"));
    assert!(
        ann.client
            .find(Locator::Css("a[data-room='lobby'] .badge"))
            .await
            .is_err(),
        "nothing unread in the room shown"
    );

    // Opening the room shows the messages and clears the count.
    ann.find("a[data-room='second']")
        .await
        .click()
        .await
        .expect("open second");
    ann.wait_for_message("and more").await;
    eventually("the badge to go", || async {
        ann.client
            .find(Locator::Css("a[data-room='second'] .badge"))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    ann.close().await;
    bob.close().await;
}

#[tokio::test]
async fn screenshot_of_two_people_chatting() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    let conversation = [
        (&bob, "Morning! ☀️ Did the deploy go out?"),
        (
            &ann,
            "Yes, one binary, copied and started. The client is inside it.",
        ),
        (&ann, "Release notes: https://example.com/releases/1.0"),
        (
            &bob,
            "Nice 🎉 I restarted the server during lunch and nothing got lost.",
        ),
        (
            &ann,
            "Reconnect with backoff, then a re-join with since = the last id.",
        ),
    ];
    for (who, text) in conversation {
        who.send(text).await;
        ann.wait_for_message(text).await;
        bob.wait_for_message(text).await;
    }
    // Some life in the sidebar: a second room with news in it.
    let field = ann.find("#join-room").await;
    field.send_keys("rust").await.expect("type");
    field.send_keys(keys::ENTER).await.expect("join");
    ann.wait_for("a[data-room='rust'][aria-current='page']")
        .await;
    ann.find("a[data-room='lobby']")
        .await
        .click()
        .await
        .expect("back to lobby");
    ann.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
    let cy = Page::join(&driver, &server, "Cy", "rust").await;
    cy.send("Anyone tried the new borrow checker errors?").await;
    ann.wait_for("a[data-room='rust'] .badge").await;
    bob.find("textarea[aria-label='Message']")
        .await
        .send_keys("Lunch at 12?")
        .await
        .expect("type");
    // Ann has a reply on its way in the message box.
    ann.find("textarea[aria-label='Message']")
        .await
        .send_keys("Sounds good")
        .await
        .expect("type");
    eventually("Ann to see Bob typing", || async {
        let line = ann.find(".typing").await.text().await.ok()?;
        line.contains("Bob").then_some(())
    })
    .await;
    assert_emoji_in_colour(&ann).await;

    let path = std::env::var_os("CHAT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::workspace_root().join("target/screenshots/chat.png"));
    ann.screenshot(&path).await;
    let size = std::fs::metadata(&path).expect("the screenshot").len();
    assert!(
        size > 20_000,
        "a screenshot of {size} bytes shows next to nothing"
    );
    eprintln!("screenshot: {}", path.display());

    // The same conversation on a phone.
    bob.client.set_window_size(390, 844).await.expect("resize");
    bob.wait_for_message("Reconnect with backoff, then a re-join with since = the last id.")
        .await;
    let phone = path.with_file_name(format!(
        "{}-phone.png",
        path.file_stem().and_then(|s| s.to_str()).unwrap_or("chat")
    ));
    // Let the layout settle after the resize.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    bob.screenshot(&phone).await;
    eprintln!("screenshot: {}", phone.display());
    ann.close().await;
    bob.close().await;
    cy.close().await;
}

/// Pixels of a 48 px emoji that must come out clearly coloured (far from
/// grey): a colour font gives over a thousand, a black outline none.
const MIN_COLOURED_PIXELS: u64 = 50;

/// Fails unless the page draws emoji in colour, as people see them: with
/// no colour emoji font, Chromium draws them as black outlines, or not at
/// all. Drawn on a canvas in the page's own font, and read back.
async fn assert_emoji_in_colour(page: &Page) {
    let coloured = page
        .eval(
            r#"
            const canvas = document.createElement('canvas');
            canvas.width = canvas.height = 64;
            const g = canvas.getContext('2d');
            g.font = '48px ' + getComputedStyle(document.body).fontFamily;
            g.textBaseline = 'top';
            g.fillText('\u{1F389}', 4, 4);
            const pixels = g.getImageData(0, 0, 64, 64).data;
            let coloured = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                const [r, gr, b, a] = pixels.slice(i, i + 4);
                if (a > 128 && Math.max(r, gr, b) - Math.min(r, gr, b) > 64) coloured++;
            }
            return coloured;
            "#,
        )
        .await;
    assert!(
        coloured.as_u64().unwrap_or(0) > MIN_COLOURED_PIXELS,
        "emoji are not drawn in colour ({coloured} coloured pixels of a 48 px emoji): install \
         Debian's fonts-noto-color-emoji (`cargo xtask setup` does)"
    );
}

#[tokio::test]
async fn problems_are_shown_in_words_where_the_person_is_looking() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let ann = Page::join(&driver, &server, "Ann", "lobby").await;

    // Ann in a second browser is the same person: listed once, and the
    // messages of either page are her own in both.
    let other = Page::join(&driver, &server, "Ann", "lobby").await;
    other.send("I am the same Ann").await;
    ann.wait_for_message("I am the same Ann").await;
    let members = ann
        .eval("return Array.from(document.querySelectorAll('.member-list .member-name')).map(e => e.textContent)")
        .await;
    assert_eq!(members, serde_json::json!(["Ann"]));
    let own = ann
        .eval("return Array.from(document.querySelectorAll('[role=log] .msg')).map(e => e.classList.contains('own'))")
        .await;
    assert_eq!(own, serde_json::json!([true]));

    // The counter appears before the limit, and a message over it cannot be sent.
    let set_text = |chars: usize| {
        format!(
            "const t = document.querySelector('textarea[aria-label=Message]'); \
             t.value = 'x'.repeat({chars}); t.dispatchEvent(new Event('input', {{bubbles: true}}));"
        )
    };
    ann.eval(&set_text(100)).await;
    assert_eq!(ann.find("#counter").await.text().await.expect("text"), "");
    ann.eval(&set_text(3_990)).await;
    assert_eq!(
        ann.find("#counter").await.text().await.expect("text"),
        "10 characters left"
    );
    ann.eval(&set_text(4_003)).await;
    assert_eq!(
        ann.find("#counter").await.text().await.expect("text"),
        "3 characters too many"
    );
    assert!(!ann
        .find("button.send")
        .await
        .is_enabled()
        .await
        .expect("state"));

    // A control character (pasted in) cannot be sent, and the page says why.
    ann.eval(
        "const t = document.querySelector('textarea[aria-label=Message]'); \
         t.value = 'ring \\u0007 bell'; t.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    .await;
    ann.find("button.send").await.click().await.expect("send");
    assert_eq!(
        ann.find("#counter").await.text().await.expect("text"),
        "The message contains control characters"
    );
    assert_eq!(ann.count("ring \u{7} bell").await, 0, "nothing was sent");
    ann.close().await;
    other.close().await;
}
