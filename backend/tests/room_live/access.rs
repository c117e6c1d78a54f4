//! Who a WebSocket `join` lets in: a private room and a direct
//! conversation refuse outsiders as a room that does not exist does, and
//! let them in once they belong, which their open connections are told.

use super::support::rooms::{add, expect_membership, make_room, refused_join, say, socket};
use super::support::TempDb;
use super::{start, texts};
use common::{ErrorCode, MemberState, RoomRole};
use serde_json::json;

#[tokio::test]
async fn an_outsider_joins_a_private_room_once_a_member_adds_them() {
    let (_db, server, p) = start(TempDb::new()).await;
    make_room(&p.ann, "team", "private").await;
    assert_eq!(say(&p.ann, "team", "the plan").await.status, 201);
    let mut ann = socket(&p.ann, &server).await;
    ann.join("team").await;
    let mut cid = socket(&p.cid, &server).await;

    // Cid gets, about it, what he gets about a room that does not exist
    // (a direct conversation's slug: any other new name makes a room).
    let hidden = refused_join(&mut cid, "team").await;
    let missing = refused_join(&mut cid, "dm-0-0").await;
    assert_eq!(hidden.code, ErrorCode::NotFound, "{hidden:?}");
    assert_eq!(
        (hidden.code, &hidden.message),
        (missing.code, &missing.message)
    );
    // And nothing of it: neither its history nor what is posted now.
    ann.say("team", "still ours", Some("s1")).await;
    assert_eq!(ann.next_message().await.text.as_str(), "still ours");
    cid.expect_silence().await;

    add(&p.ann, "team", p.cid_id).await;
    assert_eq!(
        expect_membership(&mut cid, "team").await,
        (MemberState::Member, Some(RoomRole::Member))
    );
    // Adding someone tells them, nobody else.
    ann.expect_silence().await;
    let joined = cid.join("team").await;
    assert_eq!(texts(&joined.history), ["the plan", "still ours"]);
    assert_eq!(joined.members, ["Ann", "Cid"]);
    assert_eq!(ann.expect_presence().await, ["Ann", "Cid"]);
    ann.say("team", "welcome", Some("s2")).await;
    assert_eq!(cid.next_message().await.text.as_str(), "welcome");
    server.stop().await;
}

#[tokio::test]
async fn a_direct_conversation_lets_in_its_people_only() {
    let (_db, server, p) = start(TempDb::new()).await;
    let mut ann = socket(&p.ann, &server).await;
    let mut bob = socket(&p.bob, &server).await;
    let mut cid = socket(&p.cid, &server).await;
    let started = p.ann.post("/api/direct", &json!({"people": ["bob"]})).await;
    assert_eq!(started.status, 201, "{started:?}");
    let room = started.str("/room");

    // Bob is told he is in it; Ann, who started it, knows.
    assert_eq!(
        expect_membership(&mut bob, &room).await,
        (MemberState::Member, Some(RoomRole::Member))
    );
    ann.expect_silence().await;
    cid.expect_silence().await;

    let hidden = refused_join(&mut cid, &room).await;
    let missing = refused_join(&mut cid, "dm-0-0").await;
    assert_eq!(hidden.code, ErrorCode::NotFound, "{hidden:?}");
    assert_eq!(hidden.message, missing.message);
    assert_eq!(say(&p.cid, &room, "hello?").await.status, 404);

    ann.join(&room).await;
    bob.join(&room).await;
    assert_eq!(ann.expect_presence().await, ["Ann", "Bob"]);
    bob.say(&room, "hi ann", Some("d1")).await;
    assert_eq!(ann.next_message().await.text.as_str(), "hi ann");
    assert_eq!(bob.next_message().await.text.as_str(), "hi ann");
    cid.expect_silence().await;
    server.stop().await;
}

#[tokio::test]
async fn joining_a_new_name_makes_a_public_room_and_says_no_more() {
    let (_db, server, p) = start(TempDb::new()).await;
    let mut ann = socket(&p.ann, &server).await;
    // Ann's other tab: her own join is not told again, on any of them.
    let mut ann_elsewhere = socket(&p.ann, &server).await;
    ann.join("fresh").await;
    ann.expect_silence().await;
    ann_elsewhere.expect_silence().await;
    let made = p.ann.get("/api/rooms/fresh").await;
    assert_eq!(made.status, 200, "{made:?}");
    assert_eq!(
        (made.str("/kind"), made.u64("/owner")),
        ("public".to_owned(), p.ann_id)
    );
    assert_eq!(made.str("/membership/role"), "owner");

    // Joining it makes Bob a member of it, as the HTTP join does.
    let mut bob = socket(&p.bob, &server).await;
    bob.join("fresh").await;
    bob.expect_silence().await;
    let members = p.ann.get("/api/rooms/fresh/members").await;
    assert_eq!(members.u64("/total"), 2, "{members:?}");
    assert_eq!(members.str("/members/1/role"), "member");
    assert!(members.bool("/members/0/online") && members.bool("/members/1/online"));

    // Membership lasts; being here does not: Bob's connection goes, he
    // stays a member, offline.
    drop(bob);
    let deadline = tokio::time::Instant::now() + super::support::FRAME_TIMEOUT;
    loop {
        let members = p.ann.get("/api/rooms/fresh/members").await;
        assert_eq!(members.u64("/total"), 2, "{members:?}");
        if !members.bool("/members/1/online") {
            assert!(members.bool("/members/0/online"), "{members:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob is still online"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop().await;
}
