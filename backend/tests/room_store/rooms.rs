//! The conformance tests of rooms themselves: making them, changing them,
//! listing them, and what a database keeps.

use super::*;
use chat_server::store::rooms::{Access, Added, MemberRecord, RoomChange};
use common::{RoomRole, RoomTitle};

pub(super) async fn a_room_is_made_with_its_owner_and_members(backend: Backend) {
    let store = backend.open().await.rooms;
    let new = NewRoom {
        title: Some(RoomTitle::parse("The team").expect("valid")),
        topic: topic("Plans for the week"),
        // Ann among the members too, and Cy twice: each is stored once.
        ..new_room("team", RoomKind::Private, ANN, &[CY, BOB, ANN, CY], T0)
    };
    let made = create(&*store, new.clone()).await;
    let expected = RoomRecord {
        room: room("team"),
        kind: RoomKind::Private,
        title: new.title.clone(),
        topic: topic("Plans for the week"),
        owner: Some(ANN),
        archived: false,
        last_id: 0,
        created_ms: T0,
    };
    assert_eq!(made, expected);
    assert_eq!(
        store.room(&room("team")).await.expect("reads"),
        Some(expected)
    );

    let members = store.members(&room("team")).await.expect("reads");
    let member = |user, role| MemberRecord {
        room: room("team"),
        user,
        role,
        joined_ms: T0,
        last_read: 0,
        muted_until: None,
    };
    // Joined at once: by account.
    assert_eq!(
        members,
        [
            member(ANN, RoomRole::Owner),
            member(BOB, RoomRole::Member),
            member(CY, RoomRole::Member)
        ]
    );
    for user in [ANN, BOB, CY] {
        assert_eq!(store.count_rooms_of(user).await.expect("reads"), 1);
    }
    assert_eq!(store.count_rooms_of(DEE).await.expect("reads"), 0);
}

pub(super) async fn a_second_create_changes_nothing_and_returns_the_room(backend: Backend) {
    let store = backend.open().await.rooms;
    let first = create(&*store, new_room("lobby", RoomKind::Public, ANN, &[], T0)).await;
    let again = store
        .create_room(NewRoom {
            topic: topic("another topic"),
            ..new_room("lobby", RoomKind::Private, BOB, &[CY], T0 + 5)
        })
        .await
        .expect("answered");
    assert_eq!(again, Created::Existing(first.clone()));
    assert_eq!(
        store.room(&room("lobby")).await.expect("reads"),
        Some(first)
    );
    let members = store.members(&room("lobby")).await.expect("reads");
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!((members[0].user, members[0].role), (ANN, RoomRole::Owner));

    // A direct conversation started again is the one there is.
    let (dm, people) = common::room::direct_room_name(&[BOB, ANN]).expect("two people");
    let direct = |owner, others: &[UserId], now| NewRoom {
        room: dm.clone(),
        ..new_room("unused", RoomKind::Direct, owner, others, now)
    };
    let started = create(&*store, direct(ANN, &people, T0 + 10)).await;
    let reopened = store
        .create_room(direct(BOB, &[ANN], T0 + 20))
        .await
        .expect("answered");
    assert_eq!(reopened, Created::Existing(started));
    let members = store.members(&dm).await.expect("reads");
    let roles: Vec<_> = members
        .iter()
        .map(|m| (m.user, m.role, m.joined_ms))
        .collect();
    assert_eq!(
        roles,
        [
            (ANN, RoomRole::Owner, T0 + 10),
            (BOB, RoomRole::Member, T0 + 10)
        ]
    );
}

pub(super) async fn each_field_of_a_room_changes_alone(backend: Backend) {
    let store = backend.open().await.rooms;
    let lobby = room("lobby");
    let mut expected = create_public(&*store, "lobby", T0).await;
    let title = RoomTitle::parse("Lobby").expect("valid");
    let changes = [
        RoomChange {
            title: Some(Some(title)),
            ..RoomChange::default()
        },
        RoomChange {
            topic: Some(topic("Say hello")),
            ..RoomChange::default()
        },
        RoomChange {
            kind: Some(RoomKind::Private),
            ..RoomChange::default()
        },
        RoomChange {
            archived: Some(true),
            ..RoomChange::default()
        },
        RoomChange {
            title: Some(None),
            ..RoomChange::default()
        },
        RoomChange {
            kind: Some(RoomKind::Public),
            archived: Some(false),
            ..RoomChange::default()
        },
    ];
    for change in changes {
        if let Some(title) = &change.title {
            expected.title = title.clone();
        }
        if let Some(topic) = &change.topic {
            expected.topic = topic.clone();
        }
        expected.kind = change.kind.unwrap_or(expected.kind);
        expected.archived = change.archived.unwrap_or(expected.archived);
        let changed = store
            .update_room(&lobby, change.clone())
            .await
            .expect("changed");
        assert_eq!(changed, expected, "{change:?}");
        assert_eq!(
            store.room(&lobby).await.expect("reads"),
            Some(expected.clone())
        );
    }
    // Nothing to change is no change.
    let same = store.update_room(&lobby, RoomChange::default()).await;
    assert_eq!(same.expect("changed"), expected);
    assert_eq!(expected.topic, topic("Say hello"), "the topic stayed");
}

