//! Rooms the server keeps for a person: read marks shared by their tabs,
//! rooms added, left elsewhere, removed or banned, mutes and settings.

use super::*;
use common::{MemberState, RoomKind, RoomRole, RoomTitle, RoomTopic};

fn read(room_name: &str, last_read: MessageId) -> Incoming {
    Incoming::Frame(ServerFrame::Read {
        room: room(room_name),
        last_read,
    })
}

fn membership(room_name: &str, state: MemberState) -> Incoming {
    Incoming::Frame(ServerFrame::Membership {
        room: room(room_name),
        state,
        role: (state == MemberState::Member).then_some(RoomRole::Member),
    })
}

fn unread(chat: &Chat, room_name: &str) -> u32 {
    chat.room(&room(room_name)).expect("room").unread()
}

#[test]
fn reading_in_another_tab_clears_what_it_read_here() {
    let mut chat = ann_in(&["lobby", "dev"]);
    for id in 1..=3 {
        chat.receive(live(message("dev", id, "Bob", "news", None)), 0.0);
    }
    assert_eq!(unread(&chat, "dev"), 3);
    // The other tab read up to 2: one is left.
    assert!(chat.receive(read("dev", 2), 0.0).is_empty());
    assert_eq!(unread(&chat, "dev"), 1);
    // An older mark, arriving late, changes nothing.
    chat.receive(read("dev", 1), 0.0);
    assert_eq!(unread(&chat, "dev"), 1);
    chat.receive(read("dev", 3), 0.0);
    assert_eq!(unread(&chat, "dev"), 0);
    assert_eq!(chat.total_unread(), 0);
    // A mark for a room this tab does not have is no trouble.
    assert!(chat.receive(read("ops", 9), 0.0).is_empty());
}

#[test]
fn the_room_shown_is_marked_read_up_to_its_newest_message_once() {
    let mut chat = ann_in(&["lobby", "dev"]);
    assert_eq!(chat.read_mark(&room("lobby")), None, "nothing in it");
    chat.receive(live(message("lobby", 4, "Bob", "hi", None)), 0.0);
    chat.receive(live(message("dev", 7, "Bob", "elsewhere", None)), 0.0);
    assert_eq!(chat.read_mark(&room("lobby")), Some(4));
    assert_eq!(chat.read_mark(&room("lobby")), None, "marked already");
    assert_eq!(
        chat.read_mark(&room("dev")),
        None,
        "a room not shown is not read"
    );
    chat.open_room(room("dev"));
    assert_eq!(chat.read_mark(&room("dev")), Some(7));
    // The server's echo of the mark changes nothing.
    chat.receive(read("dev", 7), 0.0);
    assert_eq!(chat.read_mark(&room("dev")), None);
}

#[test]
fn a_room_someone_adds_the_person_to_is_joined_and_one_they_left_elsewhere_goes() {
    let mut chat = ann_in(&["lobby"]);
    assert_eq!(
        chat.receive(membership("team", MemberState::Member), 0.0),
        [Command::Send(ClientFrame::Join {
            room: room("team"),
            since: None
        })]
    );
    assert!(chat.room(&room("team")).is_some());
    assert_eq!(chat.active(), Some(&room("lobby")), "the room shown stays");
    // A new role of a room it has is no news to the list.
    assert!(chat
        .receive(membership("team", MemberState::Member), 0.0)
        .is_empty());
    chat.receive(joined("team", "Ann", vec![], false), 0.0);
    assert_eq!(
        chat.receive(membership("team", MemberState::Left), 0.0),
        [Command::Send(ClientFrame::Leave { room: room("team") })]
    );
    assert!(chat.room(&room("team")).is_none());
}

#[test]
fn a_ban_takes_the_room_away_and_says_so() {
    let mut chat = ann_in(&["lobby", "team"]);
    chat.open_room(room("team"));
    // The server took the connection out of the room: no `leave` to send.
    assert!(chat
        .receive(membership("team", MemberState::Banned), 0.0)
        .is_empty());
    assert!(chat.room(&room("team")).is_none());
    assert_eq!(chat.active(), Some(&room("lobby")), "a neighbour is shown");
    assert_eq!(
        chat.notice(),
        Some("you were banned from #team by a moderator")
    );
    chat.receive(membership("lobby", MemberState::Removed), 0.0);
    assert!(chat.rooms().is_empty());
    assert_eq!(
        chat.notice(),
        Some("you were removed from #lobby by a moderator")
    );
}

#[test]
fn a_mute_and_a_rooms_settings_are_kept_until_they_change() {
    let mut chat = ann_in(&["lobby"]);
    let entry = |chat: &Chat| chat.room(&room("lobby")).expect("room").clone();
    chat.receive(
        Incoming::Frame(ServerFrame::Muted {
            room: room("lobby"),
            until: Some(1_700_000_600_000),
        }),
        0.0,
    );
    assert_eq!(entry(&chat).muted_until(), Some(1_700_000_600_000));
    chat.receive(
        Incoming::Frame(ServerFrame::Muted {
            room: room("lobby"),
            until: None,
        }),
        0.0,
    );
    assert_eq!(entry(&chat).muted_until(), None);
    assert_eq!(entry(&chat).settings(), None);
    chat.receive(
        Incoming::Frame(ServerFrame::RoomChanged {
            room: room("lobby"),
            kind: RoomKind::Private,
            title: Some(RoomTitle::parse("The lobby").expect("valid")),
            topic: RoomTopic::parse("say hi").expect("valid"),
            archived: true,
        }),
        0.0,
    );
    let settings = entry(&chat).settings().cloned().expect("settings");
    assert_eq!(settings.kind, RoomKind::Private);
    assert_eq!(
        settings.title.map(|t| t.as_str().to_owned()).as_deref(),
        Some("The lobby")
    );
    assert!(settings.archived);
}

#[test]
fn a_room_one_is_banned_from_or_may_not_see_is_refused_not_retried() {
    for (code, words) in [
        (ErrorCode::Banned, "you are banned from this room"),
        (ErrorCode::NotFound, "no such room"),
    ] {
        let mut chat = ann_in(&["lobby"]);
        let join = chat.open_room(room("team"));
        assert!(matches!(join[..], [ClientFrame::Join { .. }]));
        let done = chat.receive(
            Incoming::Error {
                code: Some(code),
                message: words.to_owned(),
                room: Some(room("team")),
                nonce: None,
            },
            0.0,
        );
        assert!(done.is_empty(), "{code:?}: no rejoin later");
        assert_eq!(
            chat.room(&room("team")).expect("room").membership(),
            &Membership::Refused(words.to_owned())
        );
    }
}
