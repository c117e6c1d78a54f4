//! Rooms people belong to, over real HTTP on a real server: private
//! rooms that outsiders cannot see, direct conversations, read state,
//! bans, mutes, archived rooms, and the audit log of it all. The room
//! routes' every cell of who may do what is in authorization.rs; these
//! are the flows.
//!
//! Every test runs on the database `TempDb::new` gives (SQLite, or
//! PostgreSQL with `CHAT_TEST_DB=postgres`); the main flow runs on
//! PostgreSQL in every run too.

mod support;

use serde_json::{json, Value};
use support::accounts::{Answer, Api};
use support::rooms::{add, listed, make_room, party, say};
use support::{TempDb, TestServer};

#[tokio::test]
async fn a_private_room_is_invisible_to_those_outside_it() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "team", "private").await;
    add(&p.ann, "team", p.bob_id).await;
    assert_eq!(say(&p.bob, "team", "the plan").await.status, 201);

    // Bob, a member, sees it all.
    let entry = listed(&p.bob, "team").await.expect("listed to a member");
    assert_eq!(entry["kind"], "private");
    assert_eq!(entry["membership"]["role"], "member");
    assert_eq!(p.bob.get("/api/rooms/team").await.status, 200);
    let members = p.bob.get("/api/rooms/team/members").await;
    assert_eq!(members.u64("/total"), 2);
    assert_eq!(members.str("/members/0/username"), "ann");
    assert_eq!(members.str("/members/0/role"), "owner");

    // Cid gets, about it, what he gets about a room that does not exist.
    assert_eq!(listed(&p.cid, "team").await, None);
    for (method, path) in [
        ("GET", "/api/rooms/{}"),
        ("GET", "/api/rooms/{}/messages"),
        ("GET", "/api/rooms/{}/members"),
        ("GET", "/api/rooms/{}/bans"),
        ("POST", "/api/rooms/{}/join"),
        ("POST", "/api/rooms/{}/leave"),
    ] {
        let ask = |room: &str| {
            let path = path.replace("{}", room);
            let cid = p.cid.clone();
            async move {
                let method = method.parse().expect("a method");
                cid.request(method, &path, None).await
            }
        };
        let hidden = ask("team").await;
        let missing = ask("dm-0-0").await;
        assert_eq!(hidden.status, 404, "{method} {path}: {hidden:?}");
        assert_eq!(hidden.body, missing.body, "{method} {path}");
    }
    let posted = say(&p.cid, "team", "let me in").await;
    assert_eq!((posted.status, posted.code()), (404, "not_found"));
    // Adding himself is no way in either.
    let added = p
        .cid
        .post("/api/rooms/team/members", &json!({"user": p.cid_id}))
        .await;
    assert_eq!(added.status, 404, "{added:?}");

    // An administrator reads it without being in it, and it is not in
    // their list.
    assert_eq!(p.admin.get("/api/rooms/team/messages").await.status, 200);
    assert_eq!(listed(&p.admin, "team").await, None);
    server.stop().await;
}

#[tokio::test]
async fn a_direct_conversation_is_named_by_its_people_and_started_once() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    let started = p.ann.post("/api/direct", &json!({"people": ["bob"]})).await;
    assert_eq!(started.status, 201, "{started:?}");
    let room = format!("dm-{}-{}", p.ann_id, p.bob_id);
    assert_eq!(started.str("/room"), room);
    assert_eq!(started.str("/kind"), "direct");
    // Bob starting it, by Ann's number, finds the same one.
    let again = p
        .bob
        .post("/api/direct", &json!({"people": [p.ann_id, "bob"]}))
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.str("/room"), room);
    assert_eq!(say(&p.bob, &room, "hi ann").await.status, 201);
    let entry = listed(&p.ann, &room).await.expect("listed to its people");
    assert_eq!(entry["membership"]["unread"], 1);

    // Nobody else sees, joins or is added to it, and nobody leaves it.
    assert_eq!(listed(&p.cid, &room).await, None);
    assert_eq!(p.cid.get(&format!("/api/rooms/{room}")).await.status, 404);
    let join = p
        .cid
        .post(&format!("/api/rooms/{room}/join"), &json!({}))
        .await;
    assert_eq!(join.status, 404);
    let add = p
        .ann
        .post(
            &format!("/api/rooms/{room}/members"),
            &json!({"user": p.cid_id}),
        )
        .await;
    assert_eq!((add.status, add.code()), (403, "forbidden"));
    let leave = p
        .bob
        .post(&format!("/api/rooms/{room}/leave"), &json!({}))
        .await;
    assert_eq!(leave.status, 403);
    // Its people give it a title.
    let titled = p
        .bob
        .patch(
            &format!("/api/rooms/{room}"),
            &json!({"title": "Ann & Bob"}),
        )
        .await;
    assert_eq!(titled.str("/title"), "Ann & Bob");

    // The rules of its people.
    for (people, status, code) in [
        (json!([]), 400, "bad_request"),
        (json!(["ann"]), 400, "bad_request"),
        (json!(["nobody-here"]), 404, "not_found"),
        (json!([u64::MAX]), 404, "not_found"),
        (json!((1..=10).collect::<Vec<u64>>()), 400, "bad_request"),
    ] {
        let refused = p.ann.post("/api/direct", &json!({"people": people})).await;
        assert_eq!((refused.status, refused.code()), (status, code), "{people}");
    }
    let taken = p
        .ann
        .post("/api/rooms", &json!({"room": "dm-1-2", "kind": "public"}))
        .await;
    assert_eq!((taken.status, taken.code()), (400, "invalid_room"));
    server.stop().await;
}