pub(super) async fn a_direct_conversation_stays_one(backend: Backend) {
    let store = backend.open().await.rooms;
    let (dm, _) = common::room::direct_room_name(&[ANN, BOB]).expect("two people");
    let made = create(
        &*store,
        NewRoom {
            room: dm.clone(),
            ..new_room("unused", RoomKind::Direct, ANN, &[BOB], T0)
        },
    )
    .await;
    create_public(&*store, "lobby", T0).await;
    let kind = |kind| RoomChange {
        kind: Some(kind),
        title: Some(Some(RoomTitle::parse("Never stored").expect("valid"))),
        ..RoomChange::default()
    };
    assert_eq!(
        kind_of(store.update_room(&dm, kind(RoomKind::Private)).await),
        ErrorKind::Invalid
    );
    assert_eq!(
        kind_of(
            store
                .update_room(&room("lobby"), kind(RoomKind::Direct))
                .await
        ),
        ErrorKind::Invalid
    );
    // A refused change changes no field.
    assert_eq!(store.room(&dm).await.expect("reads"), Some(made));
    let lobby = store.room(&room("lobby")).await.expect("reads");
    assert_eq!(
        lobby.map(|lobby| (lobby.kind, lobby.title)),
        Some((RoomKind::Public, None))
    );
}

