//! The policy as tables: every action × every kind of caller, for each
//! kind of room and for an archived one, then the rules of rank between
//! a moderator and the person they act on.
//!
//! A cell is one letter: `y` allowed, `N` not found, `F` forbidden, `B`
//! banned, `M` muted, `A` archived, `X` not a member.

use super::*;
use crate::store::rooms::{MemberRecord, RoomRecord};
use common::{RoomName, RoomTopic};

const NOW: u64 = 1_000_000;

/// The callers of each row, in this order.
const CALLERS: [&str; 7] = [
    "outsider",
    "member",
    "moderator",
    "owner",
    "admin (not a member)",
    "banned",
    "muted member",
];

/// The person moderation rows act on: a plain member.
const MEMBER: Target = Target {
    role: Some(RoomRole::Member),
    admin: false,
    is_self: false,
};

fn room(kind: RoomKind, archived: bool) -> RoomRecord {
    RoomRecord {
        room: RoomName::parse("room").expect("valid"),
        kind,
        title: None,
        topic: RoomTopic::default(),
        owner: Some(4),
        archived,
        last_id: 10,
        created_ms: 0,
    }
}

fn member(room: &RoomRecord, role: RoomRole, muted_until: Option<u64>) -> MemberRecord {
    MemberRecord {
        room: room.room.clone(),
        user: 1,
        role,
        joined_ms: 0,
        last_read: 0,
        muted_until,
    }
}

/// Each of [`CALLERS`]: their account role and access to `room`.
fn callers(room: &RoomRecord) -> [(Role, Access); 7] {
    let as_member = |role, muted| Access::Member(room.clone(), member(room, role, muted));
    [
        (Role::Member, Access::Outsider(room.clone())),
        (Role::Member, as_member(RoomRole::Member, None)),
        (Role::Member, as_member(RoomRole::Moderator, None)),
        (Role::Member, as_member(RoomRole::Owner, None)),
        (Role::Admin, Access::Outsider(room.clone())),
        (Role::Member, Access::Banned(room.clone())),
        // A mute that ended before now is none: only the later one counts.
        (
            Role::Member,
            as_member(RoomRole::Member, Some(NOW + 60_000)),
        ),
    ]
}

fn letter(outcome: Result<(), Denial>) -> char {
    match outcome {
        Ok(()) => 'y',
        Err(Denial::NotFound) => 'N',
        Err(Denial::Forbidden(_)) => 'F',
        Err(Denial::Banned) => 'B',
        Err(Denial::Muted { .. }) => 'M',
        Err(Denial::Archived) => 'A',
        Err(Denial::NotMember) => 'X',
    }
}

