//! The session: signing in and out, a session that ends under the page, and what is kept for the next page.

use super::*;

#[test]
fn a_connection_is_wanted_only_signed_in_and_with_a_room() {
    let mut chat = Chat::new(None, vec![], None);
    assert!(!chat.wants_connection());
    chat.idle();
    assert_eq!(chat.connection(), &Connection::Idle);
    chat.open_room(room("lobby"));
    assert!(!chat.wants_connection(), "not signed in yet");
    chat.signed_in(person("Ann"));
    assert!(chat.wants_connection());
    chat.leave_room(&room("lobby"));
    assert!(!chat.wants_connection(), "no room left");
}

#[test]
fn before_signing_in_nothing_is_joined_and_signing_in_joins() {
    let mut chat = Chat::new(None, vec![], Some(room("lobby")));
    assert!(chat.connected(1).is_empty());
    assert_eq!(
        chat.signed_in(person("Ann")),
        [ClientFrame::Join {
            room: room("lobby"),
            since: None
        }]
    );
    assert_eq!(chat.me(), Some(&person("Ann")));
    assert_eq!(chat.owner(), Some(1));
}

/// Ann in the lobby with a message sent and not confirmed, one queued
/// while offline and a draft, when her session ends (4001).
fn ann_whose_session_ended() -> Chat {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(live(message("lobby", 3, "Bob", "hi", None)), 0.0);
    chat.post(&room("lobby"), text("sent"), nonce("n1"));
    chat.keep_draft(&room("lobby"), "half a thought".into());
    chat.disconnected(Some(500), Some(CloseCode::SessionEnded.code()));
    chat.post(&room("lobby"), text("queued"), nonce("n2"));
    chat
}

#[test]
fn a_session_that_ends_asks_to_sign_in_and_keeps_what_was_written() {
    let mut chat = ann_whose_session_ended();
    assert_eq!(chat.me(), None);
    assert!(chat.session_ended());
    assert!(
        !chat.wants_connection(),
        "no reconnecting with a dead cookie"
    );
    assert_eq!(chat.owner(), Some(1));
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(lobby.outbox().items().len(), 2);
    assert_eq!(lobby.draft(), "half a thought");
    assert_eq!(lobby.membership(), &Membership::Waiting);

    // Signed in again: joined with `since`, and the outbox goes out after
    // the history, with its nonces; what the history holds is not resent.
    assert!(
        chat.signed_in(person("Ann")).is_empty(),
        "not connected yet"
    );
    assert!(!chat.session_ended());
    assert_eq!(
        chat.connected(2),
        [ClientFrame::Join {
            room: room("lobby"),
            since: Some(3)
        }]
    );
    let commands = chat.receive(
        joined(
            "lobby",
            "Ann",
            vec![message("lobby", 4, "Ann", "sent", Some("n1"))],
            false,
        ),
        0.0,
    );
    assert_eq!(
        commands,
        [Command::Send(ClientFrame::Send {
            room: room("lobby"),
            text: text("queued"),
            nonce: Some(nonce("n2")),
        })]
    );
    assert_eq!(texts(&chat, "lobby"), ["hi", "sent"]);
}

#[test]
fn any_close_but_4001_keeps_the_session() {
    let mut chat = ann_in(&["lobby"]);
    for code in [None, Some(1001), Some(1006), Some(1008), Some(4000)] {
        chat.disconnected(Some(500), code);
        assert_eq!(chat.me(), Some(&person("Ann")), "{code:?}");
        assert!(chat.wants_connection());
        chat.connected(2);
    }
}

#[test]
fn signing_out_is_not_a_session_that_ended() {
    let mut chat = ann_in(&["lobby"]);
    chat.signed_out();
    assert_eq!(chat.me(), None);
    assert!(
        !chat.session_ended(),
        "nothing to explain: the person did it"
    );
    assert!(!chat.wants_connection());
    // An API call answering 401 ends the session as 4001 does.
    let mut chat = ann_in(&["lobby"]);
    chat.session_ends();
    assert!(chat.session_ended());
    assert_eq!(chat.me(), None);
}

#[test]
fn what_is_kept_comes_back_on_the_next_page_and_is_sent() {
    let mut chat = ann_whose_session_ended();
    chat.open_room(room("dev"));
    chat.keep_draft(&room("dev"), "for dev".into());
    chat.open_room(room("lobby"));
    let saved = chat.saved();
    assert_eq!(saved.active, Some(room("lobby")));
    // Through the text local storage holds, as a reload does.
    let saved = crate::saved::Saved::decode(&saved.encode()).expect("readable");

    let mut next = Chat::restored(person("Ann"), saved, None);
    assert_eq!(next.active(), Some(&room("lobby")));
    let names: Vec<&str> = next.rooms().iter().map(|r| r.name().as_str()).collect();
    assert_eq!(names, ["lobby", "dev"]);
    let lobby = next.room(&room("lobby")).expect("room");
    assert_eq!(lobby.draft(), "half a thought");
    assert_eq!(
        lobby.message_count(),
        0,
        "others' messages come from the server"
    );
    assert_eq!(next.room(&room("dev")).expect("room").draft(), "for dev");
    let joins = next.connected(1);
    assert_eq!(joins.len(), 2);
    let commands = next.receive(joined("lobby", "Ann", vec![], false), 0.0);
    let sent: Vec<ClientFrame> = commands
        .into_iter()
        .map(|command| match command {
            Command::Send(frame) => frame,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sent_nonces(&sent),
        ["n1", "n2"],
        "oldest first, same nonces"
    );

    // The address's room wins over the saved one.
    let other = Chat::restored(person("Ann"), chat.saved(), Some(room("ops")));
    assert_eq!(other.active(), Some(&room("ops")));
    assert_eq!(other.rooms().len(), 3);
}

#[test]
fn a_refused_message_stays_refused_on_the_next_page() {
    let mut chat = ann_in(&["lobby"]);
    chat.post(&room("lobby"), text("bad"), nonce("n1"));
    chat.receive(
        Incoming::Error {
            code: Some(ErrorCode::InvalidText),
            message: "the text contains control characters".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n1")),
        },
        0.0,
    );
    let mut next = Chat::restored(person("Ann"), chat.saved(), None);
    next.connected(1);
    assert!(next
        .receive(joined("lobby", "Ann", vec![], false), 0.0)
        .is_empty());
    let pending = &next.room(&room("lobby")).expect("room").outbox().items()[0];
    assert!(matches!(pending.state, PendingState::Failed(_)));
}
