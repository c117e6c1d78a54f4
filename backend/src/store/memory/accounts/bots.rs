//! [`crate::store::AccountStore::ensure_bot_tokens`] in memory: every
//! check first, over the whole list, then every change, so that a list
//! that fails changes nothing (what the databases' transaction gives).

use super::Tables;
use crate::store::accounts::{
    check_bot_tokens, new_bot, not_a_bot, token_of_another, ApiTokenRecord, BotToken,
    BotTokensEnsured, BOT_TOKEN_NAME,
};
use crate::store::StoreError;
use common::{AccountKind, AccountState, Role};

impl Tables {
    pub(super) fn ensure_bot_tokens(
        &mut self,
        bots: &[BotToken],
        now: u64,
    ) -> Result<BotTokensEnsured, StoreError> {
        check_bot_tokens(bots)?;
        for bot in bots {
            if let Some(account) = self.account_by_username(&bot.username) {
                if account.kind != AccountKind::Bot {
                    return Err(not_a_bot(&bot.username));
                }
            }
            let owner = self
                .api_token_hashes
                .get(&bot.token_hash)
                .and_then(|id| self.api_tokens.get(id))
                .and_then(|(_, token)| self.account(token.account));
            if owner.is_some_and(|owner| owner.username != bot.username) {
                return Err(token_of_another(&bot.username));
            }
        }
        let mut ensured = BotTokensEnsured::default();
        for bot in bots {
            let id = match self.usernames.get(&bot.username) {
                Some(&id) => {
                    let account = self.account_mut(id)?;
                    if account.role != Role::Member || account.state != AccountState::Active {
                        account.role = Role::Member;
                        account.state = AccountState::Active;
                        ensured.accounts_changed += 1;
                    }
                    id
                }
                None => {
                    ensured.accounts_created += 1;
                    self.insert_account(new_bot(&bot.username), now)?.id
                }
            };
            if self.api_token_hashes.contains_key(&bot.token_hash) {
                continue;
            }
            self.last_api_token += 1;
            let record = ApiTokenRecord {
                id: self.last_api_token,
                account: id,
                name: BOT_TOKEN_NAME.to_owned(),
                created_ms: now,
                last_used_ms: None,
            };
            self.api_token_hashes.insert(bot.token_hash, record.id);
            self.api_tokens.insert(record.id, (bot.token_hash, record));
            ensured.tokens_created += 1;
        }
        Ok(ensured)
    }
}
