//! [`AccountStore::ensure_bot_tokens`] on the SQLite file: one job of the
//! writer thread and one transaction per call, two indexed statements per
//! new bot (prepared once, cached; the look-ups only for what exists
//! already).
//!
//! [`AccountStore::ensure_bot_tokens`]: crate::store::AccountStore::ensure_bot_tokens

use super::accounts::query_first;
use crate::store::accounts::{
    check_bot_tokens, not_a_bot, token_of_another, BotToken, BotTokensEnsured, BOT_TOKEN_NAME,
};
use crate::store::StoreError;
use common::{AccountKind, AccountState, Role, UserId};
use rusqlite::{params, Connection};

/// Makes a missing bot; no row when the username is taken (the index
/// `accounts_by_username`), which is then looked up. A fresh list (the
/// benchmark's, every start) so costs two statements a line, not four.
const INSERT_BOT: &str = "
    INSERT OR IGNORE INTO accounts
        (username, display_name, role, kind, state, password_hash, created_ms)
    VALUES (?1, ?1, 'member', 'bot', 'active', NULL, ?2)
    RETURNING id";
/// Uses the index `accounts_by_username`.
const BOT_ACCOUNT: &str = "SELECT id, kind, role, state FROM accounts WHERE lower(username) = ?1";
const MAKE_ACTIVE_MEMBER: &str =
    "UPDATE accounts SET role = 'member', state = 'active' WHERE id = ?1";
/// Stores a missing token; nothing when its digest is stored already (the
/// index `api_tokens_by_token`), whose owner is then looked up.
const INSERT_BOT_TOKEN: &str = "
    INSERT OR IGNORE INTO api_tokens (account, name, token_hash, created_ms)
    VALUES (?1, ?2, ?3, ?4)";
/// Uses the index `api_tokens_by_token`.
const TOKEN_OWNER: &str = "
    SELECT a.username FROM api_tokens t JOIN accounts a ON a.id = t.account
    WHERE t.token_hash = ?1";

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
        let username = bot.username.as_str();
        let made = query_first(&tx, INSERT_BOT, params![username, now], |row| {
            Ok(row.get::<_, UserId>(0)?)
        })?;
        let id = match made {
            Some(id) => {
                ensured.accounts_created += 1;
                id
            }
            None => existing_bot(&tx, bot, &mut ensured)?,
        };
        let stored = tx.prepare_cached(INSERT_BOT_TOKEN)?.execute(params![
            id,
            BOT_TOKEN_NAME,
            &bot.token_hash[..],
            now
        ])?;
        if stored == 1 {
            ensured.tokens_created += 1;
            continue;
        }
        let owner = query_first(&tx, TOKEN_OWNER, [&bot.token_hash[..]], |row| {
            Ok(row.get::<_, String>(0)?)
        })?;
        // Stored usernames are lower case, as parsed ones are.
        if owner.as_deref() != Some(username) {
            return Err(token_of_another(&bot.username));
        }
    }
    tx.commit()?;
    Ok(ensured)
}

/// The id of the account `bot` names, which exists: a bot, made an active
/// member if it is not one.
fn existing_bot(
    tx: &Connection,
    bot: &BotToken,
    ensured: &mut BotTokensEnsured,
) -> Result<UserId, StoreError> {
    let found = query_first(tx, BOT_ACCOUNT, [bot.username.as_str()], |row| {
        Ok((
            row.get::<_, UserId>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    match found {
        Some((id, kind, role, state)) if kind == AccountKind::Bot.as_str() => {
            if role != Role::Member.as_str() || state != AccountState::Active.as_str() {
                tx.prepare_cached(MAKE_ACTIVE_MEMBER)?.execute([id])?;
                ensured.accounts_changed += 1;
            }
            Ok(id)
        }
        Some(_) => Err(not_a_bot(&bot.username)),
        None => Err(StoreError::corrupt(format!(
            "the username {} is taken but no account has it",
            bot.username
        ))),
    }
}
