//! [`AccountStore::ensure_bot_tokens`] on the SQLite file: one job of the
//! writer thread and one transaction per call, a few indexed statements
//! per bot (prepared once, cached), so a call of a thousand bots takes a
//! few milliseconds and a hundred thousand a second or two.
//!
//! [`AccountStore::ensure_bot_tokens`]: crate::store::AccountStore::ensure_bot_tokens

use super::accounts::{insert_account, query_first};
use crate::store::accounts::{
    check_bot_tokens, new_bot, not_a_bot, token_of_another, BotToken, BotTokensEnsured,
    BOT_TOKEN_NAME,
};
use crate::store::StoreError;
use common::{AccountKind, AccountState, Role, UserId};
use rusqlite::{params, Connection};

/// Uses the index `accounts_by_username`.
const BOT_ACCOUNT: &str = "SELECT id, kind, role, state FROM accounts WHERE lower(username) = ?1";
const MAKE_ACTIVE_MEMBER: &str =
    "UPDATE accounts SET role = 'member', state = 'active' WHERE id = ?1";
/// Uses the index `api_tokens_by_token`.
const TOKEN_OWNER: &str = "
    SELECT a.username FROM api_tokens t JOIN accounts a ON a.id = t.account
    WHERE t.token_hash = ?1";
const INSERT_BOT_TOKEN: &str =
    "INSERT INTO api_tokens (account, name, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)";

/// The whole call, in one transaction of the writer's connection.
pub(super) fn ensure_bot_tokens(
    conn: &mut Connection,
    bots: &[BotToken],
    now: u64,
) -> Result<BotTokensEnsured, StoreError> {
    check_bot_tokens(bots)?;
    let tx = conn.transaction()?;
    let mut ensured = BotTokensEnsured::default();
    for bot in bots {
        let found = query_first(&tx, BOT_ACCOUNT, [bot.username.as_str()], |row| {
            Ok((
                row.get::<_, UserId>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        let id = match found {
            Some((_, kind, _, _)) if kind != AccountKind::Bot.as_str() => {
                return Err(not_a_bot(&bot.username));
            }
            Some((id, _, role, state)) => {
                if role != Role::Member.as_str() || state != AccountState::Active.as_str() {
                    tx.prepare_cached(MAKE_ACTIVE_MEMBER)?.execute([id])?;
                    ensured.accounts_changed += 1;
                }
                id
            }
            None => {
                ensured.accounts_created += 1;
                insert_account(&tx, new_bot(&bot.username), now)?.id
            }
        };
        let owner = query_first(&tx, TOKEN_OWNER, [&bot.token_hash[..]], |row| {
            Ok(row.get::<_, String>(0)?)
        })?;
        match owner {
            // Stored usernames are lower case, as parsed ones are.
            Some(owner) if owner != bot.username.as_str() => {
                return Err(token_of_another(&bot.username));
            }
            Some(_) => {}
            None => {
                tx.prepare_cached(INSERT_BOT_TOKEN)?.execute(params![
                    id,
                    BOT_TOKEN_NAME,
                    &bot.token_hash[..],
                    now
                ])?;
                ensured.tokens_created += 1;
            }
        }
    }
    tx.commit()?;
    Ok(ensured)
}
