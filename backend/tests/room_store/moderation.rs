//! The conformance tests of moderation: bans, and the audit log.

use super::*;
use chat_server::store::rooms::{Access, Added, AuditEntry, BanRecord, NewAuditEntry};
use common::RoomRole;

/// An audit entry of Ann's against Bob in `team`.
pub(super) fn entry(action: &str, now: u64) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some(ANN),
        action: action.to_owned(),
        target_user: Some(BOB),
        room: Some(room("team")),
        detail: format!("{action} at {now}"),
        now,
    }
}

pub(super) async fn a_ban_ends_the_membership_and_blocks_adding(backend: Backend) {
    let store = backend.open().await.rooms;
    let team = room("team");
    let made = create(
        &*store,
        new_room("team", RoomKind::Private, ANN, &[BOB, CY], T0),
    )
    .await;
    store.ban(&team, BOB, ANN, T0 + 5).await.expect("banned");
    assert_eq!(
        store.access(&team, BOB).await.expect("reads"),
        Access::Banned(made)
    );
    let members: Vec<_> = store
        .members(&team)
        .await
        .expect("reads")
        .iter()
        .map(|m| m.user)
        .collect();
    assert_eq!(members, [ANN, CY]);
    assert_eq!(store.count_rooms_of(BOB).await.expect("reads"), 0);
    assert!(store.rooms_of(BOB).await.expect("reads").is_empty());
    let again = store.add_member(&team, BOB, RoomRole::Member, T0 + 6);
    assert_eq!(again.await.expect("answered"), Added::Banned);

    // A ban that exists stays as it was.
    store.ban(&team, BOB, CY, T0 + 9).await.expect("answered");
    let first = BanRecord {
        room: team.clone(),
        user: BOB,
        by: ANN,
        at_ms: T0 + 5,
    };
    assert_eq!(store.bans(&team).await.expect("reads"), [first]);
    // Someone who was no member can be banned too.
    store.ban(&team, DEE, ANN, T0 + 10).await.expect("banned");
    let added = store.add_member(&team, DEE, RoomRole::Member, T0 + 11);
    assert_eq!(added.await.expect("answered"), Added::Banned);
}

pub(super) async fn an_unban_lifts_the_ban_only(backend: Backend) {
    let opened = backend.open().await;
    let store = &*opened.rooms;
    let team = room("team");
    create(store, new_room("team", RoomKind::Private, ANN, &[BOB], T0)).await;
    store.ban(&team, BOB, ANN, T0).await.expect("banned");
    assert!(store.unban(&team, BOB).await.expect("lifted"));
    assert!(!store.unban(&team, BOB).await.expect("answers"), "once");
    assert!(store.bans(&team).await.expect("reads").is_empty());
    // Not a member again until added, then as a newcomer.
    let room_now = store.room(&team).await.expect("reads").expect("made");
    assert_eq!(
        store.access(&team, BOB).await.expect("reads"),
        Access::Outsider(room_now)
    );
    post_many(&*opened.messages, "team", 2).await;
    let added = store.add_member(&team, BOB, RoomRole::Member, T0 + 3);
    assert_eq!(added.await.expect("added"), Added::New);
    let listed = store.rooms_of(BOB).await.expect("reads");
    assert_eq!((listed[0].member.last_read, listed[0].unread), (2, 0));
}

pub(super) async fn bans_are_listed_oldest_first(backend: Backend) {
    let store = backend.open().await.rooms;
    let team = room("team");
    create(&*store, new_room("team", RoomKind::Private, ANN, &[], T0)).await;
    create(&*store, new_room("other", RoomKind::Private, ANN, &[], T0)).await;
    for (user, at) in [(DEE, T0 + 3), (BOB, T0 + 1), (CY, T0 + 3)] {
        store.ban(&team, user, ANN, at).await.expect("banned");
    }
    store
        .ban(&room("other"), BOB, ANN, T0)
        .await
        .expect("banned");
    let bans: Vec<_> = store
        .bans(&team)
        .await
        .expect("reads")
        .iter()
        .map(|ban| (ban.user, ban.by, ban.at_ms))
        .collect();
    // At the same time: by account.
    assert_eq!(
        bans,
        [(BOB, ANN, T0 + 1), (CY, ANN, T0 + 3), (DEE, ANN, T0 + 3)]
    );
    assert_eq!(store.bans(&room("other")).await.expect("reads").len(), 1);
}

pub(super) async fn the_audit_log_pages_newest_first(backend: Backend) {
    let store = backend.open().await.rooms;
    assert!(store.audit_log(None, 10).await.expect("reads").is_empty());
    let mut logged: Vec<AuditEntry> = Vec::new();
    for n in 0..5 {
        let new = entry(&format!("room.action{n}"), T0 + n);
        let stored = store.audit(new.clone()).await.expect("logged");
        assert_eq!(
            stored,
            AuditEntry {
                id: stored.id,
                actor: Some(ANN),
                action: new.action,
                target_user: Some(BOB),
                room: Some(room("team")),
                detail: new.detail,
                at_ms: T0 + n,
            }
        );
        if let Some(previous) = logged.last() {
            assert!(stored.id > previous.id, "ids grow");
        }
        logged.push(stored);
    }
    // From the command line, about no account and no room.
    let command = NewAuditEntry {
        actor: None,
        action: "account.deactivate".to_owned(),
        target_user: None,
        room: None,
        detail: String::new(),
        now: T0 + 9,
    };
    logged.push(store.audit(command).await.expect("logged"));
    logged.reverse();

    assert_eq!(store.audit_log(None, 10).await.expect("reads"), logged);
    let first_page = store.audit_log(None, 4).await.expect("reads");
    assert_eq!(first_page, logged[..4]);
    let before = first_page.last().map(|entry| entry.id);
    let second_page = store.audit_log(before, 4).await.expect("reads");
    assert_eq!(second_page, logged[4..]);
    let oldest = logged.last().map(|entry| entry.id);
    assert!(store.audit_log(oldest, 4).await.expect("reads").is_empty());
    assert!(store.audit_log(None, 0).await.expect("reads").is_empty());
}
