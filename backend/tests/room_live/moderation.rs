//! Moderation reaching open connections: a ban takes the room away from
//! every connection of the person at once, a mute and the archive change
//! who may post (and nothing refused is stored or broadcast), and each is
//! told to whom it concerns.

use super::start;
use super::support::rooms::{
    ann_and_bob_in, archive, ban, expect_membership, expect_muted, expect_room_changed, listed,
    make_room, mute, notice, refused_join, refused_send, socket, unmute,
};
use super::support::{Client, TempDb, QUIET_PERIOD};
use common::{ErrorCode, MemberState, RoomKind, ServerFrame};
use std::cell::Cell;

/// The id of the newest message stored in `room`, as Ann's room list says.
async fn last_id(ann: &super::support::accounts::Api, room: &str) -> u64 {
    listed(ann, room).await.expect("listed")["last_id"]
        .as_u64()
        .expect("a number")
}

#[tokio::test]
async fn a_ban_takes_the_room_from_every_connection_of_the_person() {
    let (_db, server, p) = start(TempDb::new()).await;
    make_room(&p.ann, "hall", "public").await;
    let mut ann = socket(&p.ann, &server).await;
    ann.join("hall").await;
    let mut cid = socket(&p.cid, &server).await;
    cid.join("hall").await;
    assert_eq!(ann.expect_presence().await, ["Ann", "Cid"]);
    // Bob has two connections: one in the room, one not.
    let mut bob_out = socket(&p.bob, &server).await;
    let mut bob_in = socket(&p.bob, &server).await;
    bob_in.join("hall").await;
    assert_eq!(ann.expect_presence().await, ["Ann", "Cid", "Bob"]);
    assert_eq!(cid.expect_presence().await, ["Ann", "Cid", "Bob"]);
    bob_out.expect_silence().await;

    ban(&p.ann, "hall", p.bob_id).await;
    for bob in [&mut bob_in, &mut bob_out] {
        assert_eq!(
            expect_membership(bob, "hall").await,
            (MemberState::Banned, None)
        );
    }
    assert_eq!(ann.expect_presence().await, ["Ann", "Cid"]);
    assert_eq!(cid.expect_presence().await, ["Ann", "Cid"]);

    // The room goes on without him: Cid gets Ann's next message, Bob not.
    ann.say("hall", "after the ban", Some("a1")).await;
    assert_eq!(cid.next_message().await.text.as_str(), "after the ban");
    assert_eq!(ann.next_message().await.text.as_str(), "after the ban");
    bob_in.expect_silence().await;
    // What he sends there is refused, not stored, not broadcast.
    let refused = refused_send(&mut bob_in, "hall", "still here?", "b1").await;
    assert_eq!(refused.code, ErrorCode::NotJoined, "{refused:?}");
    assert_eq!(last_id(&p.ann, "hall").await, 1);
    ann.expect_silence().await;
    cid.expect_silence().await;
    // Neither connection gets back in.
    for bob in [&mut bob_in, &mut bob_out] {
        let refused = refused_join(bob, "hall").await;
        assert_eq!(refused.code, ErrorCode::Banned, "{refused:?}");
    }
    ann.expect_silence().await;
    server.stop().await;
}

/// Reads `bob`'s frames until his `membership` of `room` says he is
/// banned; returns how many messages of the room came before it.
async fn messages_until_banned(bob: &mut Client, room: &str) -> usize {
    let mut before = 0;
    loop {
        match notice(bob).await {
            ServerFrame::Message(_) => before += 1,
            ServerFrame::Membership { state, .. } => {
                assert_eq!(state, MemberState::Banned);
                return before;
            }
            other => panic!("expected messages of {room}, then the ban, got {other:?}"),
        }
    }
}

