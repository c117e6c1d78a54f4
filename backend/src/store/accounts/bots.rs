//! Bot accounts and their API tokens made in bulk, from a list an operator
//! keeps (`--bot-tokens FILE`, see `crate::bot_tokens`):
//! [`super::AccountStore::ensure_bot_tokens`] takes up to
//! [`BOT_TOKENS_PER_CALL`] of them in one transaction, so that 100,000
//! bots (a benchmark's clients) cost a hundred transactions rather than
//! 200,000, and no slow password hash at all (bots have none).
//!
//! What every backend checks is written here once, as in `rules`.

use super::{NewAccount, TokenHash};
use crate::store::{ErrorKind, StoreError};
use common::{AccountKind, DisplayName, Role, Username};
use std::collections::HashMap;
use std::fmt;

/// Most bot tokens one [`super::AccountStore::ensure_bot_tokens`] call
/// takes: one transaction's worth. A thousand rows keep a transaction (and
/// the SQLite writer thread it holds, which posts wait behind) well under
/// a few tens of milliseconds, while the per-transaction cost (a commit,
/// a round trip to PostgreSQL) is spread over enough rows not to matter.
pub const BOT_TOKENS_PER_CALL: usize = 1_000;

/// The name of an API token made from the bot-tokens list, as the bot's
/// list of tokens shows it.
pub const BOT_TOKEN_NAME: &str = "bot-tokens file";

/// A bot that must exist and hold an API token: the token's digest (never
/// the token).
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken {
    /// The bot's username; its display name when it is made.
    pub username: Username,
    /// The SHA-256 of the token's bytes.
    pub token_hash: TokenHash,
}

/// Shows the username only: a digest opens nothing, but it has no place in
/// a log either.
impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotToken")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What one [`super::AccountStore::ensure_bot_tokens`] call changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BotTokensEnsured {
    /// Bot accounts made.
    pub accounts_created: u64,
    /// Existing bots made active members again (they were deactivated or
    /// administrators).
    pub accounts_changed: u64,
    /// API tokens stored.
    pub tokens_created: u64,
}

impl BotTokensEnsured {
    /// The sum of two calls' changes.
    pub fn and(self, other: Self) -> Self {
        Self {
            accounts_created: self.accounts_created + other.accounts_created,
            accounts_changed: self.accounts_changed + other.accounts_changed,
            tokens_created: self.tokens_created + other.tokens_created,
        }
    }
}

/// Checks one call's list before anything is looked up: its size, and
/// that no digest is given for two usernames.
pub(crate) fn check_bot_tokens(bots: &[BotToken]) -> Result<(), StoreError> {
    if bots.len() > BOT_TOKENS_PER_CALL {
        return Err(StoreError::invalid(format!(
            "{} bot tokens in one call; at most {BOT_TOKENS_PER_CALL}",
            bots.len()
        )));
    }
    let mut owners: HashMap<&TokenHash, &Username> = HashMap::with_capacity(bots.len());
    for bot in bots {
        if **owners.entry(&bot.token_hash).or_insert(&bot.username) != bot.username {
            return Err(token_of_another(&bot.username));
        }
    }
    Ok(())
}

/// The account made for a bot that is missing: an active member bot
/// whose display name is its username (a username is always a valid
/// display name: the same length limit, and only ASCII letters, digits
/// and `._-`).
pub(crate) fn new_bot(username: &Username) -> NewAccount {
    NewAccount {
        username: username.clone(),
        display_name: DisplayName::parse(username.as_str())
            .expect("a username is a valid display name"),
        role: Role::Member,
        kind: AccountKind::Bot,
        password_hash: None,
    }
}

/// The error for a username of the list that is a person's account: a
/// person is never turned into a bot (nor given a token) by a file.
pub(crate) fn not_a_bot(username: &Username) -> StoreError {
    StoreError::invalid(format!(
        "the account {username} is a person's, not a bot's: a bot token cannot be given to it"
    ))
}

/// The error for a token that is stored already as another account's (or
/// given twice in the list, for two bots).
pub(crate) fn token_of_another(username: &Username) -> StoreError {
    StoreError::new(
        ErrorKind::Conflict,
        format!("the token given for {username} is another account's token"),
    )
}
