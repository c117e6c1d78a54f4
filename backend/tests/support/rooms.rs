//! Rooms people belong to, as the HTTP API makes and changes them: three
//! people signed in ([`party`]), and the calls the tests of rooms make
//! again and again, each checking that it worked. tests/rooms.rs tests
//! the routes with them; tests/room_live.rs and tests/cluster_rooms.rs
//! what the routes do to open WebSockets.

use super::accounts::{Answer, Api};
use super::people::{admin, make_person, open, session_token, sign_in, Carry};
use super::{Client, TestServer};
use common::{ClientFrame, ErrorFrame, MemberState, MessageId, RoomKind, RoomRole, ServerFrame};
use serde_json::{json, Value};

/// Three people signed in (Ann, Bob, Cid), and the server's administrator
/// (its reader bot).
pub struct Party {
    pub admin: Api,
    pub ann: Api,
    pub bob: Api,
    pub cid: Api,
    pub ann_id: u64,
    pub bob_id: u64,
    pub cid_id: u64,
}

/// Ann, Bob and Cid, made by the administrator of `server` and signed in
/// there.
pub async fn party(server: &TestServer) -> Party {
    let admin = admin(server.addr);
    let ann_id = make_person(&admin, "Ann").await;
    let bob_id = make_person(&admin, "Bob").await;
    let cid_id = make_person(&admin, "Cid").await;
    Party {
        ann: sign_in(server.addr, "Ann").await,
        bob: sign_in(server.addr, "Bob").await,
        cid: sign_in(server.addr, "Cid").await,
        admin,
        ann_id,
        bob_id,
        cid_id,
    }
}

/// A WebSocket of the person whose session `person` is, opened at the
/// server at `server` (another instance of a cluster, or the one the
/// session was made on), with the session's cookie as a browser sends it.
pub async fn socket(person: &Api, server: &TestServer) -> Client {
    open(server.addr, &session_token(person), Carry::Cookie).await
}

/// Ann's public `room`, made over HTTP, with a socket of Ann's (at
/// `ann_at`) and one of Bob's (at `bob_at`: another instance of a cluster,
/// or the same server) in it; Ann has seen Bob arrive, so neither has a
/// frame waiting.
pub async fn ann_and_bob_in(
    p: &Party,
    room: &str,
    ann_at: &TestServer,
    bob_at: &TestServer,
) -> (Client, Client) {
    make_room(&p.ann, room, "public").await;
    let mut ann = socket(&p.ann, ann_at).await;
    ann.join(room).await;
    let mut bob = socket(&p.bob, bob_at).await;
    bob.join(room).await;
    // From another instance Bob may arrive in more than one step.
    while !ann.members_of(room).contains(&"Bob".to_owned()) {
        ann.expect_presence().await;
    }
    assert_eq!(ann.members_of(room), ["Ann", "Bob"]);
    (ann, bob)
}

/// `caller` makes `room` of `kind`; it must work.
pub async fn make_room(caller: &Api, room: &str, kind: &str) -> Answer {
    let made = caller
        .post("/api/rooms", &json!({"room": room, "kind": kind}))
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    made
}

/// `caller` adds the account `user` to `room`; it must work.
pub async fn add(caller: &Api, room: &str, user: u64) {
    let added = caller
        .post(
            &format!("/api/rooms/{room}/members"),
            &json!({"user": user}),
        )
        .await;
    assert_eq!(added.status, 201, "{added:?}");
}

/// `caller` posts `text` in `room` (the nonce is the text).
pub async fn say(caller: &Api, room: &str, text: &str) -> Answer {
    caller
        .post(
            &format!("/api/rooms/{room}/messages"),
            &json!({"text": text, "nonce": text}),
        )
        .await
}

/// The entry of `room` in `caller`'s room list, if it is listed.
pub async fn listed(caller: &Api, room: &str) -> Option<Value> {
    let list = caller.get("/api/rooms").await;
    assert_eq!(list.status, 200, "{list:?}");
    let rooms = list.body.as_array().expect("a list").clone();
    rooms.into_iter().find(|entry| entry["room"] == room)
}

/// `caller`'s membership of `room` as their room list shows it: the
/// entry's `membership` (null when listed without one).
pub async fn membership(caller: &Api, room: &str) -> Value {
    listed(caller, room).await.expect("listed")["membership"].clone()
}

/// `caller` bans the account `user` from `room`; it must be a new ban.
pub async fn ban(caller: &Api, room: &str, user: u64) {
    let banned = caller
        .post(&format!("/api/rooms/{room}/bans"), &json!({"user": user}))
        .await;
    assert_eq!(banned.status, 201, "{banned:?}");
}

