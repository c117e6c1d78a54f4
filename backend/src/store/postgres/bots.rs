//! [`AccountStore::ensure_bot_tokens`] on PostgreSQL: one transaction and
//! five statements per call, whatever its size, each taking the whole list
//! as arrays (`unnest`), so a call of a thousand bots is five round trips
//! rather than four thousand.
//!
//! Instances of a cluster start with the same list at once: the inserts
//! are `ON CONFLICT DO NOTHING`, so the second instance's finds the first
//! one's rows and changes nothing.
//!
//! [`AccountStore::ensure_bot_tokens`]: crate::store::AccountStore::ensure_bot_tokens

use super::to_i64;
use crate::store::accounts::{
    check_bot_tokens, not_a_bot, token_of_another, BotToken, BotTokensEnsured, BOT_TOKEN_NAME,
};
use crate::store::StoreError;
use common::Username;
use deadpool_postgres::GenericClient as _;
use std::collections::HashSet;

/// A username of the list that is a person's (the index
/// `accounts_by_username`).
const A_PERSON: &str = "
    SELECT username FROM accounts
    WHERE lower(username) = ANY($1::text[]) AND kind <> 'bot'
    LIMIT 1";
/// The missing bots, made in the list's order.
const INSERT_BOTS: &str = "
    INSERT INTO accounts (username, display_name, role, kind, state, created_ms)
    SELECT u, u, 'member', 'bot', 'active', $2
    FROM unnest($1::text[]) WITH ORDINALITY AS t(u, n)
    ORDER BY n
    ON CONFLICT ((lower(username))) DO NOTHING";
const MAKE_ACTIVE_MEMBERS: &str = "
    UPDATE accounts SET role = 'member', state = 'active'
    WHERE lower(username) = ANY($1::text[]) AND (role <> 'member' OR state <> 'active')";
/// A digest of the list stored as the token of another account than the
/// list's (the index `api_tokens_by_token`).
const ANOTHER_OWNER: &str = "
    SELECT t.u FROM unnest($1::text[], $2::bytea[]) AS t(u, h)
    JOIN api_tokens k ON k.token_hash = t.h
    JOIN accounts a ON a.id = k.account
    WHERE lower(a.username) <> t.u
    LIMIT 1";
/// The missing tokens, stored in the list's order.
const INSERT_TOKENS: &str = "
    INSERT INTO api_tokens (account, name, token_hash, created_ms)
    SELECT a.id, $3, t.h, $4
    FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS t(u, h, n)
    JOIN accounts a ON lower(a.username) = t.u
    ORDER BY t.n
    ON CONFLICT (token_hash) DO NOTHING";

/// The whole call, in one transaction on a connection of the pool.
pub(super) async fn ensure_bot_tokens(
    client: &mut deadpool_postgres::Object,
    bots: &[BotToken],
    now: u64,
) -> Result<BotTokensEnsured, StoreError> {
    check_bot_tokens(bots)?;
    // Each username and each digest once (a bot may have several tokens).
    let mut seen_users = HashSet::new();
    let users: Vec<&str> = bots
        .iter()
        .map(|bot| bot.username.as_str())
        .filter(|user| seen_users.insert(*user))
        .collect();
    let mut seen_tokens = HashSet::new();
    let (token_users, hashes): (Vec<&str>, Vec<&[u8]>) = bots
        .iter()
        .filter(|bot| seen_tokens.insert(bot.token_hash))
        .map(|bot| (bot.username.as_str(), &bot.token_hash[..]))
        .unzip();
    let now = to_i64(now);

    let tx = client.transaction().await?;
    let statement = tx.prepare_cached(A_PERSON).await?;
    if let Some(row) = tx.query_opt(&statement, &[&users]).await? {
        let username: String = row.try_get(0)?;
        let username = Username::parse(username)
            .map_err(|err| StoreError::corrupt(format!("account username: {err}")))?;
        return Err(not_a_bot(&username));
    }
    let statement = tx.prepare_cached(INSERT_BOTS).await?;
    let accounts_created = tx.execute(&statement, &[&users, &now]).await?;
    let statement = tx.prepare_cached(MAKE_ACTIVE_MEMBERS).await?;
    let accounts_changed = tx.execute(&statement, &[&users]).await?;
    let statement = tx.prepare_cached(ANOTHER_OWNER).await?;
    if let Some(row) = tx.query_opt(&statement, &[&token_users, &hashes]).await? {
        let username: String = row.try_get(0)?;
        let username = Username::parse(username)
            .map_err(|err| StoreError::corrupt(format!("account username: {err}")))?;
        return Err(token_of_another(&username));
    }
    let statement = tx.prepare_cached(INSERT_TOKENS).await?;
    let tokens_created = tx
        .execute(&statement, &[&token_users, &hashes, &BOT_TOKEN_NAME, &now])
        .await?;
    tx.commit().await?;
    Ok(BotTokensEnsured {
        accounts_created,
        accounts_changed,
        tokens_created,
    })
}
