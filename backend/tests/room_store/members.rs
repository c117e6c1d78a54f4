//! The conformance tests of memberships: adding and removing members,
//! roles and mutes, read state, a person's room list, and access.

use super::*;
use chat_server::store::rooms::{Access, Added, MemberRecord};
use common::RoomRole;

pub(super) async fn a_member_is_added_once_and_starts_at_the_last_id(backend: Backend) {
    let opened = backend.open().await;
    let store = &*opened.rooms;
    let lobby = room("lobby");
    create_public(store, "lobby", T0).await;
    post_many(&*opened.messages, "lobby", 3).await;

    let added = store.add_member(&lobby, BOB, RoomRole::Moderator, T0 + 7);
    assert_eq!(added.await.expect("added"), Added::New);
    let again = store.add_member(&lobby, BOB, RoomRole::Member, T0 + 8);
    assert_eq!(again.await.expect("answered"), Added::Already);
    let members = store.members(&lobby).await.expect("reads");
    let bob = MemberRecord {
        room: lobby.clone(),
        user: BOB,
        // The first role stays.
        role: RoomRole::Moderator,
        joined_ms: T0 + 7,
        // Nothing older is unread.
        last_read: 3,
        muted_until: None,
    };
    assert_eq!(members.last(), Some(&bob));
    assert_eq!(members.len(), 2, "Ann made it");
    let listed = store.rooms_of(BOB).await.expect("reads");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].unread, listed[0].mentions), (0, 0));
    assert_eq!(listed[0].member, bob);

    store.ban(&lobby, CY, ANN, T0).await.expect("banned");
    let banned = store.add_member(&lobby, CY, RoomRole::Member, T0);
    assert_eq!(banned.await.expect("answered"), Added::Banned);
    assert_eq!(store.count_rooms_of(CY).await.expect("reads"), 0);
}

pub(super) async fn a_member_leaves(backend: Backend) {
    let store = backend.open().await.rooms;
    create(
        &*store,
        new_room("team", RoomKind::Private, ANN, &[BOB], T0),
    )
    .await;
    create(
        &*store,
        new_room("other", RoomKind::Public, ANN, &[BOB], T0),
    )
    .await;
    assert_eq!(store.count_rooms_of(BOB).await.expect("reads"), 2);
    assert!(store
        .remove_member(&room("team"), BOB)
        .await
        .expect("removed"));
    assert!(!store
        .remove_member(&room("team"), BOB)
        .await
        .expect("answers"));
    assert_eq!(store.count_rooms_of(BOB).await.expect("reads"), 1);
    let listed = store.rooms_of(BOB).await.expect("reads");
    let names: Vec<_> = listed.iter().map(|r| r.room.room.as_str()).collect();
    assert_eq!(names, ["other"]);
    assert_eq!(
        store.access(&room("team"), BOB).await.expect("reads"),
        Access::Outsider(
            store
                .room(&room("team"))
                .await
                .expect("reads")
                .expect("kept")
        )
    );
    // The room and its other members stay.
    let members = store.members(&room("team")).await.expect("reads");
    assert_eq!(members.iter().map(|m| m.user).collect::<Vec<_>>(), [ANN]);
}

pub(super) async fn roles_and_mutes_change_for_members_only(backend: Backend) {
    let store = backend.open().await.rooms;
    let team = room("team");
    create(
        &*store,
        new_room("team", RoomKind::Private, ANN, &[BOB], T0),
    )
    .await;
    let promoted = store.set_member_role(&team, BOB, RoomRole::Moderator).await;
    let promoted = promoted.expect("changed");
    assert_eq!((promoted.user, promoted.role), (BOB, RoomRole::Moderator));

    let muted = store.set_muted_until(&team, BOB, Some(T0 + 1_000)).await;
    let muted = muted.expect("muted");
    assert_eq!(muted.muted_until, Some(T0 + 1_000));
    assert_eq!(muted.role, RoomRole::Moderator, "the role stays");
    assert!(muted.is_muted(T0 + 999));
    assert!(!muted.is_muted(T0 + 1_000), "a mute ends at its time");
    let members = store.members(&team).await.expect("reads");
    assert_eq!(members.last(), Some(&muted));

    let lifted = store
        .set_muted_until(&team, BOB, None)
        .await
        .expect("lifted");
    assert_eq!(lifted.muted_until, None);
    assert!(!lifted.is_muted(T0));

    for user in [CY, BOB + 100] {
        let role = store.set_member_role(&team, user, RoomRole::Owner).await;
        assert_eq!(kind_of(role), ErrorKind::NotFound);
        let mute = store.set_muted_until(&team, user, Some(T0)).await;
        assert_eq!(kind_of(mute), ErrorKind::NotFound);
    }
    assert_eq!(
        store.count_rooms_of(CY).await.expect("reads"),
        0,
        "no member made"
    );
}