#[tokio::test]
async fn unread_counts_follow_posts_and_what_was_read() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "news", "public").await;
    let joined = p.bob.post("/api/rooms/news/join", &json!({})).await;
    assert_eq!(joined.status, 200, "{joined:?}");
    assert_eq!(joined.str("/membership/role"), "member");
    for text in ["one", "two", "three"] {
        assert_eq!(say(&p.ann, "news", text).await.status, 201);
    }
    let unread = |entry: Option<Value>| entry.expect("listed")["membership"]["unread"].clone();
    assert_eq!(unread(listed(&p.bob, "news").await), 3);
    // A public room Cid is not in is listed, without a membership.
    let entry = listed(&p.cid, "news")
        .await
        .expect("public rooms are listed");
    assert!(entry["membership"].is_null(), "{entry}");

    let read = p
        .bob
        .post("/api/rooms/news/read", &json!({"up_to": 2}))
        .await;
    assert_eq!((read.u64("/last_read"), read.u64("/unread")), (2, 1));
    // Reading never goes backwards, nor past the newest message.
    let back = p
        .bob
        .post("/api/rooms/news/read", &json!({"up_to": 1}))
        .await;
    assert_eq!(back.u64("/last_read"), 2);
    assert_eq!(unread(listed(&p.bob, "news").await), 1);
    let ahead = p
        .bob
        .post("/api/rooms/news/read", &json!({"up_to": u64::MAX}))
        .await;
    assert_eq!(
        (ahead.status, ahead.u64("/last_read")),
        (200, 3),
        "{ahead:?}"
    );
    // Outside it, there is nothing to mark.
    let outside = p
        .cid
        .post("/api/rooms/news/read", &json!({"up_to": 3}))
        .await;
    assert_eq!((outside.status, outside.code()), (409, "not_member"));

    assert_eq!(say(&p.ann, "news", "four").await.status, 201);
    make_room(&p.cid, "other", "public").await;
    add(&p.cid, "other", p.bob_id).await;
    assert_eq!(say(&p.cid, "other", "five").await.status, 201);
    let all = p.bob.post("/api/me/read-all", &json!({})).await;
    assert_eq!(all.u64("/rooms"), 2, "{all:?}");
    assert_eq!(unread(listed(&p.bob, "news").await), 0);
    assert_eq!(unread(listed(&p.bob, "other").await), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_ban_keeps_people_out_of_a_room_and_its_history() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "hall", "public").await;
    assert_eq!(
        p.bob.post("/api/rooms/hall/join", &json!({})).await.status,
        200
    );
    let banned = p
        .ann
        .post("/api/rooms/hall/bans", &json!({"username": "bob"}))
        .await;
    assert_eq!(banned.status, 201, "{banned:?}");
    assert_eq!(banned.u64("/by"), p.ann_id);
    let again = p
        .ann
        .post("/api/rooms/hall/bans", &json!({"user": p.bob_id}))
        .await;
    assert_eq!(again.status, 200, "a ban stays as it was: {again:?}");

    for answer in [
        p.bob.post("/api/rooms/hall/join", &json!({})).await,
        p.bob.get("/api/rooms/hall/messages").await,
        p.bob.get("/api/rooms/hall").await,
        say(&p.bob, "hall", "still here?").await,
    ] {
        assert_eq!(
            (answer.status, answer.code()),
            (403, "banned"),
            "{answer:?}"
        );
    }
    let members = p.ann.get("/api/rooms/hall/members").await;
    assert_eq!(members.u64("/total"), 1, "the ban ended the membership");
    let added = p
        .ann
        .post("/api/rooms/hall/members", &json!({"user": p.bob_id}))
        .await;
    assert_eq!((added.status, added.code()), (403, "banned"));
    let bans = p.ann.get("/api/rooms/hall/bans").await;
    assert_eq!(bans.str("/0/username"), "bob");
    // Only moderators list or lift bans.
    assert_eq!(p.cid.get("/api/rooms/hall/bans").await.status, 403);

    let lifted = p
        .ann
        .delete(&format!("/api/rooms/hall/bans/{}", p.bob_id))
        .await;
    assert_eq!(lifted.status, 204, "{lifted:?}");
    let gone = p
        .ann
        .delete(&format!("/api/rooms/hall/bans/{}", p.bob_id))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(p.bob.get("/api/rooms/hall/messages").await.status, 200);
    assert_eq!(
        p.bob.post("/api/rooms/hall/join", &json!({})).await.status,
        200
    );

    // Banned from a private room, one is an outsider again: nothing of it
    // shows.
    make_room(&p.ann, "inner", "private").await;
    add(&p.ann, "inner", p.cid_id).await;
    let out = p
        .ann
        .post("/api/rooms/inner/bans", &json!({"user": p.cid_id}))
        .await;
    assert_eq!(out.status, 201);
    assert_eq!(p.cid.get("/api/rooms/inner/messages").await.status, 404);
    assert_eq!(listed(&p.cid, "inner").await, None);
    server.stop().await;
}

