//! Rooms: unread counts, leaving, opening, drafts.

use super::*;

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
