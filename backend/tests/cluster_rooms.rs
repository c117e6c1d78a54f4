//! Rooms people belong to across a cluster (`--cluster`, a real Redis and
//! two instances on one PostgreSQL database): a change made over HTTP on
//! instance A reaches the sockets of instance B through the channel
//! `chat:rooms` (backend/src/cluster/events.rs), and B's running rooms
//! apply it. The single server's counterparts are in tests/room_live.rs.

mod support;

use common::{ErrorCode, MemberState};
use support::broker::two_instances;
use support::rooms::{
    ann_and_bob_in, archive, ban, expect_membership, expect_muted, expect_read,
    expect_room_changed, mark_read, mute, party, refused_join, refused_send, socket,
};

#[tokio::test]
async fn a_ban_and_a_read_on_one_instance_reach_the_socket_on_the_other() {
    let (_dir, _broker, a, b) = two_instances().await;
    let p = party(&a).await;
    let (mut ann, mut bob) = ann_and_bob_in(&p, "hall", &a, &b).await;
    // Cid, on B too, shows that B's room goes on without Bob.
    let mut cid = socket(&p.cid, &b).await;
    cid.join("hall").await;
    ann.say("hall", "before", Some("a1")).await;
    for client in [&mut ann, &mut bob, &mut cid] {
        assert_eq!(client.next_message().await.text.as_str(), "before");
    }

    // Bob reads on A (his session is the same account's); B's socket hears.
    assert_eq!(mark_read(&p.bob, "hall", 1).await, 1);
    assert_eq!(expect_read(&mut bob, "hall").await, 1);

    ban(&p.ann, "hall", p.bob_id).await;
    assert_eq!(
        expect_membership(&mut bob, "hall").await,
        (MemberState::Banned, None)
    );
    ann.say("hall", "after", Some("a2")).await;
    assert_eq!(cid.next_message().await.text.as_str(), "after");
    assert_eq!(ann.next_message().await.text.as_str(), "after");
    bob.expect_silence().await;
    let refused = refused_send(&mut bob, "hall", "still here?", "b1").await;
    assert_eq!(refused.code, ErrorCode::NotJoined, "{refused:?}");
    let refused = refused_join(&mut bob, "hall").await;
    assert_eq!(refused.code, ErrorCode::Banned, "{refused:?}");
}

#[tokio::test]
async fn a_mute_and_the_archive_on_one_instance_bind_the_other() {
    let (_dir, _broker, a, b) = two_instances().await;
    let p = party(&a).await;
    let (mut ann, mut bob) = ann_and_bob_in(&p, "club", &a, &b).await;

    let until = mute(&p.ann, "club", p.bob_id, 10).await;
    assert_eq!(expect_muted(&mut bob, "club").await, Some(until));
    let refused = refused_send(&mut bob, "club", "can I?", "b1").await;
    assert_eq!(refused.code, ErrorCode::Muted, "{refused:?}");

    archive(&p.ann, "club", true).await;
    for client in [&mut ann, &mut bob] {
        assert!(expect_room_changed(client, "club").await.1, "archived");
    }
    let refused = refused_send(&mut ann, "club", "last call", "a1").await;
    assert_eq!(refused.code, ErrorCode::Archived, "{refused:?}");
    // Nothing was stored or sent on either instance.
    let entry = support::rooms::listed(&p.ann, "club")
        .await
        .expect("listed");
    assert_eq!(entry["last_id"], 0);
    bob.expect_silence().await;
}

#[tokio::test]
async fn who_is_online_is_known_on_an_instance_where_the_room_does_not_run() {
    let (_dir, _broker, a, b) = two_instances().await;
    let p = party(&a).await;
    // Both on B: the room runs there only; the list is asked of A.
    let (_ann, bob) = ann_and_bob_in(&p, "lounge", &b, &b).await;
    let online = |members: &support::accounts::Answer, index: usize| {
        members.bool(&format!("/members/{index}/online"))
    };
    let members = p.ann.get("/api/rooms/lounge/members").await;
    assert_eq!(members.u64("/total"), 2, "{members:?}");
    assert!(online(&members, 0) && online(&members, 1), "{members:?}");

    drop(bob);
    let deadline = tokio::time::Instant::now() + support::FRAME_TIMEOUT;
    loop {
        let members = p.ann.get("/api/rooms/lounge/members").await;
        if !online(&members, 1) {
            assert!(online(&members, 0), "Ann is still there: {members:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob is still online"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
