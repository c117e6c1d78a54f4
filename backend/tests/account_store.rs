//! The account store's conformance suite: every test of the `AccountStore`
//! contract runs against each backend, the memory store, SQLite on a real
//! file, and a real PostgreSQL server (see `support::postgres`), opened as
//! the server opens them (`Database::open`, both interfaces of one
//! backend).
//!
//! As in `store.rs`, each test is an `async fn` taking a [`Backend`]
//! (`accounts`: accounts, links, reopening; `credentials`: sessions, API
//! tokens, and what ends sessions; `bots`: bots and tokens made in bulk), and `conformance!` makes one
//! `#[tokio::test]` per backend of it (both from `support::stores`). Times are given (`T0` on), as the
//! server's clock would give them. Token digests
//! are made up: the store only compares them. What only PostgreSQL is
//! asked to do (two stores on one database at once) is at the end.

mod support;

// The tests of the contract, written once each (see `conformance!`).
#[path = "account_store/accounts.rs"]
mod accounts;
#[path = "account_store/bots.rs"]
mod bots;
#[path = "account_store/credentials.rs"]
mod credentials;

use chat_server::store::accounts::{
    Account, LinkKind, NewAccount, NewLink, NewSession, SessionId, TokenHash,
};
use chat_server::store::{AccountStore, Database, Durability, ErrorKind, StoreError};
use common::{AccountKind, AccountState, DisplayName, Role, Username};
use std::fmt::Debug;
use support::postgres::fresh_database;
use support::stores::{conformance, Backend};

conformance!(
    accounts::usernames_are_unique_ignoring_case,
    accounts::the_first_admin_needs_the_setup_link_and_is_made_once,
    accounts::invites_expire_run_out_and_can_be_revoked,
    accounts::a_failed_sign_up_counts_no_use_of_its_invite,
    accounts::display_names_and_roles_change,
    accounts::everything_is_kept_when_the_database_is_opened_again,
    accounts::account_writes_queue_beside_posts,
    accounts::a_closed_store_takes_no_account_writes,
    credentials::a_reset_link_sets_the_password_once_and_ends_every_session,
    credentials::a_password_change_ends_every_other_session,
    credentials::deactivation_ends_sessions_and_stops_tokens,
    credentials::sessions_are_found_by_token_touched_listed_and_ended_by_their_owner,
    credentials::idle_sessions_expire,
    credentials::api_tokens_are_found_by_digest_and_revoked_by_their_owner,
    bots::bot_tokens_make_missing_bots_and_their_tokens_once,
    bots::a_bot_token_list_that_breaks_a_rule_changes_nothing,
    bots::a_full_call_of_bot_tokens_is_stored_at_once,
);

/// A time of the tests, in milliseconds since the Unix epoch.
const T0: u64 = 1_800_000_000_000;

/// A made-up token digest, one per `seed`.
fn digest(seed: &str) -> TokenHash {
    assert!(seed.len() <= 32, "a short seed");
    let mut hash = [0xa5; 32];
    hash[..seed.len()].copy_from_slice(seed.as_bytes());
    hash
}

fn username(raw: &str) -> Username {
    Username::parse(raw).expect("valid username")
}

/// A person's new account, with a password hash made of its name.
fn person(raw: &str) -> NewAccount {
    NewAccount {
        username: username(raw),
        display_name: DisplayName::parse(raw).expect("valid name"),
        role: Role::Member,
        kind: AccountKind::Person,
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${raw}")),
    }
}

fn bot(raw: &str) -> NewAccount {
    NewAccount {
        kind: AccountKind::Bot,
        password_hash: None,
        ..person(raw)
    }
}

fn link(kind: LinkKind, seed: &str) -> NewLink {
    NewLink {
        kind,
        token_hash: digest(seed),
        created_by: None,
        account: None,
        expires_ms: None,
        max_uses: None,
        now: T0,
    }
}

fn session(account: &Account, seed: &str, now: u64) -> NewSession {
    NewSession {
        account: account.id,
        token_hash: digest(seed),
        device: format!("Firefox on Linux ({seed})"),
        now,
    }
}

/// The kind of the error `result` must be.
fn kind_of<T: Debug>(result: Result<T, StoreError>) -> ErrorKind {
    result.expect_err("the store refuses").kind()
}