pub(super) async fn what_names_a_missing_room_is_not_found(backend: Backend) {
    let store = backend.open().await.rooms;
    let nowhere = room("nowhere");
    assert_eq!(store.room(&nowhere).await.expect("reads"), None);
    assert_eq!(
        store.access(&nowhere, ANN).await.expect("reads"),
        Access::NoRoom
    );
    assert!(store.members(&nowhere).await.expect("reads").is_empty());
    assert!(store.bans(&nowhere).await.expect("reads").is_empty());
    let change = RoomChange {
        archived: Some(true),
        ..RoomChange::default()
    };
    assert_eq!(
        kind_of(store.update_room(&nowhere, change).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(store.add_member(&nowhere, ANN, RoomRole::Member, T0).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(store.ban(&nowhere, BOB, ANN, T0).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(store.mark_read(&nowhere, ANN, 1).await),
        ErrorKind::NotFound
    );
    assert!(!store.remove_member(&nowhere, ANN).await.expect("answers"));
    assert!(!store.unban(&nowhere, BOB).await.expect("answers"));
    // None of it made the room.
    assert_eq!(store.room(&nowhere).await.expect("reads"), None);
    assert_eq!(store.count_rooms_of(ANN).await.expect("reads"), 0);
    // Adding to a room that exists works.
    create_public(&*store, "somewhere", T0).await;
    let added = store.add_member(&room("somewhere"), BOB, RoomRole::Member, T0);
    assert_eq!(added.await.expect("added"), Added::New);
}

pub(super) async fn public_rooms_are_listed_by_activity(backend: Backend) {
    let opened = backend.open().await;
    let store = &*opened.rooms;
    create_public(store, "old", T0).await;
    create_public(store, "newer", T0 + 10).await;
    create_public(store, "same-time", T0 + 10).await;
    create(
        store,
        new_room("hidden", RoomKind::Private, ANN, &[], T0 + 20),
    )
    .await;
    let (dm, _) = common::room::direct_room_name(&[ANN, BOB]).expect("two people");
    create(
        store,
        NewRoom {
            room: dm,
            ..new_room("unused", RoomKind::Direct, ANN, &[BOB], T0 + 30)
        },
    )
    .await;
    let archived = create_public(store, "archived", T0 + 5).await;
    let change = RoomChange {
        archived: Some(true),
        ..RoomChange::default()
    };
    store
        .update_room(&archived.room, change)
        .await
        .expect("archived");

    let names = |rooms: Vec<RoomRecord>| -> Vec<String> {
        rooms.iter().map(|r| r.room.as_str().to_owned()).collect()
    };
    // Made at the same time: by slug.
    let listed = store.public_rooms(10).await.expect("reads");
    assert_eq!(names(listed), ["newer", "same-time", "archived", "old"]);
    assert_eq!(
        names(store.public_rooms(2).await.expect("reads")),
        ["newer", "same-time"]
    );

    // A post is newer than any of the rooms' making.
    post_many(&*opened.messages, "old", 1).await;
    let listed = store.public_rooms(10).await.expect("reads");
    assert_eq!(names(listed), ["old", "newer", "same-time", "archived"]);
    post_many(&*opened.messages, "hidden", 1).await;
    post_many(&*opened.messages, "archived", 1).await;
    let listed = store.public_rooms(10).await.expect("reads");
    assert_eq!(names(listed), ["archived", "old", "newer", "same-time"]);
}

pub(super) async fn a_post_makes_a_public_room_and_a_made_room_counts_from_one(backend: Backend) {
    let opened = backend.open().await;
    let store = &*opened.rooms;
    let first = post_many(&*opened.messages, "chatter", 3).await;
    let made = store.room(&room("chatter")).await.expect("reads");
    assert_eq!(
        made,
        Some(RoomRecord {
            room: room("chatter"),
            kind: RoomKind::Public,
            title: None,
            topic: RoomTopic::default(),
            owner: None,
            archived: false,
            last_id: 3,
            created_ms: made.as_ref().map_or(0, |made| made.created_ms),
        })
    );
    // Made by its first post, and no later than its last.
    let created_ms = made.map_or(0, |made| made.created_ms);
    assert!(created_ms > T0 && created_ms <= first.ts, "{created_ms}");
    assert!(store
        .members(&room("chatter"))
        .await
        .expect("reads")
        .is_empty());

    let team = create(store, new_room("team", RoomKind::Private, ANN, &[BOB], T0)).await;
    assert_eq!(team.last_id, 0);
    assert_eq!(
        opened.messages.last_id(&room("team")).await.expect("reads"),
        0
    );
    // A room without messages is in no list of rooms with messages.
    let active = opened.messages.recent_rooms(10).await.expect("reads");
    let names: Vec<_> = active.iter().map(|a| a.room.as_str()).collect();
    assert_eq!(names, ["chatter"]);

    let message = post_many(&*opened.messages, "team", 1).await;
    assert_eq!(message.id, 1);
    let team = store.room(&room("team")).await.expect("reads");
    let team = team.expect("still there");
    assert_eq!(
        (team.last_id, team.kind, team.owner),
        (1, RoomKind::Private, Some(ANN))
    );
    assert_eq!(team.created_ms, T0, "a post does not remake the room");
}

pub(super) async fn everything_is_kept_when_the_database_is_opened_again(backend: Backend) {
    let (rooms, members, bans, audit) = {
        let opened = backend.open().await;
        let store = &*opened.rooms;
        create(
            store,
            new_room("team", RoomKind::Private, ANN, &[BOB, CY], T0),
        )
        .await;
        post_many(&*opened.messages, "team", 4).await;
        store.mark_read(&room("team"), BOB, 3).await.expect("read");
        store
            .set_muted_until(&room("team"), CY, Some(T0 + 60_000))
            .await
            .expect("muted");
        store
            .ban(&room("team"), DEE, ANN, T0 + 1)
            .await
            .expect("banned");
        let change = RoomChange {
            title: Some(Some(RoomTitle::parse("Team").expect("valid"))),
            ..RoomChange::default()
        };
        store
            .update_room(&room("team"), change)
            .await
            .expect("changed");
        store
            .audit(super::moderation::entry("room.ban", T0 + 1))
            .await
            .expect("logged");
        let kept = (
            store.rooms_of(BOB).await.expect("reads"),
            store.members(&room("team")).await.expect("reads"),
            store.bans(&room("team")).await.expect("reads"),
            store.audit_log(None, 10).await.expect("reads"),
        );
        opened.messages.close().await.expect("closes");
        kept
    };
    if !backend.is_durable() {
        return;
    }
    let opened = backend.open().await;
    let store = &*opened.rooms;
    assert_eq!(rooms.len(), 1);
    assert_eq!((rooms[0].unread, rooms[0].room.last_id), (1, 4));
    assert_eq!(store.rooms_of(BOB).await.expect("reads"), rooms);
    assert_eq!(store.members(&room("team")).await.expect("reads"), members);
    assert_eq!(store.bans(&room("team")).await.expect("reads"), bans);
    assert_eq!(store.audit_log(None, 10).await.expect("reads"), audit);
    // Ids go on after the last.
    let next = store
        .audit(super::moderation::entry("room.unban", T0 + 2))
        .await;
    assert_eq!(next.expect("logged").id, audit[0].id + 1);
    assert_eq!(post_many(&*opened.messages, "team", 1).await.id, 5);
}