#[tokio::test]
async fn a_muted_member_reads_but_does_not_post() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "quiet", "public").await;
    add(&p.ann, "quiet", p.bob_id).await;
    add(&p.ann, "quiet", p.cid_id).await;
    let muted = p
        .ann
        .request(
            reqwest::Method::PUT,
            &format!("/api/rooms/quiet/members/{}/mute", p.bob_id),
            Some(&json!({"minutes": 5})),
        )
        .await;
    assert_eq!(muted.status, 200, "{muted:?}");
    assert!(muted.u64("/muted_until") > 0);
    let refused = say(&p.bob, "quiet", "can I?").await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "muted"),
        "{refused:?}"
    );
    assert!(refused.str("/message").contains("until"), "{refused:?}");
    assert_eq!(p.bob.get("/api/rooms/quiet/messages").await.status, 200);

    // A moderator mutes members, but neither the owner nor another
    // moderator.
    let promote = |user: u64| {
        let ann = p.ann.clone();
        async move {
            let path = format!("/api/rooms/quiet/members/{user}/role");
            let body = json!({"role": "moderator"});
            ann.request(reqwest::Method::PUT, &path, Some(&body)).await
        }
    };
    assert_eq!(promote(p.cid_id).await.status, 200);
    let mute = |caller: &Api, user: u64, minutes: u32| {
        let caller = caller.clone();
        async move {
            let path = format!("/api/rooms/quiet/members/{user}/mute");
            let body = json!({"minutes": minutes});
            caller
                .request(reqwest::Method::PUT, &path, Some(&body))
                .await
        }
    };
    assert_eq!(mute(&p.cid, p.ann_id, 5).await.status, 403);
    assert_eq!(mute(&p.cid, p.bob_id, 5).await.status, 200);
    assert_eq!(promote(p.bob_id).await.status, 200);
    assert_eq!(mute(&p.cid, p.bob_id, 5).await.status, 403);
    for minutes in [0, common::api::rooms::MAX_MUTE_MINUTES + 1] {
        let out_of_bounds = mute(&p.ann, p.bob_id, minutes).await;
        assert_eq!(out_of_bounds.status, 400, "{minutes}");
    }

    let unmuted = p
        .ann
        .delete(&format!("/api/rooms/quiet/members/{}/mute", p.bob_id))
        .await;
    assert_eq!(unmuted.status, 200, "{unmuted:?}");
    assert!(unmuted.body["muted_until"].is_null());
    assert_eq!(say(&p.bob, "quiet", "thanks").await.status, 201);
    server.stop().await;
}