/// Checks every cell of `table` for `room`, and that it has every action.
fn check(room: &RoomRecord, table: &[(Action, &str)]) {
    assert_eq!(table.len(), 17, "every action has a row");
    let callers = callers(room);
    let mut wrong = Vec::new();
    for (action, cells) in table {
        let cells: Vec<char> = cells.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(cells.len(), CALLERS.len(), "{action:?}");
        for ((role, access), (expected, label)) in callers.iter().zip(cells.iter().zip(CALLERS)) {
            let got = letter(decide(*role, access, *action, NOW));
            if got != *expected {
                wrong.push(format!(
                    "{action:?} by {label}: {got} (expected {expected})"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{:?} room:\n{}",
        room.kind,
        wrong.join("\n")
    );
}

/// A public room's table; a private one's is the same but for outsiders
/// and the banned, who see nothing.
fn public_table() -> Vec<(Action, &'static str)> {
    //   outsider member moderator owner admin banned muted
    vec![
        (Action::Read, "y y y y y B y"),
        (Action::Join, "y y y y y B y"),
        (Action::Post, "y y y y y B M"),
        (Action::Leave, "X y y F X B y"),
        (Action::AddMember, "X y y y y B y"),
        (Action::MarkRead, "X y y y X B y"),
        (Action::ListBans, "F F y y y B F"),
        (Action::Rename, "F F F y y B F"),
        (Action::SetTopic, "F F F y y B F"),
        (Action::ChangeKind, "F F F y y B F"),
        (Action::Archive, "F F F y y B F"),
        (Action::RemoveMember(MEMBER), "F F y y y B F"),
        (Action::SetRole(MEMBER), "F F F y y B F"),
        (Action::Ban(MEMBER), "F F y y y B F"),
        (Action::Unban, "F F y y y B F"),
        (Action::Mute(MEMBER), "F F y y y B F"),
        (Action::Unmute(MEMBER), "F F y y y B F"),
    ]
}

#[test]
fn a_public_room_is_everyone_s_and_its_owner_and_moderators_run_it() {
    check(&room(RoomKind::Public, false), &public_table());
}

#[test]
fn a_private_room_is_not_found_by_those_outside_it() {
    let table: Vec<(Action, String)> = public_table()
        .into_iter()
        .map(|(action, cells)| {
            let cells: Vec<&str> = cells.split(' ').collect();
            // Outsiders and the banned: not found, whatever they ask.
            let private = format!("N {} N {}", cells[1..5].join(" "), cells[6]);
            (action, private)
        })
        .collect();
    let table: Vec<(Action, &str)> = table.iter().map(|(a, c)| (*a, c.as_str())).collect();
    check(&room(RoomKind::Private, false), &table);
}

#[test]
fn a_direct_conversation_is_its_people_s_and_nobody_moderates_it() {
    //   outsider member moderator owner admin banned muted
    let table = [
        (Action::Read, "N y y y y N y"),
        (Action::Join, "N y y y F N y"),
        (Action::Post, "N y y y y N M"),
        (Action::Leave, "N F F F F N F"),
        (Action::AddMember, "N F F F F N F"),
        (Action::MarkRead, "N y y y X N y"),
        (Action::ListBans, "N F F F F N F"),
        (Action::Rename, "N y y y y N y"),
        (Action::SetTopic, "N y y y y N y"),
        (Action::ChangeKind, "N F F F F N F"),
        (Action::Archive, "N F F F F N F"),
        (Action::RemoveMember(MEMBER), "N F F F F N F"),
        (Action::SetRole(MEMBER), "N F F F F N F"),
        (Action::Ban(MEMBER), "N F F F F N F"),
        (Action::Unban, "N F F F F N F"),
        (Action::Mute(MEMBER), "N F F F F N F"),
        (Action::Unmute(MEMBER), "N F F F F N F"),
    ];
    check(&room(RoomKind::Direct, false), &table);
}

#[test]
fn an_archived_room_is_read_only_but_stays_joinable_and_moderated() {
    //   outsider member moderator owner admin banned muted
    let table = [
        (Action::Read, "y y y y y B y"),
        (Action::Join, "y y y y y B y"),
        (Action::Post, "A A A A A B A"),
        (Action::Leave, "X y y F X B y"),
        (Action::AddMember, "X y y y y B y"),
        (Action::MarkRead, "X y y y X B y"),
        (Action::ListBans, "F F y y y B F"),
        (Action::Rename, "F F F A A B F"),
        (Action::SetTopic, "F F F A A B F"),
        (Action::ChangeKind, "F F F A A B F"),
        (Action::Archive, "F F F y y B F"),
        (Action::RemoveMember(MEMBER), "F F y y y B F"),
        (Action::SetRole(MEMBER), "F F F y y B F"),
        (Action::Ban(MEMBER), "F F y y y B F"),
        (Action::Unban, "F F y y y B F"),
        (Action::Mute(MEMBER), "F F y y y B F"),
        (Action::Unmute(MEMBER), "F F y y y B F"),
    ];
    check(&room(RoomKind::Public, true), &table);
}

#[test]
fn no_answer_about_a_room_that_does_not_exist() {
    for role in [Role::Member, Role::Admin] {
        for (action, _) in public_table() {
            let got = decide(role, &Access::NoRoom, action, NOW);
            assert_eq!(got, Err(Denial::NotFound), "{action:?}");
        }
    }
}

#[test]
fn a_mute_that_ended_is_none() {
    let room = room(RoomKind::Public, false);
    let ended = Access::Member(room.clone(), member(&room, RoomRole::Member, Some(NOW)));
    assert_eq!(decide(Role::Member, &ended, Action::Post, NOW), Ok(()));
}

/// Moderation needs a rank above the target's: the cells are a moderator,
/// the owner and an administrator (a member of the room) acting on each
/// kind of person.
#[test]
fn moderation_goes_down_the_ranks_only() {
    let room = room(RoomKind::Public, false);
    let as_member = |role| Access::Member(room.clone(), member(&room, role, None));
    let actors = [
        (Role::Member, as_member(RoomRole::Moderator)),
        (Role::Member, as_member(RoomRole::Owner)),
        (Role::Admin, as_member(RoomRole::Member)),
    ];
    let target = |role, admin| Target {
        role,
        admin,
        is_self: false,
    };
    //   moderator owner admin
    let table = [
        (target(Some(RoomRole::Member), false), "y y y"),
        (target(None, false), "y y y"),
        (target(Some(RoomRole::Moderator), false), "F y y"),
        (target(Some(RoomRole::Owner), false), "F F y"),
        (target(Some(RoomRole::Member), true), "F F y"),
        (target(None, true), "F F y"),
    ];
    for (target, cells) in table {
        let cells: Vec<char> = cells.chars().filter(|c| !c.is_whitespace()).collect();
        for ((role, access), expected) in actors.iter().zip(cells) {
            let got = letter(decide(*role, access, Action::Ban(target), NOW));
            assert_eq!(got, expected, "a ban of {target:?} by {access:?}");
        }
    }
    // Nobody acts on themselves, and the owner's role stays.
    let yourself = Target {
        is_self: true,
        ..MEMBER
    };
    for (role, access) in &actors {
        for action in [
            Action::Ban(yourself),
            Action::Mute(yourself),
            Action::RemoveMember(yourself),
            Action::SetRole(yourself),
        ] {
            assert!(
                matches!(
                    decide(*role, access, action, NOW),
                    Err(Denial::Forbidden(_))
                ),
                "{action:?}"
            );
        }
    }
    let owner = target(Some(RoomRole::Owner), false);
    let admin = &actors[2];
    assert!(matches!(
        decide(admin.0, &admin.1, Action::SetRole(owner), NOW),
        Err(Denial::Forbidden(_))
    ));
    // Removing, muting and naming need the target to be a member; a ban
    // does not (one may ban someone before they come).
    let outsider = target(None, false);
    for action in [
        Action::RemoveMember(outsider),
        Action::Mute(outsider),
        Action::Unmute(outsider),
        Action::SetRole(outsider),
    ] {
        assert_eq!(
            decide(admin.0, &admin.1, action, NOW),
            Err(Denial::NotMember),
            "{action:?}"
        );
    }
}
