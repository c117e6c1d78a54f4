//! The conformance tests of sessions and API tokens, and of what ends
//! sessions: a reset, a password change, a deactivation, idle expiry.

use super::*;
use chat_server::store::accounts::LABEL_MAX_CHARS;

pub(super) async fn a_reset_link_sets_the_password_once_and_ends_every_session(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    let bob = create(&*store, person("bob")).await;
    let first = open_session(&*store, &ann, "ann 1").await;
    let second = open_session(&*store, &ann, "ann 2").await;
    let bobs = open_session(&*store, &bob, "bob").await;
    let reset = NewLink {
        account: Some(ann.id),
        expires_ms: Some(T0 + 60_000),
        ..link(LinkKind::Reset, "reset")
    };
    assert_eq!(
        store.create_link(reset).await.expect("link").max_uses,
        Some(1)
    );

    let done = store.reset_password_with_link(digest("reset"), "new hash".to_owned(), T0 + 1);
    assert_eq!(done.await.expect("reset"), (ann.id, vec![first, second]));
    let stored = store.account(ann.id).await.expect("reads").expect("exists");
    assert_eq!(stored.password_hash.as_deref(), Some("new hash"));
    assert_eq!(stored.state, AccountState::Active);
    assert!(session_ids(&*store, &ann).await.is_empty());
    let old = store
        .session_by_token(digest("ann 1"))
        .await
        .expect("reads");
    assert_eq!(old, None);
    assert_eq!(
        session_ids(&*store, &bob).await,
        [bobs],
        "others keep theirs"
    );

    let again = store.reset_password_with_link(digest("reset"), "again".to_owned(), T0 + 2);
    assert_eq!(kind_of(again.await), ErrorKind::Gone, "used once");
    let late = NewLink {
        account: Some(bob.id),
        expires_ms: Some(T0),
        ..link(LinkKind::Reset, "late")
    };
    store.create_link(late).await.expect("link");
    let expired = store.reset_password_with_link(digest("late"), "x".to_owned(), T0);
    assert_eq!(kind_of(expired.await), ErrorKind::Gone);

    // A reset link names an existing account; a bot has no password.
    let orphan = link(LinkKind::Reset, "orphan");
    assert_eq!(kind_of(store.create_link(orphan).await), ErrorKind::Invalid);
    let unknown = NewLink {
        account: Some(bob.id + 100),
        ..link(LinkKind::Reset, "unknown")
    };
    assert_eq!(
        kind_of(store.create_link(unknown).await),
        ErrorKind::NotFound
    );
    let robot = create(&*store, bot("robot")).await;
    let for_bot = NewLink {
        account: Some(robot.id),
        ..link(LinkKind::Reset, "bot")
    };
    store.create_link(for_bot).await.expect("link");
    let refused = store.reset_password_with_link(digest("bot"), "x".to_owned(), T0);
    assert_eq!(kind_of(refused.await), ErrorKind::Invalid);
    let unused = store.link_by_token(digest("bot"), T0).await.expect("reads");
    assert_eq!(
        unused.map(|link| link.uses),
        Some(0),
        "a failed reset uses nothing"
    );
}

pub(super) async fn a_password_change_ends_every_other_session(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    let bob = create(&*store, person("bob")).await;
    let one = open_session(&*store, &ann, "ann 1").await;
    let kept = open_session(&*store, &ann, "ann 2").await;
    let three = open_session(&*store, &ann, "ann 3").await;
    let bobs = open_session(&*store, &bob, "bob").await;

    let ended = store
        .set_password_hash(ann.id, "h2".to_owned(), Some(kept))
        .await;
    assert_eq!(ended.expect("changed"), [one, three]);
    assert_eq!(session_ids(&*store, &ann).await, [kept]);
    let still = store
        .session_by_token(digest("ann 2"))
        .await
        .expect("reads");
    let (session, account) = still.expect("the kept session works");
    assert_eq!(session.id, kept);
    assert_eq!(account.password_hash.as_deref(), Some("h2"));

    // Another account's session is not this one's to keep.
    let ended = store
        .set_password_hash(ann.id, "h3".to_owned(), Some(bobs))
        .await;
    assert_eq!(ended.expect("changed"), [kept]);
    assert_eq!(session_ids(&*store, &bob).await, [bobs]);
    let ended = store.set_password_hash(ann.id, "h4".to_owned(), None).await;
    assert!(ended.expect("changed").is_empty());

    let unknown = store
        .set_password_hash(bob.id + 100, "h".to_owned(), None)
        .await;
    assert_eq!(kind_of(unknown), ErrorKind::NotFound);
    let robot = create(&*store, bot("robot")).await;
    let for_bot = store
        .set_password_hash(robot.id, "h".to_owned(), None)
        .await;
    assert_eq!(kind_of(for_bot), ErrorKind::Invalid);
}

