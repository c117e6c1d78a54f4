//! What account changes do to open connections: [`follow`] takes every
//! [`AccountEvent`] this instance makes (and, in cluster mode, those the
//! other instances publish), closes the connections of ended sessions,
//! revoked tokens and deactivated accounts (close code 4001), and shows
//! renames in the rooms.
//!
//! An event can be missed: this task fell more than
//! [`crate::accounts::events::EVENT_CAPACITY`] behind, or the broker was out
//! of reach. Then every open connection's credential is checked against
//! the database ([`check_every_credential`]), so none outlives its session
//! for long.

use super::ConnectionContext;
use crate::accounts::{AccountEvent, Accounts, Credential};
use crate::cluster::events::Changes;
use crate::cluster::{Cluster, Heard};
use crate::hub::client::CloseReason;
use crate::store::StoreError;
use common::AccountState;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Follows account changes until `shutdown`, as the module says.
pub async fn follow(
    accounts: Accounts,
    context: Arc<ConnectionContext>,
    cluster: Option<Cluster>,
    shutdown: CancellationToken,
) {
    let channel = cluster.map(|cluster| cluster.accounts);
    let mut changes = Changes::new(accounts.subscribe(), channel);
    loop {
        let heard = tokio::select! {
            () = shutdown.cancelled() => return,
            heard = changes.next() => match heard {
                Some(heard) => heard,
                None => return,
            },
        };
        match heard {
            Heard::Event(event) => apply(&context, &event).await,
            Heard::Missed => {
                tracing::warn!("account changes may have been missed; checking every connection");
                if let Err(err) = check_every_credential(&accounts, &context).await {
                    tracing::error!(error = %err, "cannot check the connections' credentials");
                }
            }
        }
    }
}

/// Applies one event to the connections, then to the rooms.
async fn apply(context: &ConnectionContext, event: &AccountEvent) {
    if let Some(rename) = context.apply(event) {
        context.hub.rename(rename.user, &rename.display_name).await;
    }
}

/// Checks every open connection's account, session or token against the
/// store, and acts as the events it missed would have: closes what ended,
/// shows a changed display name.
pub async fn check_every_credential(
    accounts: &Accounts,
    context: &ConnectionContext,
) -> Result<(), StoreError> {
    let store = accounts.store();
    for (user, clients) in context.by_account() {
        let account = store.account(user).await?;
        let Some(account) = account.filter(|account| account.state == AccountState::Active) else {
            for client in &clients {
                client.close(CloseReason::AccountDeactivated);
            }
            continue;
        };
        let sessions: Vec<_> = store
            .sessions_of(user)
            .await?
            .into_iter()
            .map(|session| session.id)
            .collect();
        let tokens: Vec<_> = store
            .api_tokens_of(user)
            .await?
            .into_iter()
            .map(|token| token.id)
            .collect();
        for client in &clients {
            match client.credential() {
                Credential::Session(id) if !sessions.contains(&id) => {
                    client.close(CloseReason::SessionEnded);
                }
                Credential::ApiToken(id) if !tokens.contains(&id) => {
                    client.close(CloseReason::TokenRevoked);
                }
                _ => {}
            }
        }
        let renamed = clients
            .iter()
            .any(|client| client.person().display_name != account.display_name);
        if renamed {
            let event = AccountEvent::ProfileChanged {
                user,
                display_name: account.display_name,
            };
            apply(context, &event).await;
        }
    }
    Ok(())
}