#[tokio::test]
async fn an_archived_room_is_read_only_until_it_is_brought_back() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "old", "public").await;
    assert_eq!(say(&p.ann, "old", "last words").await.status, 201);
    let archived = p
        .ann
        .patch("/api/rooms/old", &json!({"archived": true}))
        .await;
    assert_eq!(archived.status, 200, "{archived:?}");
    assert_eq!(archived.body["archived"], true);

    let posted = say(&p.ann, "old", "one more").await;
    assert_eq!((posted.status, posted.code()), (409, "archived"));
    let renamed = p
        .ann
        .patch("/api/rooms/old", &json!({"title": "Old"}))
        .await;
    assert_eq!((renamed.status, renamed.code()), (409, "archived"));
    // Read and joined still, to follow it.
    let page = p.bob.get("/api/rooms/old/messages").await;
    assert_eq!(page.str("/messages/0/text"), "last words");
    assert_eq!(
        p.bob.post("/api/rooms/old/join", &json!({})).await.status,
        200
    );
    // Only its owner brings it back, and may rename it in the same request.
    let by_bob = p
        .bob
        .patch("/api/rooms/old", &json!({"archived": false}))
        .await;
    assert_eq!(by_bob.status, 403);
    let back = p
        .ann
        .patch(
            "/api/rooms/old",
            &json!({"archived": false, "title": "Old"}),
        )
        .await;
    assert_eq!(back.status, 200, "{back:?}");
    assert_eq!(
        (back.str("/title"), &back.body["archived"]),
        ("Old".to_owned(), &json!(false))
    );
    assert_eq!(say(&p.ann, "old", "we are back").await.status, 201);
    // A kind changes between public and private only.
    let private = p
        .ann
        .patch("/api/rooms/old", &json!({"kind": "private"}))
        .await;
    assert_eq!(private.str("/kind"), "private");
    let direct = p
        .ann
        .patch("/api/rooms/old", &json!({"kind": "direct"}))
        .await;
    assert_eq!(direct.status, 400);
    assert_eq!(p.cid.get("/api/rooms/old").await.status, 404, "private now");
    server.stop().await;
}

/// The audit actions of `page`, oldest first.
fn actions(page: &Answer) -> Vec<String> {
    let entries = page.body["entries"].as_array().expect("entries");
    let mut actions: Vec<String> = entries
        .iter()
        .map(|entry| entry["action"].as_str().expect("an action").to_owned())
        .collect();
    actions.reverse();
    actions
}