pub(super) async fn deactivation_ends_sessions_and_stops_tokens(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    let robot = create(&*store, bot("robot")).await;
    let sessions = [
        open_session(&*store, &ann, "ann 1").await,
        open_session(&*store, &ann, "ann 2").await,
    ];
    let token = digest("token");
    store
        .create_api_token(robot.id, "deploy".to_owned(), token, T0)
        .await
        .expect("token");

    let ended = store.set_state(ann.id, AccountState::Deactivated).await;
    assert_eq!(ended.expect("deactivated"), sessions);
    let stored = store.account(ann.id).await.expect("reads").expect("kept");
    assert_eq!(stored.state, AccountState::Deactivated);
    assert!(session_ids(&*store, &ann).await.is_empty());
    let old = store
        .session_by_token(digest("ann 1"))
        .await
        .expect("reads");
    assert_eq!(old, None);
    let refused = store.create_session(session(&ann, "ann 3", T0)).await;
    assert_eq!(
        kind_of(refused),
        ErrorKind::NotFound,
        "no session while deactivated"
    );

    let ended = store.set_state(robot.id, AccountState::Deactivated).await;
    assert!(ended.expect("deactivated").is_empty());
    let found = store.api_token_by_hash(token).await.expect("reads");
    assert_eq!(
        found, None,
        "a deactivated account's token does not authenticate"
    );
    let kept = store.api_tokens_of(robot.id).await.expect("reads");
    assert_eq!(kept.len(), 1, "but it is kept");
    let ended = store.set_state(robot.id, AccountState::Active).await;
    assert!(ended.expect("activated").is_empty());
    let (record, account) = store
        .api_token_by_hash(token)
        .await
        .expect("reads")
        .expect("it works again");
    assert_eq!((record.id, account.id), (kept[0].id, robot.id));

    store
        .set_state(ann.id, AccountState::Active)
        .await
        .expect("activated");
    open_session(&*store, &ann, "ann 4").await;
    let unknown = store
        .set_state(robot.id + 100, AccountState::Deactivated)
        .await;
    assert_eq!(kind_of(unknown), ErrorKind::NotFound);
}

pub(super) async fn sessions_are_found_by_token_touched_listed_and_ended_by_their_owner(
    backend: Backend,
) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    let bob = create(&*store, person("bob")).await;
    let long = NewSession {
        device: "ü".repeat(LABEL_MAX_CHARS + 10),
        ..session(&ann, "ann 1", T0)
    };
    let first = store.create_session(long).await.expect("session");
    assert_eq!(first.device.chars().count(), LABEL_MAX_CHARS, "cut");
    assert_eq!((first.created_ms, first.last_seen_ms), (T0, T0));
    let second = open_session(&*store, &ann, "ann 2").await;
    assert!(second > first.id);
    let bobs = open_session(&*store, &bob, "bob").await;

    let (found, account) = store
        .session_by_token(digest("ann 1"))
        .await
        .expect("reads")
        .expect("found");
    assert_eq!((found, account), (first.clone(), ann.clone()));
    let unknown = store
        .session_by_token(digest("nobody"))
        .await
        .expect("reads");
    assert_eq!(unknown, None);

    store
        .touch_session(first.id, T0 + 500)
        .await
        .expect("touched");
    store
        .touch_session(first.id, T0 + 100)
        .await
        .expect("touched");
    let listed = store.sessions_of(ann.id).await.expect("reads");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].last_seen_ms, T0 + 500, "never backwards");
    assert_eq!(listed[1].id, second);

    assert!(!store.end_session(bob.id, first.id).await.expect("answers"));
    assert!(store.end_session(ann.id, first.id).await.expect("ends"));
    assert!(!store.end_session(ann.id, first.id).await.expect("answers"));
    let ended = store
        .session_by_token(digest("ann 1"))
        .await
        .expect("reads");
    assert_eq!(ended, None);
    store
        .touch_session(first.id, T0 + 600)
        .await
        .expect("nothing to touch");
    assert_eq!(session_ids(&*store, &ann).await, [second]);
    assert_eq!(session_ids(&*store, &bob).await, [bobs]);

    let twice = store.create_session(session(&bob, "bob", T0)).await;
    assert_eq!(
        kind_of(twice),
        ErrorKind::Conflict,
        "a digest is one session's"
    );
    let nobody = NewSession {
        account: bob.id + 100,
        ..session(&bob, "nobody", T0)
    };
    assert_eq!(
        kind_of(store.create_session(nobody).await),
        ErrorKind::NotFound
    );
}

