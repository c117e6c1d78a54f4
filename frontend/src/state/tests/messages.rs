//! Messages shown once (by id, and by author and nonce), and older pages.

use super::*;

#[test]
fn the_same_message_is_shown_once_by_id_and_by_nonce() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(live(message("lobby", 1, "Bob", "one", Some("b1"))), 0.0);
    chat.receive(live(message("lobby", 1, "Bob", "one", Some("b1"))), 0.0);
    // Stored twice by the server (a resend whose first copy arrived late).
    chat.receive(live(message("lobby", 2, "Bob", "one", Some("b1"))), 0.0);
    // The same nonce from someone else is another message.
    chat.receive(live(message("lobby", 3, "Cy", "three", Some("b1"))), 0.0);
    assert_eq!(texts(&chat, "lobby"), ["one", "three"]);
}

#[test]
fn a_failed_load_of_older_messages_is_shown_and_can_be_tried_again() {
    let mut chat = Chat::new(Some(person("Ann")), vec![], Some(room("lobby")));
    chat.connected(1);
    chat.receive(
        joined(
            "lobby",
            "Ann",
            vec![message("lobby", 60, "Bob", "x", None)],
            true,
        ),
        0.0,
    );
    assert_eq!(chat.start_loading_older(&room("lobby")), Some(60));
    chat.older_failed(&room("lobby"), "the server is unavailable".into());
    assert_eq!(
        chat.room(&room("lobby")).expect("room").notice(),
        Some("the server is unavailable")
    );
    assert_eq!(chat.start_loading_older(&room("lobby")), Some(60));
}

#[test]
fn the_same_nonce_from_two_authors_is_two_messages() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(live(message("lobby", 1, "Bob", "one", Some("n1"))), 0.0);
    chat.receive(live(message("lobby", 2, "Cy", "two", Some("n1"))), 0.0);
    // A resend the server stored twice (same author, same nonce): once.
    chat.receive(live(message("lobby", 3, "Bob", "one", Some("n1"))), 0.0);
    assert_eq!(texts(&chat, "lobby"), ["one", "two"]);
}
