//! Reconnecting: every room joined again with `since`, what was stored or lost with the connection sent once, a gap too large started over with older pages.

use super::*;

#[test]
fn connecting_joins_every_room_and_reconnecting_joins_with_since() {
    let mut chat = Chat::new(
        Some(person("Ann")),
        vec![room("lobby"), room("dev")],
        Some(room("lobby")),
    );
    assert_eq!(chat.connection(), &Connection::Connecting);
    let frames = chat.connected(1);
    assert_eq!(
        frames,
        [
            ClientFrame::Join {
                room: room("lobby"),
                since: None
            },
            ClientFrame::Join {
                room: room("dev"),
                since: None
            },
        ]
    );
    chat.receive(
        joined(
            "lobby",
            "Ann",
            vec![message("lobby", 3, "Bob", "hi", None)],
            false,
        ),
        0.0,
    );
    chat.receive(joined("dev", "Ann", vec![], false), 0.0);
    chat.receive(live(message("lobby", 4, "Bob", "there?", None)), 0.0);

    chat.disconnected(Some(500), Some(CloseCode::GoingAway.code()));
    assert_eq!(chat.connection(), &Connection::Offline { retry_in_ms: 500 });
    assert_eq!(
        chat.room(&room("lobby")).expect("room").membership(),
        &Membership::Waiting
    );
    let frames = chat.connected(2);
    assert_eq!(
        frames,
        [
            ClientFrame::Join {
                room: room("lobby"),
                since: Some(4)
            },
            ClientFrame::Join {
                room: room("dev"),
                since: None
            },
        ]
    );
    // The re-join's history holds what came in between; nothing shows twice.
    chat.receive(
        joined(
            "lobby",
            "Ann",
            vec![message("lobby", 5, "Bob", "missed", None)],
            false,
        ),
        0.0,
    );
    chat.receive(live(message("lobby", 5, "Bob", "missed", None)), 0.0);
    assert_eq!(texts(&chat, "lobby"), ["hi", "there?", "missed"]);
}

#[test]
fn a_message_stored_before_the_connection_died_is_not_sent_again() {
    let mut chat = ann_in(&["lobby"]);
    let frames = chat.post(&room("lobby"), text("did it arrive?"), nonce("n1"));
    assert_eq!(sent_nonces(&frames), ["n1"]);
    // The connection dies before the echo; the server did store it.
    chat.disconnected(Some(500), None);
    chat.connected(2);
    let commands = chat.receive(
        joined(
            "lobby",
            "Ann",
            vec![message("lobby", 9, "Ann", "did it arrive?", Some("n1"))],
            false,
        ),
        0.0,
    );
    assert!(commands.is_empty(), "found in the history: {commands:?}");
    assert_eq!(texts(&chat, "lobby"), ["did it arrive?"]);
    assert!(chat.room(&room("lobby")).expect("room").outbox().is_empty());
}

#[test]
fn a_message_lost_with_the_connection_is_sent_again_once() {
    let mut chat = ann_in(&["lobby"]);
    chat.post(&room("lobby"), text("lost"), nonce("n1"));
    chat.disconnected(Some(500), None);
    chat.connected(2);
    let commands = chat.receive(joined("lobby", "Ann", vec![], false), 0.0);
    assert_eq!(commands.len(), 1);
    // Another `joined` on the same connection would not send it twice.
    assert!(chat
        .receive(joined("lobby", "Ann", vec![], false), 0.0)
        .is_empty());
}

#[test]
fn a_rejoin_that_missed_too_much_starts_over_with_older_pages() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(live(message("lobby", 1, "Bob", "old", None)), 0.0);
    chat.disconnected(Some(500), None);
    chat.connected(2);
    chat.receive(
        joined(
            "lobby",
            "Ann",
            vec![message("lobby", 2_000, "Bob", "new", None)],
            true,
        ),
        0.0,
    );
    assert_eq!(texts(&chat, "lobby"), ["new"]);
    assert!(chat.room(&room("lobby")).expect("room").has_older());

    assert_eq!(chat.start_loading_older(&room("lobby")), Some(2_000));
    assert_eq!(
        chat.start_loading_older(&room("lobby")),
        None,
        "one load at a time"
    );
    chat.older_loaded(MessagePage {
        room: room("lobby"),
        messages: vec![message("lobby", 1_999, "Bob", "between", None)],
        has_older: false,
    });
    assert_eq!(texts(&chat, "lobby"), ["between", "new"]);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert!(!lobby.has_older() && !lobby.loading_older());
    assert_eq!(
        chat.start_loading_older(&room("lobby")),
        None,
        "nothing older"
    );
}

#[test]
fn a_connection_closed_as_too_big_does_not_resend_what_it_carried() {
    let mut chat = ann_in(&["lobby"]);
    chat.post(&room("lobby"), text("huge"), nonce("n1"));
    chat.disconnected(Some(500), Some(CloseCode::MessageTooBig.code()));
    chat.connected(2);
    assert!(chat
        .receive(joined("lobby", "Ann", vec![], false), 0.0)
        .is_empty());
    let pending = &chat.room(&room("lobby")).expect("room").outbox().items()[0];
    assert!(matches!(pending.state, PendingState::Failed(_)));
}