pub(super) async fn idle_sessions_expire(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    let bob = create(&*store, person("bob")).await;
    let idle = open_session(&*store, &ann, "ann idle").await;
    let busy = open_session(&*store, &ann, "ann busy").await;
    store
        .touch_session(busy, T0 + 10_000)
        .await
        .expect("touched");
    let bobs = store
        .create_session(session(&bob, "bob", T0 + 5_000))
        .await
        .expect("session")
        .id;

    let ended = store.end_sessions_idle_since(T0 + 5_000).await;
    assert_eq!(
        ended.expect("ends"),
        [(idle, ann.id)],
        "last seen before the cutoff"
    );
    let ended = store.end_sessions_idle_since(T0 + 20_000).await;
    assert_eq!(ended.expect("ends"), [(busy, ann.id), (bobs, bob.id)]);
    let ended = store.end_sessions_idle_since(T0 + 20_000).await;
    assert!(ended.expect("ends").is_empty());
    let gone = store
        .session_by_token(digest("ann busy"))
        .await
        .expect("reads");
    assert_eq!(gone, None);
}

pub(super) async fn api_tokens_are_found_by_digest_and_revoked_by_their_owner(backend: Backend) {
    let store = backend.open().await.accounts;
    let robot = create(&*store, bot("robot")).await;
    let ann = create(&*store, person("ann")).await;
    let deploy = store
        .create_api_token(robot.id, "deploy".to_owned(), digest("deploy"), T0)
        .await
        .expect("token");
    assert_eq!(
        (deploy.name.as_str(), deploy.last_used_ms),
        ("deploy", None)
    );
    let long_name = "n".repeat(LABEL_MAX_CHARS + 1);
    let ci = store
        .create_api_token(robot.id, long_name, digest("ci"), T0)
        .await
        .expect("token");
    assert_eq!(ci.name.len(), LABEL_MAX_CHARS);

    let (found, account) = store
        .api_token_by_hash(digest("deploy"))
        .await
        .expect("reads")
        .expect("found");
    assert_eq!((found, account), (deploy.clone(), robot.clone()));
    store
        .touch_api_token(deploy.id, T0 + 5)
        .await
        .expect("touched");
    store
        .touch_api_token(deploy.id, T0 + 1)
        .await
        .expect("touched");
    let listed = store.api_tokens_of(robot.id).await.expect("reads");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].last_used_ms, Some(T0 + 5), "never backwards");
    assert_eq!(listed[1], ci);

    assert!(!store
        .revoke_api_token(ann.id, deploy.id)
        .await
        .expect("answers"));
    assert!(store
        .revoke_api_token(robot.id, deploy.id)
        .await
        .expect("revokes"));
    assert!(!store
        .revoke_api_token(robot.id, deploy.id)
        .await
        .expect("answers"));
    let revoked = store
        .api_token_by_hash(digest("deploy"))
        .await
        .expect("reads");
    assert_eq!(revoked, None);
    assert_eq!(store.api_tokens_of(robot.id).await.expect("reads"), [ci]);
    store
        .touch_api_token(deploy.id, T0 + 9)
        .await
        .expect("nothing to touch");

    let nobody = store.create_api_token(ann.id + 100, "x".to_owned(), digest("x"), T0);
    assert_eq!(kind_of(nobody.await), ErrorKind::NotFound);
    let twice = store.create_api_token(robot.id, "again".to_owned(), digest("ci"), T0);
    assert_eq!(kind_of(twice.await), ErrorKind::Conflict);
}
