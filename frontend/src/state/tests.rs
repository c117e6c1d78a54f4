//! Whole conversations driven through the reducer: what is shown and what
//! is sent, across reconnects.

use super::*;
use crate::outbox::PendingState;
use common::api::MessagePage;
use common::{
    ChatMessage, CloseCode, DisplayName, ErrorCode, MessageId, MessageText, Nonce, Person,
    ServerFrame, UserId,
};

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

fn dname(name: &str) -> DisplayName {
    DisplayName::parse(name).expect("valid name")
}

/// The account of each name of these tests: Ann is 1, Bob 2, Cy 3, Di 4,
/// anyone else 9.
fn id_of(name: &str) -> UserId {
    match name {
        "Ann" => 1,
        "Bob" => 2,
        "Cy" => 3,
        "Di" => 4,
        _ => 9,
    }
}

fn person(name: &str) -> Person {
    Person {
        user_id: id_of(name),
        username: common::Username::parse(name.to_lowercase()).expect("valid username"),
        display_name: dname(name),
    }
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
        name: dname(author),
        user_id: Some(id_of(author)),
        username: Some(person(author).username),
        text: text(body),
        ts: 1_700_000_000_000 + id,
        nonce: n.map(nonce),
    }
}

fn joined(room_name: &str, me: &str, history: Vec<ChatMessage>, has_older: bool) -> Incoming {
    Incoming::Frame(ServerFrame::Joined {
        room: room(room_name),
        you: person(me),
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
    let frame = Incoming::decode(
        r#"{"type":"presence","room":"lobby","joined":[{"user_id":3,"username":"cy","display_name":"Cy"}],"left":[2]}"#,
    );
    assert_eq!(
        frame,
        Incoming::Frame(ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![person("Cy")],
            left: vec![2],
            updated: vec![],
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
            user_id: id_of(name),
            name: dname(name),
        })
    };
    chat.receive(presence(&["Cy"], &[]), 0.0);
    chat.receive(typing("Bob"), 1_000.0);
    chat.receive(typing("Ann"), 1_000.0);
    chat.receive(typing("Cy"), 2_000.0);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(
        lobby.typing(1_500.0),
        [&dname("Bob"), &dname("Cy")],
        "never oneself"
    );
    assert_eq!(lobby.typing(1_000.0 + TYPING_SHOWN_MS), [&dname("Cy")]);

    chat.receive(live(message("lobby", 1, "Bob", "done", None)), 2_100.0);
    assert_eq!(
        chat.room(&room("lobby")).expect("room").typing(2_200.0),
        [&dname("Cy")]
    );
    chat.receive(presence(&[], &["Cy"]), 2_300.0);
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
fn opening_a_new_room_joins_it_when_connected() {
    let mut chat = ann_in(&["lobby"]);
    assert_eq!(
        chat.open_room(room("dev")),
        [ClientFrame::Join {
            room: room("dev"),
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
        left: left.iter().map(|n| id_of(n)).collect(),
        updated: vec![],
    })
}

fn members(chat: &Chat) -> Vec<String> {
    chat.room(&room("lobby"))
        .expect("room")
        .members()
        .iter()
        .map(|member| member.display_name.to_string())
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
fn decoding_by_type_reads_every_frame_as_the_protocol_types_do() {
    let ann = r#"{"user_id":1,"username":"ann","display_name":"Ann"}"#;
    let bob = r#"{"user_id":2,"username":"bob","display_name":"Bob"}"#;
    let frames = [
        format!(
            r#"{{"type":"joined","room":"lobby","you":{ann},"members":[{bob},{ann}],"history":[{{"room":"lobby","id":7,"name":"Ann","user_id":1,"username":"ann","text":"hi <b>all</b>","ts":1700000000000,"nonce":"n-0"}},{{"room":"lobby","id":8,"name":"Old","text":"before accounts","ts":1}}],"has_older":true}}"#
        ),
        format!(
            r#"{{"type":"joined","room":"lobby","you":{ann},"members":[{ann}],"history":[],"has_older":false}}"#
        ),
        r#"{"type":"message","room":"lobby","id":8,"name":"Ann","user_id":1,"username":"ann","text":"hi <b>all</b>","ts":1700000000000,"nonce":"n-1"}"#.to_owned(),
        r#"{"type":"message","room":"lobby","id":9,"name":"Bob","text":"x","ts":1}"#.to_owned(),
        format!(r#"{{"type":"presence","room":"lobby","joined":[{bob}],"left":[3],"updated":[{ann}]}}"#),
        r#"{"type":"presence","room":"lobby","left":[2]}"#.to_owned(),
        format!(r#"{{"type":"presence","room":"lobby","joined":[{bob}]}}"#),
        format!(r#"{{"type":"presence","room":"lobby","updated":[{bob}]}}"#),
        r#"{"type":"typing","room":"lobby","user_id":1,"name":"Ann"}"#.to_owned(),
        r#"{"type":"error","code":"protocol_version","message":"join has no name"}"#.to_owned(),
        r#"{"type":"error","code":"too_long","message":"too long","room":"lobby","nonce":"n-2"}"#.to_owned(),
        r#"{"name":"Ann","type":"typing","user_id":1,"room":"lobby","extra":1}"#.to_owned(),
    ];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
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
        // Version 1's typing and presence, by name only.
        r#"{"type":"typing","room":"lobby","name":"Ann"}"#,
        r#"{"type":"presence","room":"lobby","left":["Bob"]}"#,
        r#"{"room":"lobby"}"#,
        r#"[]"#,
    ] {
        assert_eq!(Incoming::decode(broken), Incoming::Unknown, "{broken}");
    }
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

#[test]
fn ones_own_messages_are_told_by_account_never_by_name() {
    let mut chat = ann_in(&["lobby", "dev"]);
    // Another account also shows as "Ann"; and "Ann" wrote before
    // accounts. Neither is Ann's.
    let mut other_ann = message("dev", 1, "Ann", "another Ann", None);
    other_ann.user_id = Some(42);
    let mut old = message("dev", 2, "Ann", "before accounts", None);
    old.user_id = None;
    old.username = None;
    chat.receive(live(other_ann), 0.0);
    chat.receive(live(old), 0.0);
    assert_eq!(chat.room(&room("dev")).expect("room").unread(), 2);
    chat.receive(live(message("dev", 3, "Ann", "mine", None)), 0.0);
    let dev = chat.room(&room("dev")).expect("room");
    assert_eq!(dev.unread(), 2, "one's own message is not unread");
    assert!(dev.is_me(Some(1)));
    assert!(!dev.is_me(Some(42)));
    assert!(!dev.is_me(None), "an author without an account is nobody");
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

#[test]
fn presence_updates_replace_the_person_in_place() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(presence(&["Cy"], &[]), 0.0);
    chat.receive(
        Incoming::Frame(ServerFrame::Typing {
            room: room("lobby"),
            user_id: 2,
            name: dname("Bob"),
        }),
        0.0,
    );
    let mut robert = person("Bob");
    robert.display_name = dname("Robert");
    let mut annie = person("Ann");
    annie.display_name = dname("Annie");
    chat.receive(
        Incoming::Frame(ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![],
            left: vec![],
            updated: vec![robert, annie.clone()],
        }),
        1.0,
    );
    assert_eq!(members(&chat), ["Annie", "Robert", "Cy"], "same places");
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(lobby.typing(2.0), [&dname("Robert")]);
    assert_eq!(lobby.me(), Some(&annie), "one's own new name too");
    // Someone joining again (another tab) is not listed twice.
    chat.receive(presence(&["Cy"], &[]), 0.0);
    assert_eq!(members(&chat), ["Annie", "Robert", "Cy"]);
}

#[test]
fn typing_is_per_account_and_ones_own_other_tabs_are_not_shown() {
    let mut chat = ann_in(&["lobby"]);
    chat.receive(presence(&["Cy"], &[]), 0.0);
    let typing = |user_id: UserId, name: &str| {
        Incoming::Frame(ServerFrame::Typing {
            room: room("lobby"),
            user_id,
            name: dname(name),
        })
    };
    chat.receive(typing(1, "Ann"), 0.0);
    // Bob and Cy share a display name: two people typing.
    chat.receive(typing(2, "Sam"), 0.0);
    chat.receive(typing(3, "Sam"), 0.0);
    chat.receive(typing(2, "Sam"), 10.0);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(lobby.typing(20.0), [&dname("Sam"), &dname("Sam")]);
    // Bob's message ends his notice only.
    chat.receive(live(message("lobby", 1, "Bob", "hi", None)), 30.0);
    let lobby = chat.room(&room("lobby")).expect("room");
    assert_eq!(lobby.typing(40.0).len(), 1);
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