async fn create(store: &dyn AccountStore, account: NewAccount) -> Account {
    store.create_account(account, T0).await.expect("created")
}

async fn open_session(store: &dyn AccountStore, account: &Account, seed: &str) -> SessionId {
    store
        .create_session(session(account, seed, T0))
        .await
        .expect("session")
        .id
}

async fn session_ids(store: &dyn AccountStore, account: &Account) -> Vec<SessionId> {
    let sessions = store.sessions_of(account.id).await.expect("reads");
    sessions.iter().map(|session| session.id).collect()
}

/// Two stores on one PostgreSQL database, as two instances of a cluster,
/// each signing people up with the same one-use invite at once, and each
/// making the first administrator with its own setup link at once: one
/// sign-up and one administrator, whichever instance.
#[tokio::test]
async fn postgres_two_stores_at_once_use_an_invite_once_and_make_one_first_admin() {
    const EACH: usize = 10;
    let database = fresh_database().await;
    let open = || async {
        Database::Postgres(database.url().to_owned())
            .open(Durability::Process)
            .await
            .expect("opens")
            .accounts
    };
    let (a, b) = (open().await, open().await);
    a.create_link(link(LinkKind::Setup, "setup a"))
        .await
        .expect("link");
    a.create_link(link(LinkKind::Setup, "setup b"))
        .await
        .expect("link");
    let (from_a, from_b) = tokio::join!(
        a.create_first_admin(digest("setup a"), person("ann"), T0),
        b.create_first_admin(digest("setup b"), person("bob"), T0),
    );
    let made = [&from_a, &from_b]
        .iter()
        .filter(|made| made.is_ok())
        .count();
    assert_eq!(made, 1, "{from_a:?} {from_b:?}");
    for result in [from_a, from_b] {
        if let Err(err) = result {
            assert_eq!(err.kind(), ErrorKind::Gone, "{err}");
        }
    }
    assert_eq!(a.count_accounts().await.expect("reads"), 1);

    let once = NewLink {
        max_uses: Some(1),
        ..link(LinkKind::Invite, "once")
    };
    a.create_link(once).await.expect("link");
    let attempts = (0..EACH).flat_map(|n| {
        [
            a.sign_up_with_invite(digest("once"), person(&format!("a{n}")), T0),
            b.sign_up_with_invite(digest("once"), person(&format!("b{n}")), T0),
        ]
    });
    let results = futures_util::future::join_all(attempts).await;
    let signed_up = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(signed_up, 1, "one use: {results:?}");
    assert!(results
        .iter()
        .filter_map(|result| result.as_ref().err())
        .all(|err| err.kind() == ErrorKind::Gone));
    let invite = b.links(LinkKind::Invite).await.expect("reads");
    assert_eq!(invite[0].uses, 1);
    assert_eq!(b.count_accounts().await.expect("reads"), 2);
}

/// Two stores on one PostgreSQL database: one signs a person in many
/// times while the other deactivates the account. Every session made is
/// one the deactivation ended, and none is left.
#[tokio::test]
async fn postgres_a_deactivation_beside_sign_ins_on_another_store_leaves_no_session() {
    const SIGN_INS: usize = 30;
    let database = fresh_database().await;
    let open = || async {
        Database::Postgres(database.url().to_owned())
            .open(Durability::Process)
            .await
            .expect("opens")
            .accounts
    };
    let (a, b) = (open().await, open().await);
    let ann = create(&*a, person("ann")).await;
    let sign_ins = futures_util::future::join_all(
        (0..SIGN_INS).map(|n| a.create_session(session(&ann, &format!("s{n}"), T0))),
    );
    let deactivation = async {
        // Once some sign-ins are under way.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        b.set_state(ann.id, AccountState::Deactivated).await
    };
    let (made, ended) = tokio::join!(sign_ins, deactivation);
    let mut made: Vec<SessionId> = made
        .into_iter()
        .filter_map(|made| match made {
            Ok(session) => Some(session.id),
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                None
            }
        })
        .collect();
    made.sort_unstable();
    assert_eq!(made, ended.expect("deactivated"));
    assert!(session_ids(&*a, &ann).await.is_empty());
}
