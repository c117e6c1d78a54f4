//! The conformance tests of accounts and links: usernames, the first
//! administrator, invites, profile changes, and what a database keeps.

use super::*;
use chat_server::store::{Draft, Posted};
use common::{MessageText, RoomName};

pub(super) async fn usernames_are_unique_ignoring_case(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("Ann")).await;
    assert_eq!(ann.username.as_str(), "ann");
    assert_eq!(ann.display_name.as_str(), "Ann");
    assert_eq!((ann.role, ann.kind), (Role::Member, AccountKind::Person));
    assert_eq!(ann.state, AccountState::Active);
    assert_eq!(ann.created_ms, T0);
    assert_eq!(ann.password_hash, person("Ann").password_hash);

    let again = store.create_account(person("ANN"), T0).await;
    let err = again.expect_err("the username is taken");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.to_string().contains("the username ann is taken"),
        "{err}"
    );
    assert_eq!(store.count_accounts().await.expect("reads"), 1);

    let found = store.account_by_username(&username("aNn")).await;
    assert_eq!(found.expect("reads"), Some(ann.clone()));
    assert_eq!(
        store.account(ann.id).await.expect("reads"),
        Some(ann.clone())
    );
    assert_eq!(store.account(ann.id + 100).await.expect("reads"), None);
    assert_eq!(
        store
            .account_by_username(&username("nobody"))
            .await
            .expect("reads"),
        None
    );

    let robot = create(&*store, bot("robot")).await;
    assert!(robot.id > ann.id);
    assert_eq!(robot.password_hash, None);
    assert_eq!(store.accounts().await.expect("reads"), [ann, robot]);
    assert_eq!(store.count_accounts().await.expect("reads"), 2);

    let with_password = NewAccount {
        password_hash: Some("$argon2id$…".to_owned()),
        ..bot("robot2")
    };
    assert_eq!(
        kind_of(store.create_account(with_password, T0).await),
        ErrorKind::Invalid,
        "a bot has no password"
    );
}

pub(super) async fn the_first_admin_needs_the_setup_link_and_is_made_once(backend: Backend) {
    let store = backend.open().await.accounts;
    let attempt = |seed: &str, raw: &str| store.create_first_admin(digest(seed), person(raw), T0);
    assert_eq!(
        kind_of(attempt("no such link", "ann").await),
        ErrorKind::Gone
    );
    store
        .create_link(link(LinkKind::Invite, "invite"))
        .await
        .expect("link");
    assert_eq!(kind_of(attempt("invite", "ann").await), ErrorKind::Gone);
    let expired = NewLink {
        expires_ms: Some(T0),
        ..link(LinkKind::Setup, "expired")
    };
    store.create_link(expired).await.expect("link");
    assert_eq!(kind_of(attempt("expired", "ann").await), ErrorKind::Gone);
    assert_eq!(store.count_accounts().await.expect("reads"), 0);

    let setup = store.create_link(link(LinkKind::Setup, "setup")).await;
    assert_eq!(setup.expect("link").max_uses, Some(1), "used once");
    let admin = attempt("setup", "ann").await.expect("the first admin");
    assert_eq!(admin.role, Role::Admin, "whatever the new account said");
    assert_eq!(store.accounts().await.expect("reads"), [admin]);
    let used = store
        .link_by_token(digest("setup"), T0)
        .await
        .expect("reads");
    assert_eq!(used, None, "the setup link is used up");

    assert_eq!(kind_of(attempt("setup", "bob").await), ErrorKind::Gone);
    // Another setup link (a restart printed a new one) is no use now.
    store
        .create_link(link(LinkKind::Setup, "setup 2"))
        .await
        .expect("link");
    let err = attempt("setup 2", "bob")
        .await
        .expect_err("the setup is done");
    assert_eq!(err.kind(), ErrorKind::Gone);
    assert!(err.to_string().contains("setup is done"), "{err}");
    let links = store.links(LinkKind::Setup).await.expect("reads");
    let uses: Vec<u32> = links.iter().map(|link| link.uses).collect();
    assert_eq!(uses, [0, 1, 0], "only the link that made the admin is used");
    assert_eq!(store.count_accounts().await.expect("reads"), 1);
}