#[tokio::test]
async fn every_moderation_and_administration_action_is_audited() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "club", "public").await;
    add(&p.ann, "club", p.bob_id).await;
    let member = |user: u64, what: &str| format!("/api/rooms/club/members/{user}/{what}");
    let put = |path: String, body: Value| {
        let ann = p.ann.clone();
        async move { ann.request(reqwest::Method::PUT, &path, Some(&body)).await }
    };
    let done = [
        p.ann
            .patch(
                "/api/rooms/club",
                &json!({"title": "The club", "topic": "Chess"}),
            )
            .await,
        p.ann
            .patch("/api/rooms/club", &json!({"kind": "private"}))
            .await,
        p.ann
            .patch("/api/rooms/club", &json!({"archived": true}))
            .await,
        p.ann
            .patch("/api/rooms/club", &json!({"archived": false}))
            .await,
        put(member(p.bob_id, "role"), json!({"role": "moderator"})).await,
        put(member(p.bob_id, "role"), json!({"role": "member"})).await,
        put(member(p.bob_id, "mute"), json!({"minutes": 10})).await,
        p.ann.delete(&member(p.bob_id, "mute")).await,
        p.ann
            .post("/api/rooms/club/bans", &json!({"user": p.cid_id}))
            .await,
        p.ann
            .delete(&format!("/api/rooms/club/bans/{}", p.cid_id))
            .await,
        p.ann
            .delete(&format!("/api/rooms/club/members/{}", p.bob_id))
            .await,
    ];
    for answer in &done {
        assert!(answer.status < 300, "{answer:?}");
    }
    // Administration, by the administrator.
    let made = p
        .admin
        .post(
            "/api/admin/accounts",
            &json!({"username": "hook", "display_name": "Hook", "kind": "bot", "role": "member"}),
        )
        .await;
    let hook = made.u64("/id");
    let token = p
        .admin
        .post(
            &format!("/api/admin/accounts/{hook}/tokens"),
            &json!({"name": "ci"}),
        )
        .await;
    let token_id = token.u64("/info/id");
    let secret = token.str("/token");
    let link = p
        .admin
        .post(
            &format!("/api/admin/accounts/{}/reset-link", p.cid_id),
            &json!({}),
        )
        .await
        .str("/link");
    let invite = p
        .admin
        .post("/api/admin/invites", &json!({"max_uses": 2}))
        .await;
    let changes = [
        p.admin
            .delete(&format!("/api/admin/accounts/{hook}/tokens/{token_id}"))
            .await,
        p.admin
            .delete(&format!("/api/admin/invites/{}", invite.u64("/id")))
            .await,
        p.admin
            .patch(
                &format!("/api/admin/accounts/{}", p.cid_id),
                &json!({"role": "admin"}),
            )
            .await,
        p.admin
            .patch(
                &format!("/api/admin/accounts/{}", p.cid_id),
                &json!({"state": "deactivated"}),
            )
            .await,
        p.admin
            .patch(
                &format!("/api/admin/accounts/{}", p.cid_id),
                &json!({"state": "active"}),
            )
            .await,
    ];
    for answer in &changes {
        assert!(answer.status < 300, "{answer:?}");
    }

    let page = p.admin.get("/api/admin/audit").await;
    assert_eq!(page.status, 200, "{page:?}");
    let expected = [
        // The three people the test made.
        "account.create",
        "account.create",
        "account.create",
        "room.create",
        "room.member.add",
        "room.rename",
        "room.topic",
        "room.kind",
        "room.archive",
        "room.unarchive",
        "room.member.role",
        "room.member.role",
        "room.mute",
        "room.unmute",
        "room.ban",
        "room.unban",
        "room.member.remove",
        "account.create",
        "token.create",
        "account.reset_link",
        "invite.create",
        "token.revoke",
        "invite.revoke",
        "account.role",
        "account.deactivate",
        "account.reactivate",
    ];
    assert_eq!(actions(&page), expected);
    let entries = page.body["entries"].as_array().expect("entries");
    let ban = entries
        .iter()
        .find(|entry| entry["action"] == "room.ban")
        .expect("the ban");
    assert_eq!(
        (&ban["actor"], &ban["target_user"], &ban["room"]),
        (&json!(p.ann_id), &json!(p.cid_id), &json!("club"))
    );
    // No secret is written down: neither the token nor the link's.
    let text = page.body.to_string();
    let link_token = link.rsplit('/').next().expect("a token");
    assert!(
        !text.contains(&secret) && !text.contains(link_token),
        "{text}"
    );

    // Older pages, by `before`.
    let first = p.admin.get("/api/admin/audit?limit=5").await;
    assert_eq!(first.body["has_older"], true);
    let last_id = first.u64("/entries/4/id");
    let older = p
        .admin
        .get(&format!("/api/admin/audit?before={last_id}&limit=500"))
        .await;
    let mut all = actions(&older);
    all.extend(actions(&first));
    assert_eq!(all, expected);
    assert_eq!(older.body["has_older"], false);
    // Members may not read it.
    let refused = p.ann.get("/api/admin/audit").await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    let bad = p.admin.get("/api/admin/audit?limit=0").await;
    assert_eq!(bad.status, 400);
    server.stop().await;
}

/// The main flow on PostgreSQL, whatever `CHAT_TEST_DB` says: a private
/// room, its members, posts, read state, a ban and the audit log.
#[tokio::test]
async fn the_main_flow_on_postgres() {
    let db = TempDb::postgres();
    let server = TestServer::start(&db.path()).await;
    let p = party(&server).await;
    make_room(&p.ann, "team", "private").await;
    add(&p.ann, "team", p.bob_id).await;
    assert_eq!(p.cid.get("/api/rooms/team").await.status, 404);
    for text in ["a", "b"] {
        assert_eq!(say(&p.ann, "team", text).await.status, 201);
    }
    let entry = listed(&p.bob, "team").await.expect("listed");
    assert_eq!(entry["membership"]["unread"], 2);
    let read = p
        .bob
        .post("/api/rooms/team/read", &json!({"up_to": 2}))
        .await;
    assert_eq!(read.u64("/unread"), 0);
    let banned = p
        .ann
        .post("/api/rooms/team/bans", &json!({"user": p.bob_id}))
        .await;
    assert_eq!(banned.status, 201);
    assert_eq!(p.bob.get("/api/rooms/team/messages").await.status, 404);
    let started = p.ann.post("/api/direct", &json!({"people": ["cid"]})).await;
    assert_eq!(started.status, 201);
    let again = p.cid.post("/api/direct", &json!({"people": ["ann"]})).await;
    assert_eq!(again.status, 200);
    let page = p.admin.get("/api/admin/audit").await;
    assert_eq!(
        actions(&page)[3..],
        ["room.create", "room.member.add", "room.ban"]
    );
    server.stop().await;
}
