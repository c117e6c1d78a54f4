//! The use cases on the memory store: their rules, and that each event is
//! published once the store holds the change it describes.

use super::session::{Device, Newcomer};
use super::*;
use crate::audit::Audit;
use crate::auth::throttle::ThrottleLimits;
use crate::store::MemoryStore;
use common::api::accounts::{AccountUpdate, NewAccountRequest};
use common::{AccountKind, AccountState, DisplayName, Role, Username};
use std::net::{IpAddr, Ipv4Addr};

fn accounts(signup: SignupMode) -> Accounts {
    let store = Arc::new(MemoryStore::new());
    Accounts::with_parts(
        store.clone(),
        Audit::new(store),
        PasswordHasher::with_limits(1, 8, std::time::Duration::ZERO),
        Throttle::with_limits(ThrottleLimits::default()),
        AccountSettings::new(signup, "http://chat.test/"),
    )
}

fn device() -> Device {
    Device {
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        label: "test".to_owned(),
    }
}

fn newcomer(username: &str) -> Newcomer {
    Newcomer {
        username: Username::parse(username).expect("valid"),
        display_name: DisplayName::parse(username).expect("valid"),
        password: format!("{username}-password"),
    }
}

async fn person(accounts: &Accounts, username: &str, role: Role) -> u64 {
    accounts
        .create_account(
            NewAccountRequest {
                username: Username::parse(username).expect("valid"),
                display_name: DisplayName::parse(username).expect("valid"),
                kind: AccountKind::Person,
                role,
                password: Some(format!("{username}-password")),
            },
            None,
        )
        .await
        .expect("created")
        .id
}

#[tokio::test]
async fn the_setup_link_is_made_while_there_is_no_account_and_replaces_older_ones() {
    let accounts = accounts(SignupMode::Invite);
    let first = accounts
        .setup_link_if_needed()
        .await
        .expect("answers")
        .expect("a link");
    assert!(first.starts_with("http://chat.test/#/setup/"), "{first}");
    let second = accounts
        .setup_link_if_needed()
        .await
        .expect("answers")
        .expect("a link");
    let token = |link: &str| link.rsplit('/').next().expect("a token").to_owned();
    let refused = accounts
        .setup(&token(&first), newcomer("root"), &device())
        .await;
    assert!(
        matches!(refused, Err(AccountsError::LinkInvalid)),
        "{refused:?}"
    );
    let opened = accounts
        .setup(&token(&second), newcomer("root"), &device())
        .await
        .expect("the newest link works");
    assert_eq!(opened.me.role, Role::Admin);
    assert_eq!(
        accounts.setup_link_if_needed().await.expect("answers"),
        None
    );
}

#[tokio::test]
async fn a_deactivation_is_published_after_the_store_ended_the_sessions() {
    let accounts = accounts(SignupMode::Open);
    person(&accounts, "root", Role::Admin).await;
    let ann = accounts
        .sign_up(None, newcomer("ann"), &device())
        .await
        .expect("signed up");
    let mut events = accounts.subscribe();
    let update = AccountUpdate {
        role: None,
        state: Some(AccountState::Deactivated),
    };
    accounts
        .update_account(ann.me.id, update, None)
        .await
        .expect("deactivated");
    // The deactivation first, so that her sockets close saying so.
    assert_eq!(
        events.recv().await.expect("an event"),
        AccountEvent::AccountDeactivated(ann.me.id)
    );
    let AccountEvent::SessionsEnded(ended) = events.recv().await.expect("an event") else {
        panic!("then her sessions' end");
    };
    assert_eq!(ended.len(), 1);
    assert!(accounts
        .store()
        .sessions_of(ann.me.id)
        .await
        .expect("reads")
        .is_empty());
    let refused = accounts.sign_in("ann", "ann-password", &device()).await;
    assert!(matches!(refused, Err(AccountsError::InvalidCredentials)));
}

#[tokio::test]
async fn the_last_active_administrator_is_kept_and_bots_are_never_administrators() {
    let accounts = accounts(SignupMode::Closed);
    let root = person(&accounts, "root", Role::Admin).await;
    for update in [
        AccountUpdate {
            role: Some(Role::Member),
            state: None,
        },
        AccountUpdate {
            role: None,
            state: Some(AccountState::Deactivated),
        },
    ] {
        let refused = accounts.update_account(root, update, None).await;
        assert!(
            matches!(refused, Err(AccountsError::Forbidden(_))),
            "{refused:?}"
        );
    }
    let bot = NewAccountRequest {
        username: Username::parse("bot").expect("valid"),
        display_name: DisplayName::parse("Bot").expect("valid"),
        kind: AccountKind::Bot,
        role: Role::Admin,
        password: None,
    };
    assert!(matches!(
        accounts.create_account(bot, None).await,
        Err(AccountsError::BadRequest(_))
    ));
    let closed = accounts.sign_up(None, newcomer("ann"), &device()).await;
    assert!(matches!(closed, Err(AccountsError::SignupClosed(_))));
}
