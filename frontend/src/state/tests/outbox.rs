//! What the person writes: pending until its echo, queued while offline, refused or over the rate limit and sent again with its nonce.

use super::*;

#[test]
fn a_message_written_online_is_pending_until_its_echo() {
    let mut chat = ann_in(&["lobby"]);
    let frames = chat.post(&room("lobby"), text("hello"), nonce("n1"));
    assert_eq!(
        frames,
        [ClientFrame::Send {
            room: room("lobby"),
            text: text("hello"),
            nonce: Some(nonce("n1"))
        }]
    );
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(lobby.outbox().items().len(), 1);
    assert!(texts(&chat, "lobby").is_empty());

    chat.receive(live(message("lobby", 1, "Ann", "hello", Some("n1"))), 0.0);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert!(lobby.outbox().is_empty());
    assert_eq!(texts(&chat, "lobby"), ["hello"]);
    assert_eq!(lobby.unread(), 0, "own messages are never unread");
}

#[test]
fn a_message_written_offline_is_sent_after_the_rejoin_with_its_nonce() {
    let mut chat = ann_in(&["lobby"]);
    chat.disconnected(Some(1_000), None);
    assert!(chat
        .post(&room("lobby"), text("while away"), nonce("n7"))
        .is_empty());
    assert_eq!(
        chat.room(&room("lobby"))
            .expect("room")
            .outbox()
            .items()
            .len(),
        1
    );

    let frames = chat.connected(2);
    assert!(
        sent_nonces(&frames).is_empty(),
        "not before the room is joined again"
    );
    let commands = chat.receive(joined("lobby", "Ann", vec![], false), 0.0);
    assert_eq!(
        commands,
        [Command::Send(ClientFrame::Send {
            room: room("lobby"),
            text: text("while away"),
            nonce: Some(nonce("n7")),
        })]
    );
    chat.receive(
        live(message("lobby", 1, "Ann", "while away", Some("n7"))),
        0.0,
    );
    assert_eq!(texts(&chat, "lobby"), ["while away"]);
    assert!(chat.room(&room("lobby")).expect("room").outbox().is_empty());
}

#[test]
fn a_refused_message_shows_why_and_is_sent_again_only_on_request() {
    let mut chat = ann_in(&["lobby"]);
    chat.post(&room("lobby"), text("spam"), nonce("n1"));
    chat.receive(
        Incoming::Error {
            code: None,
            message: "you are sending messages too fast".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n1")),
        },
        0.0,
    );
    let pending = &chat.room(&room("lobby")).expect("room").outbox().items()[0];
    assert_eq!(
        pending.state,
        PendingState::Failed("you are sending messages too fast".into())
    );
    chat.disconnected(Some(500), None);
    chat.connected(2);
    assert!(chat
        .receive(joined("lobby", "Ann", vec![], false), 0.0)
        .is_empty());
    assert_eq!(
        sent_nonces(&chat.retry(&room("lobby"), &nonce("n1"))),
        ["n1"]
    );
    chat.discard(&room("lobby"), &nonce("n1"));
    assert!(chat.room(&room("lobby")).expect("room").outbox().is_empty());
}

#[test]
fn a_message_over_the_rate_limit_is_sent_again_later_with_its_nonce() {
    let mut chat = ann_in(&["lobby"]);
    chat.post(&room("lobby"), text("quick"), nonce("n1"));
    let commands = chat.receive(
        Incoming::Error {
            code: Some(ErrorCode::RateLimited),
            message: "you are sending too fast".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n1")),
        },
        0.0,
    );
    assert_eq!(commands, [Command::ResendLater(room("lobby"))]);
    let pending = &chat.room(&room("lobby")).expect("room").outbox().items()[0];
    assert_eq!(
        pending.state,
        PendingState::Queued,
        "not failed: it goes again"
    );
    assert_eq!(sent_nonces(&chat.resend(&room("lobby"))), ["n1"]);
    assert!(chat.resend(&room("lobby")).is_empty(), "once per refusal");
}