/// A ban while the room is busy: once the connection hears it is banned,
/// it has left the room, and nothing more of it arrives (the
/// `membership` frame is the last word of the room, as the protocol
/// promises).
#[tokio::test]
async fn nothing_of_the_room_follows_the_ban_while_it_is_busy() {
    /// Messages Bob gets before the ban is made, and Ann posts after it.
    const FLOWING: usize = 20;
    /// Most messages Ann posts (her queue takes them all unread).
    const MOST: usize = 5_000;
    let (_db, server, p) = start(TempDb::new()).await;
    let (mut ann, mut bob) = ann_and_bob_in(&p, "busy", &server, &server).await;

    // Ann posts from before the ban is made until after it is, so that
    // the room has messages on their way when it hears of it.
    let banned = Cell::new(false);
    let posting = async {
        let (mut posted, mut after) = (0, 0);
        while after < FLOWING && posted < MOST {
            let i = posted;
            ann.say("busy", &format!("post {i}"), Some(&format!("p{i}")))
                .await;
            posted += 1;
            after += usize::from(banned.get());
            tokio::task::yield_now().await;
        }
        posted
    };
    let banning = async {
        for _ in 0..FLOWING {
            bob.next_message().await;
        }
        ban(&p.ann, "busy", p.bob_id).await;
        banned.set(true);
        FLOWING + messages_until_banned(&mut bob, "busy").await
    };
    let (posted, before) = tokio::join!(posting, banning);
    // Everything Ann posted is stored and reaches her.
    for _ in 0..posted {
        ann.next_message().await;
    }
    if let Some(frame) = bob.try_recv(QUIET_PERIOD).await {
        panic!("after the ban (and {before} of {posted} messages before it), got {frame:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_muted_member_is_told_and_cannot_post_until_unmuted() {
    let (_db, server, p) = start(TempDb::new()).await;
    let (mut ann, mut bob) = ann_and_bob_in(&p, "quiet", &server, &server).await;
    // Bob's other connection, in no room, is told too.
    let mut bob_elsewhere = socket(&p.bob, &server).await;
    // Bob's membership came with his join: he can be muted.
    let until = mute(&p.ann, "quiet", p.bob_id, 5).await;
    assert_eq!(expect_muted(&mut bob, "quiet").await, Some(until));
    assert_eq!(expect_muted(&mut bob_elsewhere, "quiet").await, Some(until));

    let refused = refused_send(&mut bob, "quiet", "can I?", "m1").await;
    assert_eq!(refused.code, ErrorCode::Muted, "{refused:?}");
    assert!(refused.message.contains("5 minutes"), "{refused:?}");
    // Not broadcast: Ann's next message is her own, not his; not stored.
    ann.say("quiet", "rules are rules", Some("a1")).await;
    assert_eq!(ann.next_message().await.text.as_str(), "rules are rules");
    assert_eq!(bob.next_message().await.text.as_str(), "rules are rules");
    assert_eq!(last_id(&p.ann, "quiet").await, 1);

    unmute(&p.ann, "quiet", p.bob_id).await;
    assert_eq!(expect_muted(&mut bob, "quiet").await, None);
    assert_eq!(expect_muted(&mut bob_elsewhere, "quiet").await, None);
    bob.say("quiet", "thanks", Some("m2")).await;
    assert_eq!(bob.next_message().await.text.as_str(), "thanks");
    assert_eq!(ann.next_message().await.text.as_str(), "thanks");
    ann.expect_silence().await;
    server.stop().await;
}

#[tokio::test]
async fn an_archived_room_tells_its_connections_and_takes_no_posts() {
    let (_db, server, p) = start(TempDb::new()).await;
    let (mut ann, mut bob) = ann_and_bob_in(&p, "old", &server, &server).await;
    let mut cid = socket(&p.cid, &server).await;

    archive(&p.ann, "old", true).await;
    for client in [&mut ann, &mut bob] {
        assert_eq!(
            expect_room_changed(client, "old").await,
            (RoomKind::Public, true)
        );
    }
    // A room's settings are told to the connections in it only.
    cid.expect_silence().await;
    for (client, nonce) in [(&mut ann, "a1"), (&mut bob, "b1")] {
        let refused = refused_send(client, "old", "one more", nonce).await;
        assert_eq!(refused.code, ErrorCode::Archived, "{refused:?}");
    }
    // Joined still, to follow it; and one who joins now is refused too.
    cid.join("old").await;
    let refused = refused_send(&mut cid, "old", "hello?", "c1").await;
    assert_eq!(refused.code, ErrorCode::Archived, "{refused:?}");
    assert_eq!(last_id(&p.ann, "old").await, 0);

    archive(&p.ann, "old", false).await;
    for client in [&mut ann, &mut bob, &mut cid] {
        assert_eq!(
            expect_room_changed(client, "old").await,
            (RoomKind::Public, false)
        );
    }
    bob.say("old", "we are back", Some("b2")).await;
    for client in [&mut ann, &mut bob, &mut cid] {
        assert_eq!(client.next_message().await.text.as_str(), "we are back");
    }
    server.stop().await;
}