/// `caller` mutes the account `user` in `room` for `minutes`; it must
/// work. Returns the mute's end (`muted_until`).
pub async fn mute(caller: &Api, room: &str, user: u64, minutes: u32) -> u64 {
    let muted = caller
        .request(
            reqwest::Method::PUT,
            &format!("/api/rooms/{room}/members/{user}/mute"),
            Some(&json!({"minutes": minutes})),
        )
        .await;
    assert_eq!(muted.status, 200, "{muted:?}");
    muted.u64("/muted_until")
}

/// `caller` lifts the mute of the account `user` in `room`; it must work.
pub async fn unmute(caller: &Api, room: &str, user: u64) {
    let unmuted = caller
        .delete(&format!("/api/rooms/{room}/members/{user}/mute"))
        .await;
    assert_eq!(unmuted.status, 200, "{unmuted:?}");
    assert!(unmuted.body["muted_until"].is_null(), "{unmuted:?}");
}

/// `caller` archives `room` or brings it back; it must work.
pub async fn archive(caller: &Api, room: &str, archived: bool) {
    let changed = caller
        .patch(
            &format!("/api/rooms/{room}"),
            &json!({"archived": archived}),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.body["archived"], archived, "{changed:?}");
}

/// `caller` marks `room` read up to `up_to`; it must work. Returns the
/// answer's `last_read`.
pub async fn mark_read(caller: &Api, room: &str, up_to: u64) -> u64 {
    let read = caller
        .post(&format!("/api/rooms/{room}/read"), &json!({"up_to": up_to}))
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    read.u64("/last_read")
}

/// The next frame of `client` that is not about who is in a room or
/// typing (`presence`, `typing`): what a room change tells a connection.
pub async fn notice(client: &mut Client) -> ServerFrame {
    loop {
        match client.recv().await {
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => continue,
            frame => return frame,
        }
    }
}

/// The next notice of `client` (see [`notice`]), which must be a
/// `membership` of `room`: the state and role it tells.
pub async fn expect_membership(client: &mut Client, room: &str) -> (MemberState, Option<RoomRole>) {
    match notice(client).await {
        ServerFrame::Membership {
            room: of,
            state,
            role,
        } if of.as_str() == room => (state, role),
        other => panic!("expected a membership of {room}, got {other:?}"),
    }
}

/// The next notice of `client`, which must be a `read` of `room`: its
/// `last_read`.
pub async fn expect_read(client: &mut Client, room: &str) -> MessageId {
    match notice(client).await {
        ServerFrame::Read {
            room: of,
            last_read,
        } if of.as_str() == room => last_read,
        other => panic!("expected a read of {room}, got {other:?}"),
    }
}

/// The next notice of `client`, which must be a `muted` of `room`: its
/// `until` (`None`: the mute was lifted).
pub async fn expect_muted(client: &mut Client, room: &str) -> Option<u64> {
    match notice(client).await {
        ServerFrame::Muted { room: of, until } if of.as_str() == room => until,
        other => panic!("expected a muted of {room}, got {other:?}"),
    }
}

/// The next notice of `client`, which must be a `room_changed` of `room`:
/// its kind and whether it is archived.
pub async fn expect_room_changed(client: &mut Client, room: &str) -> (RoomKind, bool) {
    match notice(client).await {
        ServerFrame::RoomChanged {
            room: of,
            kind,
            archived,
            ..
        } if of.as_str() == room => (kind, archived),
        other => panic!("expected a room_changed of {room}, got {other:?}"),
    }
}

/// Sends `text` to `room` with `nonce` from `client`, whose send must be
/// refused: the error, which must be about that room and nonce.
pub async fn refused_send(client: &mut Client, room: &str, text: &str, nonce: &str) -> ErrorFrame {
    client.say(room, text, Some(nonce)).await;
    match notice(client).await {
        ServerFrame::Error(error) => {
            assert_eq!(
                (
                    error.room.as_ref().map(|room| room.as_str()),
                    error.nonce.as_ref().map(|nonce| nonce.as_str())
                ),
                (Some(room), Some(nonce)),
                "{error:?}"
            );
            error
        }
        other => panic!("expected the send to {room} to be refused, got {other:?}"),
    }
}

/// Joins `room` from `client`, whose join must be refused: the error,
/// which must be about that room.
pub async fn refused_join(client: &mut Client, room: &str) -> ErrorFrame {
    client
        .send(&ClientFrame::Join {
            room: super::room_name(room),
            since: None,
        })
        .await;
    match notice(client).await {
        ServerFrame::Error(error) => {
            assert_eq!(
                error.room.as_ref().map(|of| of.as_str()),
                Some(room),
                "{error:?}"
            );
            error
        }
        other => panic!("expected the join of {room} to be refused, got {other:?}"),
    }
}