pub(super) async fn reading_never_goes_back_nor_ahead(backend: Backend) {
    let opened = backend.open().await;
    let store = &*opened.rooms;
    let team = room("team");
    create(store, new_room("team", RoomKind::Private, ANN, &[BOB], T0)).await;
    post_many(&*opened.messages, "team", 5).await;
    assert_eq!(store.mark_read(&team, BOB, 3).await.expect("read"), 3);
    assert_eq!(
        store.mark_read(&team, BOB, 2).await.expect("read"),
        3,
        "never back"
    );
    assert_eq!(
        store.mark_read(&team, BOB, 99).await.expect("read"),
        5,
        "at most the last id"
    );
    post_many(&*opened.messages, "team", 2).await;
    assert_eq!(store.mark_read(&team, BOB, 6).await.expect("read"), 6);
    let members = store.members(&team).await.expect("reads");
    let bob = members.iter().find(|m| m.user == BOB).expect("a member");
    assert_eq!(bob.last_read, 6);
    // Ann read nothing.
    assert_eq!(members[0].last_read, 0);
    assert_eq!(
        kind_of(store.mark_read(&team, CY, 1).await),
        ErrorKind::NotFound
    );
}

pub(super) async fn rooms_of_counts_what_each_member_has_not_read(backend: Backend) {
    let opened = backend.open().await;
    let store = &*opened.rooms;
    create(store, new_room("team", RoomKind::Private, ANN, &[BOB], T0)).await;
    create(
        store,
        new_room("quiet", RoomKind::Public, ANN, &[BOB], T0 + 1),
    )
    .await;
    create(
        store,
        new_room("ann-only", RoomKind::Public, ANN, &[], T0 + 2),
    )
    .await;
    post_many(&*opened.messages, "team", 7).await;
    store.mark_read(&room("team"), BOB, 4).await.expect("read");

    let listed = store.rooms_of(BOB).await.expect("reads");
    let summary: Vec<_> = listed
        .iter()
        .map(|r| {
            (
                r.room.room.as_str(),
                r.room.last_id,
                r.member.last_read,
                r.unread,
            )
        })
        .collect();
    // The room posted to is the most recently active.
    assert_eq!(summary, [("team", 7, 4, 3), ("quiet", 0, 0, 0)]);
    assert_eq!(listed[0].member.role, RoomRole::Member);
    assert_eq!(
        listed[0].room,
        store
            .room(&room("team"))
            .await
            .expect("reads")
            .expect("made")
    );

    let ann = store.rooms_of(ANN).await.expect("reads");
    let summary: Vec<_> = ann
        .iter()
        .map(|r| (r.room.room.as_str(), r.unread))
        .collect();
    assert_eq!(summary, [("team", 7), ("ann-only", 0), ("quiet", 0)]);
    assert!(ann.iter().all(|r| r.member.role == RoomRole::Owner));
    assert_eq!(store.count_rooms_of(ANN).await.expect("reads"), 3);
    assert!(store.rooms_of(DEE).await.expect("reads").is_empty());
}