pub(super) async fn invites_expire_run_out_and_can_be_revoked(backend: Backend) {
    let store = backend.open().await.accounts;
    let admin = create(&*store, person("admin")).await;
    let twice = NewLink {
        created_by: Some(admin.id),
        max_uses: Some(2),
        expires_ms: Some(T0 + 1_000),
        ..link(LinkKind::Invite, "twice")
    };
    let created = store.create_link(twice).await.expect("link");
    assert_eq!(
        (created.uses, created.revoked, created.created_by),
        (0, false, Some(admin.id))
    );
    let sign_up =
        |seed: &str, raw: &str, now: u64| store.sign_up_with_invite(digest(seed), person(raw), now);
    let ann = sign_up("twice", "ann", T0).await.expect("signed up");
    assert_eq!((ann.role, ann.state), (Role::Member, AccountState::Active));
    let found = store
        .link_by_token(digest("twice"), T0)
        .await
        .expect("reads");
    assert_eq!(found.map(|link| link.uses), Some(1));
    sign_up("twice", "bob", T0 + 1).await.expect("signed up");
    assert_eq!(
        store
            .link_by_token(digest("twice"), T0)
            .await
            .expect("reads"),
        None,
        "used up"
    );
    assert_eq!(
        kind_of(sign_up("twice", "carl", T0 + 2).await),
        ErrorKind::Gone
    );

    let expiring = NewLink {
        expires_ms: Some(T0 + 1_000),
        ..link(LinkKind::Invite, "expiring")
    };
    store.create_link(expiring).await.expect("link");
    let late = sign_up("expiring", "carl", T0 + 1_000).await;
    assert_eq!(kind_of(late), ErrorKind::Gone, "expired at its time");
    sign_up("expiring", "carl", T0 + 999)
        .await
        .expect("in time");

    let revoked = store.create_link(link(LinkKind::Invite, "revoked")).await;
    let revoked = revoked.expect("link").id;
    assert!(store.revoke_link(revoked).await.expect("revokes"));
    assert!(!store.revoke_link(revoked).await.expect("answers"), "once");
    assert!(!store.revoke_link(revoked + 100).await.expect("answers"));
    assert_eq!(
        kind_of(sign_up("revoked", "dora", T0).await),
        ErrorKind::Gone
    );
    assert_eq!(
        store
            .link_by_token(digest("revoked"), T0)
            .await
            .expect("reads"),
        None
    );

    // Links of other kinds, and made-up ones, sign nobody up.
    let reset = NewLink {
        account: Some(ann.id),
        ..link(LinkKind::Reset, "reset")
    };
    store.create_link(reset).await.expect("link");
    assert_eq!(kind_of(sign_up("reset", "dora", T0).await), ErrorKind::Gone);
    assert_eq!(
        kind_of(sign_up("made up", "dora", T0).await),
        ErrorKind::Gone
    );

    let invites = store.links(LinkKind::Invite).await.expect("reads");
    let states: Vec<(u32, bool)> = invites.iter().map(|l| (l.uses, l.revoked)).collect();
    assert_eq!(states, [(2, false), (1, false), (0, true)], "by id");
    assert_eq!(store.count_accounts().await.expect("reads"), 4);
}

pub(super) async fn a_failed_sign_up_counts_no_use_of_its_invite(backend: Backend) {
    let store = backend.open().await.accounts;
    create(&*store, person("ann")).await;
    let once = NewLink {
        max_uses: Some(1),
        ..link(LinkKind::Invite, "once")
    };
    store.create_link(once).await.expect("link");
    let taken = store
        .sign_up_with_invite(digest("once"), person("Ann"), T0)
        .await;
    assert_eq!(kind_of(taken), ErrorKind::Conflict);
    let robot_with_password = NewAccount {
        password_hash: Some("$argon2id$…".to_owned()),
        ..bot("robot")
    };
    let invalid = store
        .sign_up_with_invite(digest("once"), robot_with_password, T0)
        .await;
    assert_eq!(kind_of(invalid), ErrorKind::Invalid);
    let link = store
        .link_by_token(digest("once"), T0)
        .await
        .expect("reads");
    assert_eq!(link.map(|link| link.uses), Some(0), "still unused");
    store
        .sign_up_with_invite(digest("once"), person("bob"), T0)
        .await
        .expect("the invite still works");
    assert_eq!(store.count_accounts().await.expect("reads"), 2);
}

pub(super) async fn display_names_and_roles_change(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    let renamed = store
        .set_display_name(ann.id, DisplayName::parse("Ann Lee 👋").expect("valid"))
        .await
        .expect("renamed");
    assert_eq!(renamed.display_name.as_str(), "Ann Lee 👋");
    let promoted = store.set_role(ann.id, Role::Admin).await.expect("promoted");
    assert_eq!(
        (promoted.role, &promoted.display_name),
        (Role::Admin, &renamed.display_name)
    );
    let stored = store.account(ann.id).await.expect("reads");
    assert_eq!(stored, Some(promoted));
    let name = DisplayName::parse("X").expect("valid");
    let unknown = store.set_display_name(ann.id + 100, name).await;
    assert_eq!(kind_of(unknown), ErrorKind::NotFound);
    assert_eq!(
        kind_of(store.set_role(ann.id + 100, Role::Member).await),
        ErrorKind::NotFound
    );
}

