//! Whole conversations driven through the reducer: what is shown and what
//! is sent, across reconnects.

use super::*;
use crate::outbox::PendingState;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

fn person(name: &str) -> DisplayName {
    DisplayName::parse(name).expect("valid name")
}

fn text(t: &str) -> MessageText {
    MessageText::parse(t).expect("valid text")
}

fn nonce(n: &str) -> Nonce {
    Nonce::parse(n).expect("valid nonce")
}

fn message(
    room_name: &str,
    id: MessageId,
    author: &str,
    body: &str,
    n: Option<&str>,
) -> ChatMessage {
    ChatMessage {
        room: room(room_name),
        id,
        name: person(author),
        text: text(body),
        ts: 1_700_000_000_000 + id,
        nonce: n.map(nonce),
    }
}

fn joined(room_name: &str, me: &str, history: Vec<ChatMessage>, has_older: bool) -> Incoming {
    Incoming::Frame(ServerFrame::Joined {
        room: room(room_name),
        name: person(me),
        members: vec![person(me), person("Bob")],
        history,
        has_older,
    })
}

fn live(m: ChatMessage) -> Incoming {
    Incoming::Frame(ServerFrame::Message(m))
}

/// Ann, with `rooms`, showing the first, connected on connection 1 and
/// joined everywhere with empty histories.
fn ann_in(rooms: &[&str]) -> Chat {
    let names = rooms.iter().map(|r| room(r)).collect();
    let mut chat = Chat::new(Some(person("Ann")), names, Some(room(rooms[0])));
    chat.connected(1);
    for r in rooms {
        chat.receive(joined(r, "Ann", vec![], false), 0.0);
    }
    chat
}

fn texts(chat: &Chat, room_name: &str) -> Vec<String> {
    chat.room(&room(room_name))
        .expect("room")
        .messages()
        .map(|m| m.text.to_string())
        .collect()
}

