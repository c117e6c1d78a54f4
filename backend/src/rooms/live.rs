//! What the WebSocket side asks of rooms: a connection's `join`, the
//! people a `send` calls by name, and the store the live side reads again
//! when it may have missed changes.

use super::{Rooms, RoomsError};
use crate::accounts::{Credential, Identity};
use crate::store::rooms::Access;
use crate::store::RoomStore;
use common::mention::mentioned;
use common::{RoomName, UserId};
use std::sync::Arc;

impl Rooms {
    /// A connection's `join`: [`Rooms::join`] as the account the
    /// connection is signed in as, read again first, so that a role
    /// changed since the connection opened counts, and a deactivated
    /// account (whose connections are closing) joins nothing.
    pub async fn join_as(
        &self,
        user: UserId,
        credential: Credential,
        room: &RoomName,
    ) -> Result<Access, RoomsError> {
        let caller = self
            .accounts
            .account(user)
            .await?
            .and_then(|account| Identity::new(account, credential))
            .ok_or(RoomsError::NotFound("account"))?;
        self.join(&caller, room).await
    }

    /// The accounts `text` calls by name (`@username`, see
    /// [`common::mention`]), each once: the active ones that exist. A text
    /// without `@` costs nothing.
    pub async fn mentioned_accounts(&self, text: &str) -> Result<Vec<UserId>, RoomsError> {
        if !text.contains('@') {
            return Ok(Vec::new());
        }
        let mut people = Vec::new();
        for username in mentioned(text) {
            if let Some(account) = self.accounts.account_by_username(&username).await? {
                if account.state == common::AccountState::Active {
                    people.push(account.id);
                }
            }
        }
        Ok(people)
    }

    /// The room store, for the live side's own reads.
    pub fn store(&self) -> Arc<dyn RoomStore> {
        Arc::clone(&self.store)
    }
}
