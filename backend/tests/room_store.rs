//! The room store's conformance suite: every test of the `RoomStore`
//! contract runs against each backend (`conformance!` makes one
//! `#[tokio::test]` per backend of it, as in `account_store.rs`; both from
//! `support::stores`), on the backend opened as the server opens it
//! (`Database::open`), with messages posted through its `MessageStore`,
//! since a room's ids are its messages'.
//!
//! The tests are grouped by concern: `rooms` (making, changing and
//! listing rooms, reopening), `members` (memberships, read state, the
//! room list of a person with its unread messages and mentions, access), `moderation` (bans and the audit log).
//! Times are given (`T0` on), as the server's clock would give them; `T0`
//! is in the past, so that a message posted now is the newest activity.
//! What only PostgreSQL is asked to do (two stores on one database at
//! once) is at the end.

mod support;

#[path = "room_store/members.rs"]
mod members;
#[path = "room_store/moderation.rs"]
mod moderation;
#[path = "room_store/rooms.rs"]
mod rooms;

use chat_server::store::rooms::{Created, NewRoom, RoomRecord};
use chat_server::store::{
    Draft, ErrorKind, MessageStore, Posted, PostgresStore, RoomStore, StoreError,
};
use common::{ChatMessage, RoomKind, RoomName, RoomTopic, UserId};
use std::fmt::Debug;
use support::postgres::fresh_database;
use support::stores::{conformance, draft, Backend};

conformance!(
    rooms::a_room_is_made_with_its_owner_and_members,
    rooms::a_second_create_changes_nothing_and_returns_the_room,
    rooms::each_field_of_a_room_changes_alone,
    rooms::a_direct_conversation_stays_one,
    rooms::what_names_a_missing_room_is_not_found,
    rooms::public_rooms_are_listed_by_activity,
    rooms::a_post_makes_a_public_room_and_a_made_room_counts_from_one,
    rooms::everything_is_kept_when_the_database_is_opened_again,
    members::a_member_is_added_once_and_starts_at_the_last_id,
    members::a_member_leaves,
    members::roles_and_mutes_change_for_members_only,
    members::reading_never_goes_back_nor_ahead,
    members::rooms_of_counts_what_each_member_has_not_read,
    members::rooms_of_counts_the_mentions_after_the_read_state,
    members::access_tells_all_four_cases,
    moderation::a_ban_ends_the_membership_and_blocks_adding,
    moderation::an_unban_lifts_the_ban_only,
    moderation::bans_are_listed_oldest_first,
    moderation::the_audit_log_pages_newest_first,
);

/// A time of the tests, in milliseconds since the Unix epoch: in the past
/// (November 2023), so that posts, which the store times now, come after.
const T0: u64 = 1_700_000_000_000;

/// Accounts of the tests. The store takes account ids as given: it keeps
/// no account of its own.
const ANN: UserId = 1;
const BOB: UserId = 2;
const CY: UserId = 3;
const DEE: UserId = 4;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

fn topic(text: &str) -> RoomTopic {
    RoomTopic::parse(text).expect("valid topic")
}

/// A room of `kind` made by `owner` at `now` with `members`, without a
/// title or topic.
fn new_room(name: &str, kind: RoomKind, owner: UserId, members: &[UserId], now: u64) -> NewRoom {
    NewRoom {
        room: room(name),
        kind,
        title: None,
        topic: RoomTopic::default(),
        owner: Some(owner),
        members: members.to_vec(),
        now,
    }
}

/// Makes `new`, which must be new.
async fn create(store: &dyn RoomStore, new: NewRoom) -> RoomRecord {
    match store.create_room(new).await.expect("created") {
        Created::New(record) => record,
        Created::Existing(record) => panic!("{} existed already", record.room),
    }
}

/// Makes a public room of Ann's, with nobody else in it.
async fn create_public(store: &dyn RoomStore, name: &str, now: u64) -> RoomRecord {
    create(store, new_room(name, RoomKind::Public, ANN, &[], now)).await
}

/// The kind of the error `result` must be.
fn kind_of<T: Debug>(result: Result<T, StoreError>) -> ErrorKind {
    result.expect_err("the store refuses").kind()
}

/// Posts `count` messages to `room_name`; the last one.
async fn post_many(store: &dyn MessageStore, room_name: &str, count: usize) -> ChatMessage {
    let mut last = None;
    for n in 1..=count {
        last = Some(stored(store.post(draft(room_name, &format!("m{n}"))).await));
    }
    last.expect("at least one post")
}

/// The message a post stored (it must not be a repeat).
fn stored(posted: Result<Posted, StoreError>) -> ChatMessage {
    match posted.expect("committed") {
        Posted::New(message) => message,
        Posted::Repeat(id) => panic!("stored as a new message, not a repeat of {id}"),
    }
}

/// Two stores on one PostgreSQL database, as two instances of a cluster:
/// one adds people to a room while the other bans the same people. Every
/// ban holds, and nobody banned is left a member, whichever came first.
#[tokio::test]
async fn postgres_bans_beside_additions_on_another_store_leave_no_banned_member() {
    use chat_server::store::rooms::Access;
    use common::RoomRole;
    const PEOPLE: UserId = 30;
    let database = fresh_database().await;
    let open = || async {
        PostgresStore::connect(database.url())
            .await
            .expect("connects")
    };
    let (a, b) = (open().await, open().await);
    let team = room("team");
    create(&a, new_room("team", RoomKind::Public, ANN, &[], T0)).await;
    let people = 100..100 + PEOPLE;
    let additions = futures_util::future::join_all(
        people
            .clone()
            .map(|user| a.add_member(&team, user, RoomRole::Member, T0)),
    );
    let bans =
        futures_util::future::join_all(people.clone().map(|user| b.ban(&team, user, ANN, T0)));
    let (added, banned) = tokio::join!(additions, bans);
    for result in added {
        result.expect("answered");
    }
    for result in banned {
        result.expect("banned");
    }
    for user in people {
        let access = a.access(&team, user).await.expect("reads");
        assert!(matches!(access, Access::Banned(_)), "{user}: {access:?}");
    }
    let members = b.members(&team).await.expect("reads");
    assert_eq!(members.iter().map(|m| m.user).collect::<Vec<_>>(), [ANN]);
}
