//! The "… is typing" line.

use super::*;

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