pub(super) async fn everything_is_kept_when_the_database_is_opened_again(backend: Backend) {
    if !backend.is_durable() {
        return; // Memory keeps nothing.
    }
    let stores = backend.open().await;
    let store = stores.accounts.clone();
    let ann = create(&*store, person("ann")).await;
    let robot = create(&*store, bot("robot")).await;
    let kept = open_session(&*store, &ann, "kept").await;
    let ended = open_session(&*store, &ann, "ended").await;
    assert!(store.end_session(ann.id, ended).await.expect("ends"));
    store.touch_session(kept, T0 + 7).await.expect("touched");
    let token = store.create_api_token(robot.id, "deploy".to_owned(), digest("token"), T0);
    let token = token.await.expect("token");
    let invite = NewLink {
        max_uses: Some(3),
        expires_ms: Some(T0 + 1_000),
        created_by: Some(ann.id),
        ..link(LinkKind::Invite, "invite")
    };
    store.create_link(invite).await.expect("link");
    store
        .sign_up_with_invite(digest("invite"), person("bob"), T0)
        .await
        .expect("signed up");
    let revoked = store.create_link(link(LinkKind::Invite, "revoked")).await;
    store
        .revoke_link(revoked.expect("link").id)
        .await
        .expect("revokes");
    let accounts = store.accounts().await.expect("reads");
    let invites = store.links(LinkKind::Invite).await.expect("reads");
    stores.messages.close().await.expect("closes");
    drop((store, stores));

    let store = backend.open().await.accounts;
    assert_eq!(store.accounts().await.expect("reads"), accounts);
    assert_eq!(store.links(LinkKind::Invite).await.expect("reads"), invites);
    let (session, account) = store
        .session_by_token(digest("kept"))
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(
        (session.id, session.last_seen_ms, account.id),
        (kept, T0 + 7, ann.id)
    );
    let gone = store
        .session_by_token(digest("ended"))
        .await
        .expect("reads");
    assert_eq!(gone, None);
    let (found, _) = store
        .api_token_by_hash(digest("token"))
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(found, token);
    // Ids go on after the last, never reusing an ended session's.
    let next = open_session(&*store, &ann, "next").await;
    assert!(next > ended, "{next} after {ended}");
    let carl = create(&*store, person("carl")).await;
    assert!(carl.id > accounts.iter().map(|account| account.id).max().unwrap_or(0));
}

pub(super) async fn account_writes_queue_beside_posts(backend: Backend) {
    const POSTS: usize = 300;
    let stores = backend.open().await;
    let room = RoomName::parse("lobby").expect("valid");
    let posts: Vec<_> = (0..POSTS)
        .map(|n| {
            stores.messages.post(Draft {
                author: None,
                room: room.clone(),
                name: DisplayName::parse("Ann").expect("valid"),
                text: MessageText::parse(format!("m{n}")).expect("valid"),
                nonce: None,
                mentions: Vec::new(),
            })
        })
        .collect();
    // Queued among the posts (SQLite's writer runs it between batches).
    let accounts: Vec<_> = (0..5)
        .map(|n| {
            stores
                .accounts
                .create_account(person(&format!("user{n}")), T0)
        })
        .collect();
    let more = stores.messages.post(Draft {
        author: None,
        room: room.clone(),
        name: DisplayName::parse("Ann").expect("valid"),
        text: MessageText::parse("after").expect("valid"),
        nonce: None,
        mentions: Vec::new(),
    });
    for (post, id) in posts.into_iter().zip(1..) {
        match post.await.expect("stored") {
            Posted::New(message) => assert_eq!(message.id, id),
            Posted::Repeat(id) => panic!("not a repeat of {id}"),
        }
    }
    for account in accounts {
        account.await.expect("created");
    }
    assert!(matches!(more.await, Ok(Posted::New(message)) if message.id == POSTS as u64 + 1));
    assert_eq!(stores.accounts.count_accounts().await.expect("reads"), 5);
}

pub(super) async fn a_closed_store_takes_no_account_writes(backend: Backend) {
    let stores = backend.open().await;
    let ann = create(&*stores.accounts, person("ann")).await;
    stores.messages.close().await.expect("closes");
    let late = stores.accounts.create_account(person("bob"), T0).await;
    assert_eq!(kind_of(late), ErrorKind::Closed);
    let late = stores
        .accounts
        .create_session(session(&ann, "late", T0))
        .await;
    assert_eq!(kind_of(late), ErrorKind::Closed);
}