pub(super) async fn rooms_of_counts_the_mentions_after_the_read_state(backend: Backend) {
    let opened = backend.open().await;
    let (store, messages) = (&*opened.rooms, &*opened.messages);
    let team = room("team");
    create(
        store,
        new_room("team", RoomKind::Private, ANN, &[BOB, CY], T0),
    )
    .await;
    create(store, new_room("other", RoomKind::Private, ANN, &[BOB], T0)).await;
    let calling = |room_name: &str, text: &str, called: &[UserId]| Draft {
        mentions: called.to_vec(),
        ..draft(room_name, text)
    };
    stored(messages.post(calling("team", "@bob", &[BOB])).await);
    // Named twice, counted once; Dee is no member yet.
    stored(
        messages
            .post(calling("team", "@bob @cy @bob @dee", &[BOB, CY, BOB, DEE]))
            .await,
    );
    stored(messages.post(calling("team", "nobody", &[])).await);
    let with_nonce = Draft {
        nonce: Some(common::Nonce::parse("n-4").expect("valid")),
        ..calling("team", "@bob again", &[BOB])
    };
    assert_eq!(stored(messages.post(with_nonce.clone()).await).id, 4);
    // A repeat stores nothing, its mentions neither.
    let repeat = messages.post(Draft {
        mentions: vec![CY],
        ..with_nonce
    });
    assert_eq!(repeat.await.expect("answered"), Posted::Repeat(4));
    stored(
        messages
            .post(calling("other", "@bob elsewhere", &[BOB]))
            .await,
    );

    let counts = |user| async move {
        let listed = store.rooms_of(user).await.expect("reads");
        let mut counts: Vec<_> = listed
            .iter()
            .map(|r| (r.room.room.as_str().to_owned(), r.unread, r.mentions))
            .collect();
        counts.sort();
        counts
    };
    let team_counts = |unread, mentions| ("team".to_owned(), unread, mentions);
    assert_eq!(
        counts(BOB).await,
        [("other".to_owned(), 1, 1), team_counts(4, 3)]
    );
    assert_eq!(counts(CY).await, [team_counts(4, 1)]);
    assert_eq!(
        counts(ANN).await,
        [("other".to_owned(), 1, 0), team_counts(4, 0)]
    );

    store.mark_read(&team, BOB, 2).await.expect("read");
    assert_eq!(counts(BOB).await[1], team_counts(2, 1), "only message 4");
    store.mark_read(&team, BOB, 4).await.expect("read");
    assert_eq!(counts(BOB).await[1], team_counts(0, 0));
    // A newcomer has read everything before, mentions too.
    let added = store.add_member(&team, DEE, RoomRole::Member, T0 + 1);
    assert_eq!(added.await.expect("added"), Added::New);
    assert_eq!(counts(DEE).await, [team_counts(0, 0)]);
    stored(messages.post(calling("team", "@dee welcome", &[DEE])).await);
    assert_eq!(counts(DEE).await, [team_counts(1, 1)]);
}

pub(super) async fn access_tells_all_four_cases(backend: Backend) {
    let store = backend.open().await.rooms;
    let team = room("team");
    let made = create(
        &*store,
        new_room("team", RoomKind::Private, ANN, &[BOB], T0),
    )
    .await;
    store.ban(&team, CY, ANN, T0).await.expect("banned");

    assert_eq!(
        store.access(&room("nowhere"), ANN).await.expect("reads"),
        Access::NoRoom
    );
    assert_eq!(
        store.access(&team, DEE).await.expect("reads"),
        Access::Outsider(made.clone())
    );
    assert_eq!(
        store.access(&team, CY).await.expect("reads"),
        Access::Banned(made.clone())
    );
    let Access::Member(record, member) = store.access(&team, BOB).await.expect("reads") else {
        panic!("Bob is a member");
    };
    assert_eq!(record, made);
    assert_eq!(
        (member.user, member.role, member.joined_ms),
        (BOB, RoomRole::Member, T0)
    );
    let Access::Member(_, owner) = store.access(&team, ANN).await.expect("reads") else {
        panic!("Ann is a member");
    };
    assert_eq!(owner.role, RoomRole::Owner);
}
