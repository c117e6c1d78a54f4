//! Rooms the server keeps for a person, in real headless Chromium against
//! the real release server: what one device reads is read on the others,
//! and a ban takes the room away from the open page of the one banned.

mod support;

use fantoccini::Locator;
use serde_json::json;
use support::accounts::request;
use support::{eventually, keys, Driver, Page, Server};

/// Opens `room` with the Room field, then goes back to `lobby`.
async fn join_then_back_to_lobby(page: &Page, room: &str) {
    let field = page.find("#join-room").await;
    field.send_keys(room).await.expect("type");
    field.send_keys(keys::ENTER).await.expect("join");
    page.wait_for(&format!("a[data-room='{room}'][aria-current='page']"))
        .await;
    page.find("a[data-room='lobby']")
        .await
        .click()
        .await
        .expect("open lobby");
    page.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
}

/// The unread count the room list shows for `room` on `page`, if any.
async fn badge(page: &Page, room: &str) -> Option<String> {
    let css = format!("a[data-room='{room}'] .badge");
    // The row is drawn anew when its count changes: look it up each time.
    page.client
        .find(Locator::Css(&css))
        .await
        .ok()?
        .text()
        .await
        .ok()
}

#[tokio::test]
async fn what_one_device_reads_is_no_longer_unread_on_the_other() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    // Ann on two devices (two browsers, each with its own storage).
    let laptop = Page::join(&driver, &server, "Ann", "lobby").await;
    let phone = Page::join(&driver, &server, "Ann", "lobby").await;
    for page in [&laptop, &phone] {
        join_then_back_to_lobby(page, "second").await;
    }

    let bob = Page::join(&driver, &server, "Bob", "second").await;
    bob.send("news in the second room").await;
    bob.send("and more").await;
    for page in [&laptop, &phone] {
        eventually("both devices to count 2 unread", || async {
            (badge(page, "second").await.as_deref() == Some("2")).then_some(())
        })
        .await;
    }

    // Read on the laptop: the phone's count goes too, without a touch.
    laptop
        .find("a[data-room='second']")
        .await
        .click()
        .await
        .expect("open second");
    laptop.wait_for_message("and more").await;
    eventually("the phone's count to go", || async {
        badge(&phone, "second").await.is_none().then_some(())
    })
    .await;
    assert_eq!(
        phone
            .find("a[data-room='second']")
            .await
            .attr("aria-label")
            .await
            .expect("label")
            .as_deref(),
        Some("#second"),
        "nothing unread is said either"
    );

    // What comes next is unread on the phone again.
    bob.send("one more").await;
    eventually("the phone to count the new one", || async {
        (badge(&phone, "second").await.as_deref() == Some("1")).then_some(())
    })
    .await;
    for page in [laptop, phone, bob] {
        page.close().await;
    }
}

#[tokio::test]
async fn a_ban_takes_the_room_away_from_the_open_page_and_says_so() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let bob = Page::join(&driver, &server, "Bob", "lobby").await;
    join_then_back_to_lobby(&bob, "team").await;
    bob.find("a[data-room='team']")
        .await
        .click()
        .await
        .expect("open team");
    bob.wait_for("a[data-room='team'][aria-current='page']")
        .await;

    // Ann, an administrator, bans Bob from the room (over HTTP, as a
    // moderator's page would).
    let ann = server.session_of("Ann").await;
    let answer = request(
        server.addr,
        "POST",
        "/api/rooms/team/bans",
        Some(&ann),
        Some(&json!({ "username": "bob" })),
    )
    .await;
    assert_eq!(answer.status, 201, "banning Bob: {answer:?}");

    bob.wait_for_gone("a[data-room='team']").await;
    bob.wait_for("a[data-room='lobby'][aria-current='page']")
        .await;
    let notices = bob.find(".notices").await.text().await.expect("notices");
    assert!(
        notices.contains("You were banned from #team by a moderator"),
        "the page says why the room went: {notices:?}"
    );
    // Coming back by its address is refused, in words.
    bob.client
        .goto(&server.room_url("team"))
        .await
        .expect("open the room's address");
    bob.wait_for("a[data-room='team']").await;
    eventually("the refusal to be shown", || async {
        let text = bob
            .client
            .find(Locator::Css(".banner.warning"))
            .await
            .ok()?;
        let text = text.text().await.ok()?;
        text.contains("Not in #team").then_some(())
    })
    .await;
    bob.close().await;
}
