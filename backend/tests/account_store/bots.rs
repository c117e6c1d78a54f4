//! The conformance tests of bots made in bulk with their API tokens
//! (`ensure_bot_tokens`, what `--bot-tokens FILE` runs).

use super::*;
use chat_server::store::accounts::{
    BotToken, BotTokensEnsured, BOT_TOKENS_PER_CALL, BOT_TOKEN_NAME,
};

fn bot_token(raw: &str, seed: &str) -> BotToken {
    BotToken {
        username: username(raw),
        token_hash: digest(seed),
    }
}

fn ensured(accounts_created: u64, accounts_changed: u64, tokens_created: u64) -> BotTokensEnsured {
    BotTokensEnsured {
        accounts_created,
        accounts_changed,
        tokens_created,
    }
}

/// The account a token's digest authenticates, by username.
async fn holder(store: &dyn AccountStore, seed: &str) -> Option<String> {
    let found = store.api_token_by_hash(digest(seed)).await.expect("reads");
    found.map(|(token, account)| {
        assert_eq!(token.account, account.id);
        account.username.as_str().to_owned()
    })
}

pub(super) async fn bot_tokens_make_missing_bots_and_their_tokens_once(backend: Backend) {
    let stores = backend.open().await;
    let store = stores.accounts.clone();
    // An existing bot that an administrator made an admin and deactivated.
    let old = create(&*store, bot("old-bot")).await;
    store.set_role(old.id, Role::Admin).await.expect("role");
    store
        .set_state(old.id, AccountState::Deactivated)
        .await
        .expect("state");
    store
        .create_api_token(old.id, "ci".to_owned(), digest("old ci"), T0)
        .await
        .expect("token");
    let list = vec![
        bot_token("Bench-1", "t1"),
        bot_token("bench-2", "t2"),
        bot_token("old-bot", "old ci"),
        bot_token("old-bot", "old new"),
        // The same line twice changes nothing more.
        bot_token("bench-2", "t2"),
    ];

    let done = store.ensure_bot_tokens(list.clone(), T0 + 5).await;
    assert_eq!(done.expect("stored"), ensured(2, 1, 3));
    for (name, seed) in [
        ("bench-1", "t1"),
        ("bench-2", "t2"),
        ("old-bot", "old ci"),
        ("old-bot", "old new"),
    ] {
        assert_eq!(holder(&*store, seed).await.as_deref(), Some(name), "{seed}");
    }
    let made = store
        .account_by_username(&username("bench-1"))
        .await
        .expect("reads")
        .expect("made");
    assert_eq!(
        (made.kind, made.role, made.state),
        (AccountKind::Bot, Role::Member, AccountState::Active)
    );
    assert_eq!(made.display_name.as_str(), "bench-1");
    assert_eq!((made.password_hash, made.created_ms), (None, T0 + 5));
    let old = store.account(old.id).await.expect("reads").expect("kept");
    assert_eq!((old.role, old.state), (Role::Member, AccountState::Active));
    let tokens = store.api_tokens_of(old.id).await.expect("reads");
    let names: Vec<&str> = tokens.iter().map(|token| token.name.as_str()).collect();
    assert_eq!(
        names,
        ["ci", BOT_TOKEN_NAME],
        "the old token is kept as it was"
    );

    let again = store.ensure_bot_tokens(list, T0 + 6).await;
    assert_eq!(again.expect("stored"), ensured(0, 0, 0));
    assert_eq!(store.count_accounts().await.expect("reads"), 3);
    assert_eq!(
        store.ensure_bot_tokens(Vec::new(), T0).await.expect("none"),
        ensured(0, 0, 0)
    );

    if backend.is_durable() {
        stores.messages.close().await.expect("closes");
        drop((store, stores));
        let reopened = backend.open().await.accounts;
        assert_eq!(holder(&*reopened, "t2").await.as_deref(), Some("bench-2"));
    }
}

pub(super) async fn a_bot_token_list_that_breaks_a_rule_changes_nothing(backend: Backend) {
    let store = backend.open().await.accounts;
    let ann = create(&*store, person("ann")).await;
    store
        .create_api_token(ann.id, "mine".to_owned(), digest("anns"), T0)
        .await
        .expect("token");
    let refused = [
        // A person is never made a bot, even after bots that would be made.
        (
            vec![bot_token("new-1", "n1"), bot_token("ann", "n2")],
            ErrorKind::Invalid,
        ),
        // A digest that is another account's token.
        (
            vec![bot_token("new-1", "n1"), bot_token("new-2", "anns")],
            ErrorKind::Conflict,
        ),
        // One digest for two bots.
        (
            vec![bot_token("new-1", "n1"), bot_token("new-2", "n1")],
            ErrorKind::Conflict,
        ),
        // More than one call takes.
        (
            (0..=BOT_TOKENS_PER_CALL)
                .map(|n| bot_token(&format!("b{n}"), &format!("d{n}")))
                .collect(),
            ErrorKind::Invalid,
        ),
    ];
    for (list, kind) in refused {
        let first = list[0].clone();
        let result = store.ensure_bot_tokens(list, T0).await;
        assert_eq!(kind_of(result), kind, "{first:?}");
        assert_eq!(store.count_accounts().await.expect("reads"), 1, "{first:?}");
        assert_eq!(holder(&*store, "n1").await, None, "{first:?}");
    }
    let anns = store
        .api_token_by_hash(digest("anns"))
        .await
        .expect("reads");
    assert_eq!(anns.map(|(_, account)| account.id), Some(ann.id));
}

pub(super) async fn a_full_call_of_bot_tokens_is_stored_at_once(backend: Backend) {
    let store = backend.open().await.accounts;
    let seeds: Vec<String> = (0..BOT_TOKENS_PER_CALL)
        .map(|n| format!("bulk {n}"))
        .collect();
    let list = seeds
        .iter()
        .enumerate()
        .map(|(n, seed)| bot_token(&format!("bulk-{n:05}"), seed))
        .collect();
    let done = store.ensure_bot_tokens(list, T0).await.expect("stored");
    let count = BOT_TOKENS_PER_CALL as u64;
    assert_eq!(done, ensured(count, 0, count));
    let accounts = store.accounts().await.expect("reads");
    let names: Vec<String> = accounts.iter().map(|a| a.username.to_string()).collect();
    let expected: Vec<String> = (0..BOT_TOKENS_PER_CALL)
        .map(|n| format!("bulk-{n:05}"))
        .collect();
    assert_eq!(names, expected, "made in the list's order");
    for (n, seed) in seeds.iter().enumerate() {
        let name = format!("bulk-{n:05}");
        assert_eq!(holder(&*store, seed).await, Some(name));
    }
}
