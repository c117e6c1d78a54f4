//! People by account: members and their changes, one's own messages.

use super::*;

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
