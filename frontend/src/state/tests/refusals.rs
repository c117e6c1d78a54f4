//! The server's refusals: joins retried later, errors kept in words where they belong, a `send` refused as not joined.

use super::*;

#[test]
fn an_unknown_refusal_of_a_join_is_retried_later() {
    let mut chat = Chat::new(Some(person("Ann")), vec![], Some(room("lobby")));
    chat.connected(1);
    let commands = chat.receive(
        Incoming::Error {
            code: None,
            message: "slow down".into(),
            room: Some(room("lobby")),
            nonce: None,
        },
        0.0,
    );
    assert_eq!(commands, [Command::RejoinLater(room("lobby"))]);
    assert_eq!(
        chat.room(&room("lobby")).expect("room").notice(),
        Some("slow down")
    );
}

#[test]
fn errors_are_kept_in_words_where_they_belong() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(
        Incoming::Error {
            code: Some(ErrorCode::BadRequest),
            message: "malformed frame".into(),
            room: None,
            nonce: None,
        },
        0.0,
    );
    assert_eq!(chat.notice(), Some("malformed frame"));
    chat.dismiss_notice(None);
    assert_eq!(chat.notice(), None);
    chat.receive(
        Incoming::Error {
            code: Some(ErrorCode::EmptyText),
            message: "the message is empty".into(),
            room: Some(room("lobby")),
            nonce: None,
        },
        0.0,
    );
    assert_eq!(
        chat.room(&room("lobby")).expect("room").notice(),
        Some("the message is empty")
    );
    chat.dismiss_notice(Some(&room("lobby")));
    assert_eq!(chat.room(&room("lobby")).expect("room").notice(), None);
}

#[test]
fn a_message_refused_as_not_joined_waits_for_the_rejoin_with_its_nonce() {
    let mut chat = ann_in(&["lobby"]);
    chat.post(&room("lobby"), text("still here?"), nonce("n1"));
    // The server removed Ann from the room; her send is refused, not stored.
    let commands = chat.receive(
        Incoming::Error {
            code: Some(ErrorCode::NotJoined),
            message: "you are no longer in this room; join it again".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n1")),
        },
        0.0,
    );
    assert_eq!(commands, [Command::RejoinLater(room("lobby"))]);
    let pending = &chat.room(&room("lobby")).expect("room").outbox().items()[0];
    assert_eq!(pending.state, PendingState::Queued, "not failed: it waits");
    assert!(
        chat.resend(&room("lobby")).is_empty(),
        "not sent while out of the room"
    );
    let rejoin = chat.rejoin(&room("lobby"));
    assert!(
        matches!(rejoin[..], [ClientFrame::Join { .. }]),
        "{rejoin:?}"
    );
    let commands = chat.receive(joined("lobby", "Ann", vec![], false), 0.0);
    assert_eq!(
        commands,
        [Command::Send(ClientFrame::Send {
            room: room("lobby"),
            text: text("still here?"),
            nonce: Some(nonce("n1")),
        })]
    );
}