fn sent_nonces(frames: &[ClientFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            ClientFrame::Send { nonce, .. } => nonce.as_ref().map(|n| n.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn decode_understands_known_frames_and_survives_newer_ones() {
    let frame =
        Incoming::decode(r#"{"type":"presence","room":"lobby","joined":["Cid"],"left":["Bob"]}"#);
    assert_eq!(
        frame,
        Incoming::Frame(ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![person("Cid")],
            left: vec![person("Bob")],
        })
    );
    let known = Incoming::decode(
        r#"{"type":"error","code":"too_long","message":"too long","room":"lobby","nonce":"n1"}"#,
    );
    assert_eq!(
        known,
        Incoming::Error {
            code: Some(ErrorCode::TooLong),
            message: "too long".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n1")),
        }
    );
    let newer = Incoming::decode(
        r#"{"type":"error","code":"brand_new","message":"slow down","room":"lobby","nonce":"n2"}"#,
    );
    assert_eq!(
        newer,
        Incoming::Error {
            code: None,
            message: "slow down".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n2")),
        }
    );
    assert_eq!(
        Incoming::decode(r#"{"type":"reaction","room":"lobby"}"#),
        Incoming::Unknown
    );
    assert_eq!(Incoming::decode("not json"), Incoming::Unknown);
}

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
                name: person("Ann"),
                since: None
            },
            ClientFrame::Join {
                room: room("dev"),
                name: person("Ann"),
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
                name: person("Ann"),
                since: Some(4)
            },
            ClientFrame::Join {
                room: room("dev"),
                name: person("Ann"),
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
fn without_a_name_nothing_is_joined_until_one_is_chosen() {
    let mut chat = Chat::new(None, vec![], Some(room("lobby")));
    assert!(chat.connected(1).is_empty());
    assert_eq!(
        chat.set_name(person("Ann")),
        [ClientFrame::Join {
            room: room("lobby"),
            name: person("Ann"),
            since: None
        }]
    );
    assert_eq!(chat.name(), Some(&person("Ann")));
}

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
fn messages_in_other_rooms_count_as_unread_until_opened() {
    let mut chat = ann_in(&["lobby", "dev"]);
    chat.receive(live(message("dev", 1, "Bob", "psst", None)), 0.0);
    chat.receive(live(message("dev", 2, "Bob", "psst again", None)), 0.0);
    chat.receive(
        live(message("dev", 3, "Ann", "mine from another tab", None)),
        0.0,
    );
    chat.receive(live(message("lobby", 1, "Bob", "seen", None)), 0.0);
    assert_eq!(chat.room(&room("dev")).expect("room").unread(), 2);
    assert_eq!(chat.room(&room("lobby")).expect("room").unread(), 0);
    assert_eq!(chat.total_unread(), 2);
    assert!(chat.open_room(room("dev")).is_empty(), "already joined");
    assert_eq!(chat.room(&room("dev")).expect("room").unread(), 0);
    assert_eq!(chat.active(), Some(&room("dev")));
}

#[test]
fn messages_missed_while_offline_in_another_room_count_as_unread() {
    let mut chat = ann_in(&["lobby", "dev"]);
    chat.receive(live(message("dev", 1, "Bob", "before", None)), 0.0);
    chat.open_room(room("dev"));
    chat.open_room(room("lobby"));
    chat.disconnected(Some(500), None);
    chat.connected(2);
    chat.receive(
        joined(
            "dev",
            "Ann",
            vec![message("dev", 2, "Bob", "during", None)],
            false,
        ),
        0.0,
    );
    assert_eq!(chat.room(&room("dev")).expect("room").unread(), 1);
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
fn a_taken_name_sends_the_person_back_to_the_name_field() {
    let mut chat = Chat::new(Some(person("Ann")), vec![], Some(room("lobby")));
    chat.connected(1);
    let commands = chat.receive(
        Incoming::Error {
            code: Some(ErrorCode::NameTaken),
            message: "the name Ann is already taken in this room".into(),
            room: Some(room("lobby")),
            nonce: None,
        },
        0.0,
    );
    assert!(commands.is_empty());
    assert_eq!(
        chat.name_problem(),
        Some("the name Ann is already taken in this room")
    );
    assert!(matches!(
        chat.room(&room("lobby")).expect("room").membership(),
        Membership::Refused(_)
    ));
    let frames = chat.set_name(person("Ann2"));
    assert_eq!(
        frames,
        [ClientFrame::Join {
            room: room("lobby"),
            name: person("Ann2"),
            since: None
        }]
    );
    assert_eq!(chat.name_problem(), None);
}

#[test]
fn a_name_still_held_by_the_lost_connection_is_retried_later() {
    let mut chat = ann_in(&["lobby"]);
    chat.disconnected(Some(500), None);
    chat.connected(2);
    let taken = Incoming::Error {
        code: Some(ErrorCode::NameTaken),
        message: "the name Ann is already taken in this room".into(),
        room: Some(room("lobby")),
        nonce: None,
    };
    assert_eq!(
        chat.receive(taken.clone(), 0.0),
        [Command::RejoinLater(room("lobby"))]
    );
    assert_eq!(chat.name_problem(), None);
    assert_eq!(
        chat.rejoin(&room("lobby")),
        [ClientFrame::Join {
            room: room("lobby"),
            name: person("Ann"),
            since: None
        }]
    );
    // Not forever: after REJOIN_ATTEMPTS the person is asked.
    for _ in 1..REJOIN_ATTEMPTS {
        assert_eq!(chat.receive(taken.clone(), 0.0).len(), 1);
        chat.rejoin(&room("lobby"));
    }
    assert!(chat.receive(taken, 0.0).is_empty());
    assert!(chat.name_problem().is_some());
}

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

#[test]
fn typing_is_shown_for_a_while_and_ends_with_a_message_or_a_leave() {
    let mut chat = ann_in(&["lobby"]);
    let typing = |name: &str| {
        Incoming::Frame(ServerFrame::Typing {
            room: room("lobby"),
            name: person(name),
        })
    };
    chat.receive(typing("Bob"), 1_000.0);
    chat.receive(typing("Ann"), 1_000.0);
    chat.receive(typing("Cy"), 2_000.0);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(
        lobby.typing(1_500.0),
        [&person("Bob"), &person("Cy")],
        "never oneself"
    );
    assert_eq!(lobby.typing(1_000.0 + TYPING_SHOWN_MS), [&person("Cy")]);

    chat.receive(live(message("lobby", 1, "Bob", "done", None)), 2_100.0);
    assert_eq!(
        chat.room(&room("lobby")).expect("room").typing(2_200.0),
        [&person("Cy")]
    );
    chat.receive(
        Incoming::Frame(ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![],
            left: vec![person("Cy")],
        }),
        2_300.0,
    );
    let lobby = chat.room(&room("lobby")).expect("room");
    assert!(lobby.typing(2_400.0).is_empty());
    assert_eq!(lobby.members(), [person("Ann"), person("Bob")]);
    chat.receive(typing("Bob"), 3_000.0);
    chat.expire_typing(3_000.0 + TYPING_SHOWN_MS);
    assert!(chat
        .room(&room("lobby"))
        .expect("room")
        .typing(0.0)
        .is_empty());
}

#[test]
fn typing_frames_go_only_to_joined_rooms() {
    let mut chat = ann_in(&["lobby"]);
    assert_eq!(
        chat.typing_frame(&room("lobby")),
        Some(ClientFrame::Typing {
            room: room("lobby")
        })
    );
    assert_eq!(chat.typing_frame(&room("elsewhere")), None);
    chat.disconnected(Some(500), None);
    assert_eq!(chat.typing_frame(&room("lobby")), None);
}

#[test]
fn leaving_a_room_says_so_and_shows_a_neighbour() {
    let mut chat = ann_in(&["lobby", "dev", "ops"]);
    chat.open_room(room("dev"));
    assert_eq!(
        chat.leave_room(&room("dev")),
        [ClientFrame::Leave { room: room("dev") }]
    );
    assert_eq!(chat.active(), Some(&room("ops")));
    chat.leave_room(&room("ops"));
    assert_eq!(chat.active(), Some(&room("lobby")));
    chat.leave_room(&room("lobby"));
    assert_eq!(chat.active(), None);
    assert!(chat.rooms().is_empty());
    assert!(chat.leave_room(&room("lobby")).is_empty());
    // A `joined` that was on its way for a room left meanwhile is ignored.
    assert!(chat
        .receive(joined("dev", "Ann", vec![], false), 0.0)
        .is_empty());
    assert!(chat.room(&room("dev")).is_none());
}

#[test]
fn a_new_name_rejoins_every_room_under_it() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(live(message("lobby", 5, "Bob", "hi", None)), 0.0);
    assert_eq!(
        chat.set_name(person("Annie")),
        [
            ClientFrame::Leave {
                room: room("lobby")
            },
            ClientFrame::Join {
                room: room("lobby"),
                name: person("Annie"),
                since: Some(5)
            },
        ]
    );
}

#[test]
fn opening_a_new_room_joins_it_when_connected() {
    let mut chat = ann_in(&["lobby"]);
    assert_eq!(
        chat.open_room(room("dev")),
        [ClientFrame::Join {
            room: room("dev"),
            name: person("Ann"),
            since: None
        }]
    );
    assert_eq!(
        chat.rooms()
            .iter()
            .map(|r| r.name().as_str())
            .collect::<Vec<_>>(),
        ["lobby", "dev"]
    );
    chat.disconnected(None, None);
    assert_eq!(chat.connection(), &Connection::Closed);
    assert!(
        chat.open_room(room("ops")).is_empty(),
        "joined on the next connection"
    );
}

#[test]
fn a_draft_stays_with_its_room() {
    let mut chat = ann_in(&["lobby", "dev"]);
    chat.keep_draft(&room("lobby"), "half a thought".into());
    chat.open_room(room("dev"));
    assert_eq!(
        chat.room(&room("lobby")).expect("room").draft(),
        "half a thought"
    );
    assert_eq!(chat.room(&room("dev")).expect("room").draft(), "");
    chat.keep_draft(&room("gone"), "nowhere".into());
    assert!(chat.room(&room("gone")).is_none());
}

fn presence(joined: &[&str], left: &[&str]) -> Incoming {
    Incoming::Frame(ServerFrame::Presence {
        room: room("lobby"),
        joined: joined.iter().map(|n| person(n)).collect(),
        left: left.iter().map(|n| person(n)).collect(),
    })
}

fn members(chat: &Chat) -> Vec<String> {
    chat.room(&room("lobby"))
        .expect("room")
        .members()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn presence_changes_remove_who_left_then_add_who_came() {
    let mut chat = ann_in(&["lobby"]);
    assert_eq!(members(&chat), ["Ann", "Bob"]);
    chat.receive(presence(&["Cy", "Di"], &[]), 0.0);
    assert_eq!(members(&chat), ["Ann", "Bob", "Cy", "Di"]);
    // Bob left and came back within one burst: he is now the newest.
    chat.receive(presence(&["Bob"], &["Bob", "Cy"]), 0.0);
    assert_eq!(members(&chat), ["Ann", "Di", "Bob"]);
    // Applying the same change again changes nothing.
    chat.receive(presence(&["Bob"], &["Cy"]), 0.0);
    assert_eq!(members(&chat), ["Ann", "Di", "Bob"]);
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

#[test]
fn a_connection_is_wanted_only_with_a_name_and_a_room() {
    let mut chat = Chat::new(None, vec![], None);
    assert!(!chat.wants_connection());
    chat.idle();
    assert_eq!(chat.connection(), &Connection::Idle);
    chat.open_room(room("lobby"));
    assert!(!chat.wants_connection(), "no name yet");
    chat.set_name(person("Ann"));
    assert!(chat.wants_connection());
    chat.leave_room(&room("lobby"));
    assert!(!chat.wants_connection(), "no room left");
}

#[test]
fn only_ones_own_name_as_stored_is_oneself() {
    let mut chat = ann_in(&["lobby", "dev"]);
    // Someone named "ANN" wrote before Ann came: not Ann's message.
    chat.receive(live(message("dev", 1, "ANN", "old", None)), 0.0);
    assert_eq!(chat.room(&room("dev")).expect("room").unread(), 1);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert!(lobby.is_me(&person("Ann")));
    assert!(!lobby.is_me(&person("ANN")));
}

#[test]
fn decoding_by_type_reads_every_frame_as_the_protocol_types_do() {
    let frames = [
        r#"{"type":"joined","room":"lobby","name":"Ann","members":["Bob","Ann"],"history":[{"room":"lobby","id":7,"name":"Ann","text":"hi <b>all</b>","ts":1700000000000,"nonce":"n-0"}],"has_older":true}"#,
        r#"{"type":"joined","room":"lobby","name":"Ann","members":["Ann"],"history":[],"has_older":false}"#,
        r#"{"type":"message","room":"lobby","id":8,"name":"Ann","text":"hi <b>all</b>","ts":1700000000000,"nonce":"n-1"}"#,
        r#"{"type":"message","room":"lobby","id":9,"name":"Bob","text":"x","ts":1}"#,
        r#"{"type":"presence","room":"lobby","joined":["Cid"],"left":["Bob"]}"#,
        r#"{"type":"presence","room":"lobby","left":["Bob"]}"#,
        r#"{"type":"presence","room":"lobby","joined":["Cid"]}"#,
        r#"{"type":"typing","room":"lobby","name":"Ann"}"#,
        r#"{"type":"error","code":"name_taken","message":"the name is taken"}"#,
        r#"{"type":"error","code":"too_long","message":"too long","room":"lobby","nonce":"n-2"}"#,
        r#"{"name":"Ann","type":"typing","room":"lobby","extra":1}"#,
    ];
    for text in frames {
        let expected = match ServerFrame::decode(text).expect("a valid frame") {
            ServerFrame::Error(error) => Incoming::Error {
                code: Some(error.code),
                message: error.message,
                room: error.room,
                nonce: error.nonce,
            },
            frame => Incoming::Frame(frame),
        };
        assert_eq!(Incoming::decode(text), expected, "{text}");
    }
    for broken in [
        r#"{"type":"message","room":"lobby"}"#,
        r#"{"type":"typing","room":"Lobby","name":"Ann"}"#,
        r#"{"room":"lobby"}"#,
        r#"[]"#,
    ] {
        assert_eq!(Incoming::decode(broken), Incoming::Unknown, "{broken}");
    }
}
