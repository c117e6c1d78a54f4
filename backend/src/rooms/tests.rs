//! The use cases on the memory store: that each event is published once
//! the store holds the change it describes, that moderation is audited,
//! and the behaviours the HTTP tests cannot see from outside (the access
//! a join returns for the WebSocket's join to come).

use super::*;
use crate::accounts::{Credential, Identity};
use crate::store::accounts::NewAccount;
use crate::store::rooms::Access;
use crate::store::MemoryStore;
use common::api::rooms::{CreateRoom, PersonRef, Someone, StartDirect};
use common::{AccountKind, DisplayName, RoomKind, RoomRole, Username};

struct World {
    store: Arc<MemoryStore>,
    rooms: Rooms,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let rooms = Rooms::new(store.clone(), store.clone(), Audit::new(store.clone()));
    World { store, rooms }
}

impl World {
    async fn person(&self, username: &str, role: Role) -> Identity {
        let account = self
            .store
            .create_account(
                NewAccount {
                    username: Username::parse(username).expect("valid"),
                    display_name: DisplayName::parse(username).expect("valid"),
                    role,
                    kind: AccountKind::Person,
                    password_hash: None,
                },
                now_ms(),
            )
            .await
            .expect("made");
        Identity {
            user_id: account.id,
            username: account.username,
            display_name: account.display_name,
            role,
            kind: AccountKind::Person,
            credential: Credential::ApiToken(account.id),
        }
    }

    async fn actions(&self) -> Vec<String> {
        let (entries, _) = self.rooms.audit.page(None, 100).await.expect("reads");
        entries
            .into_iter()
            .rev()
            .map(|entry| entry.action)
            .collect()
    }
}

fn name(room: &str) -> RoomName {
    RoomName::parse(room).expect("valid")
}

#[tokio::test]
async fn joining_a_new_name_makes_a_public_room_of_the_joiner_s() {
    let world = world();
    let ann = world.person("ann", Role::Member).await;
    let mut events = world.rooms.subscribe();
    let access = world.rooms.join(&ann, &name("fresh")).await.expect("joins");
    let Access::Member(room, member) = access else {
        panic!("a member after joining: {access:?}");
    };
    assert_eq!(
        (room.kind, room.owner),
        (RoomKind::Public, Some(ann.user_id))
    );
    assert_eq!(member.role, RoomRole::Owner);
    assert_eq!(
        events.recv().await.expect("an event"),
        RoomEvent::MemberAdded {
            room: name("fresh"),
            user: ann.user_id,
            own: true,
        }
    );
    // Joining again changes nothing and says nothing.
    world.rooms.join(&ann, &name("fresh")).await.expect("joins");
    assert!(events.try_recv().is_err());
    assert_eq!(world.actions().await, ["room.create"]);
    // Never a direct conversation's slug.
    let refused = world.rooms.join(&ann, &name("dm-1-2")).await;
    assert!(
        matches!(refused, Err(RoomsError::NotFound(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_ban_is_published_after_the_store_ended_the_membership() {
    let world = world();
    let owner = world.person("owner", Role::Member).await;
    let bob = world.person("bob", Role::Member).await;
    let room = name("team");
    let request = CreateRoom {
        room: room.clone(),
        kind: RoomKind::Private,
        title: None,
        topic: None,
    };
    world
        .rooms
        .create_room(&owner, request)
        .await
        .expect("made");
    let bob_by_id = Someone {
        user: Some(bob.user_id),
        username: None,
    };
    world
        .rooms
        .add_member(&owner, &room, &bob_by_id)
        .await
        .expect("added");
    let mut events = world.rooms.subscribe();
    world
        .rooms
        .ban(&owner, &room, &bob_by_id)
        .await
        .expect("banned");
    assert_eq!(
        events.recv().await.expect("an event"),
        RoomEvent::MemberRemoved {
            room: room.clone(),
            user: bob.user_id,
            reason: RemovalReason::Banned
        }
    );
    let access = world.store.access(&room, bob.user_id).await.expect("reads");
    assert!(matches!(access, Access::Banned(_)), "{access:?}");
    // A banned person of a private room is told what an outsider is.
    let refused = world.rooms.details(&bob, &room).await;
    assert!(
        matches!(refused, Err(RoomsError::NotFound("room"))),
        "{refused:?}"
    );
    assert_eq!(
        world.actions().await,
        ["room.create", "room.member.add", "room.ban"]
    );
}

#[tokio::test]
async fn a_direct_conversation_is_found_again_whoever_starts_it() {
    let world = world();
    let ann = world.person("ann", Role::Member).await;
    let bob = world.person("bob", Role::Member).await;
    let by_name = StartDirect {
        people: vec![PersonRef::Username(bob.username.clone())],
    };
    let Ok(direct::Opened::New(first)) = world.rooms.start_direct(&ann, by_name).await else {
        panic!("a new conversation");
    };
    assert_eq!(
        first.room.as_str(),
        format!("dm-{}-{}", ann.user_id, bob.user_id)
    );
    let by_id = StartDirect {
        people: vec![PersonRef::Id(ann.user_id)],
    };
    let Ok(direct::Opened::Existing(again)) = world.rooms.start_direct(&bob, by_id).await else {
        panic!("the same conversation");
    };
    assert_eq!(again.room, first.room);
    // Starting one's own is not a conversation.
    let alone = StartDirect {
        people: vec![PersonRef::Id(ann.user_id)],
    };
    let refused = world.rooms.start_direct(&ann, alone).await;
    assert!(
        matches!(
            refused,
            Err(RoomsError::Invalid(common::RoomError::DirectPeople))
        ),
        "{refused:?}"
    );
    // Nobody audits people talking.
    assert!(world.actions().await.is_empty());
}
