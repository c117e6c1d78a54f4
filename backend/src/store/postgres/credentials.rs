//! Sessions and API tokens on PostgreSQL: their statements, and the work
//! of `accounts`' [`crate::store::AccountStore`] methods for them.
//!
//! A look-up by token joins the account and takes only an active one:
//! what it returns authenticates.

use super::accounts::{account_from_row, to_u64_opt};
use super::{to_i64, to_u64};
use crate::store::accounts::{
    bounded_label, no_account, no_active_account, Account, ApiTokenId, ApiTokenRecord, NewSession,
    SessionId, SessionRecord, TokenHash,
};
use crate::store::{ErrorKind, StoreError};
use common::UserId;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// Inserts only for an active account, whose row it locks (`FOR SHARE`)
/// until the insert commits: a deactivation running at once either waits
/// and then ends this session too, or is seen, and no session is made.
const INSERT_SESSION: &str = "
    INSERT INTO sessions (account, token_hash, device, created_ms, last_seen_ms)
    SELECT id, $2::BYTEA, $3::TEXT, $4::BIGINT, $4::BIGINT FROM accounts
    WHERE id = $1 AND state = 'active'
    FOR SHARE
    RETURNING id";
/// Uses the index `sessions_by_token`.
const SESSION_BY_TOKEN: &str = "
    SELECT s.id, s.account, s.device, s.created_ms, s.last_seen_ms,
           a.id, a.username, a.display_name, a.role, a.kind, a.state, a.password_hash,
           a.created_ms
    FROM sessions s JOIN accounts a ON a.id = s.account
    WHERE s.token_hash = $1 AND a.state = 'active'";
const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE id = $1";
const SESSIONS_OF: &str = "
    SELECT id, account, device, created_ms, last_seen_ms FROM sessions
    WHERE account = $1 ORDER BY id";
const END_SESSION: &str = "DELETE FROM sessions WHERE id = $2 AND account = $1";
/// Ends the sessions of account `$1` but `$2`, or all of them when `$2`
/// is `NULL`.
pub(super) const END_SESSIONS_BUT: &str =
    "DELETE FROM sessions WHERE account = $1 AND id IS DISTINCT FROM $2 RETURNING id";
/// Uses the index `sessions_by_last_seen`.
const END_IDLE_SESSIONS: &str =
    "DELETE FROM sessions WHERE last_seen_ms < $1 RETURNING id, account";

const INSERT_API_TOKEN: &str = "
    INSERT INTO api_tokens (account, name, token_hash, created_ms) VALUES ($1, $2, $3, $4)
    RETURNING id";
/// Uses the index `api_tokens_by_token`.
const API_TOKEN_BY_HASH: &str = "
    SELECT t.id, t.account, t.name, t.created_ms, t.last_used_ms,
           a.id, a.username, a.display_name, a.role, a.kind, a.state, a.password_hash,
           a.created_ms
    FROM api_tokens t JOIN accounts a ON a.id = t.account
    WHERE t.token_hash = $1 AND a.state = 'active'";
const API_TOKENS_OF: &str = "
    SELECT id, account, name, created_ms, last_used_ms FROM api_tokens
    WHERE account = $1 ORDER BY id";
const REVOKE_API_TOKEN: &str = "DELETE FROM api_tokens WHERE id = $2 AND account = $1";
const TOUCH_API_TOKEN: &str =
    "UPDATE api_tokens SET last_used_ms = GREATEST(COALESCE(last_used_ms, 0), $2) WHERE id = $1";

fn session_from_row(row: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: to_u64(row.try_get(0)?, "session id")?,
        account: to_u64(row.try_get(1)?, "session account")?,
        device: row.try_get(2)?,
        created_ms: to_u64(row.try_get(3)?, "creation time")?,
        last_seen_ms: to_u64(row.try_get(4)?, "last seen time")?,
    })
}

fn api_token_from_row(row: &Row) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        id: to_u64(row.try_get(0)?, "token id")?,
        account: to_u64(row.try_get(1)?, "token account")?,
        name: row.try_get(2)?,
        created_ms: to_u64(row.try_get(3)?, "creation time")?,
        last_used_ms: to_u64_opt(row.try_get(4)?, "last use time")?,
    })
}

pub(super) async fn create_session(
    client: &impl GenericClient,
    session: NewSession,
) -> Result<SessionRecord, StoreError> {
    let device = bounded_label(session.device);
    let statement = client.prepare_cached(INSERT_SESSION).await?;
    let row = client
        .query_opt(
            &statement,
            &[
                &to_i64(session.account),
                &&session.token_hash[..],
                &device,
                &to_i64(session.now),
            ],
        )
        .await?
        .ok_or_else(|| no_active_account(session.account))?;
    Ok(SessionRecord {
        id: to_u64(row.try_get(0)?, "session id")?,
        account: session.account,
        device,
        created_ms: session.now,
        last_seen_ms: session.now,
    })
}

pub(super) async fn session_by_token(
    client: &impl GenericClient,
    token_hash: &TokenHash,
) -> Result<Option<(SessionRecord, Account)>, StoreError> {
    let statement = client.prepare_cached(SESSION_BY_TOKEN).await?;
    let row = client.query_opt(&statement, &[&&token_hash[..]]).await?;
    row.map(|row| Ok((session_from_row(&row)?, account_from_row(&row, 5)?)))
        .transpose()
}

pub(super) async fn touch_session(
    client: &impl GenericClient,
    id: SessionId,
    now: u64,
) -> Result<(), StoreError> {
    let statement = client.prepare_cached(TOUCH_SESSION).await?;
    client
        .execute(&statement, &[&to_i64(id), &to_i64(now)])
        .await?;
    Ok(())
}

pub(super) async fn sessions_of(
    client: &impl GenericClient,
    account: UserId,
) -> Result<Vec<SessionRecord>, StoreError> {
    let statement = client.prepare_cached(SESSIONS_OF).await?;
    let rows = client.query(&statement, &[&to_i64(account)]).await?;
    rows.iter().map(session_from_row).collect()
}

pub(super) async fn end_session(
    client: &impl GenericClient,
    account: UserId,
    id: SessionId,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(END_SESSION).await?;
    let deleted = client
        .execute(&statement, &[&to_i64(account), &to_i64(id)])
        .await?;
    Ok(deleted == 1)
}

pub(super) async fn end_sessions_idle_since(
    client: &impl GenericClient,
    cutoff_ms: u64,
) -> Result<Vec<(SessionId, UserId)>, StoreError> {
    let statement = client.prepare_cached(END_IDLE_SESSIONS).await?;
    let rows = client.query(&statement, &[&to_i64(cutoff_ms)]).await?;
    let mut ended = rows
        .iter()
        .map(|row| {
            Ok((
                to_u64(row.try_get(0)?, "session id")?,
                to_u64(row.try_get(1)?, "session account")?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    ended.sort_unstable();
    Ok(ended)
}

pub(super) async fn create_api_token(
    client: &impl GenericClient,
    account: UserId,
    name: String,
    token_hash: &TokenHash,
    now: u64,
) -> Result<ApiTokenRecord, StoreError> {
    let statement = client.prepare_cached(INSERT_API_TOKEN).await?;
    let inserted = client
        .query_one(
            &statement,
            &[&to_i64(account), &name, &&token_hash[..], &to_i64(now)],
        )
        .await;
    let row = inserted.map_err(|err| match StoreError::from(err) {
        // The account does not exist (its foreign key).
        err if err.kind() == ErrorKind::NotFound => no_account(account).with_source(err),
        err => err,
    })?;
    Ok(ApiTokenRecord {
        id: to_u64(row.try_get(0)?, "token id")?,
        account,
        name,
        created_ms: now,
        last_used_ms: None,
    })
}

pub(super) async fn api_token_by_hash(
    client: &impl GenericClient,
    token_hash: &TokenHash,
) -> Result<Option<(ApiTokenRecord, Account)>, StoreError> {
    let statement = client.prepare_cached(API_TOKEN_BY_HASH).await?;
    let row = client.query_opt(&statement, &[&&token_hash[..]]).await?;
    row.map(|row| Ok((api_token_from_row(&row)?, account_from_row(&row, 5)?)))
        .transpose()
}

pub(super) async fn api_tokens_of(
    client: &impl GenericClient,
    account: UserId,
) -> Result<Vec<ApiTokenRecord>, StoreError> {
    let statement = client.prepare_cached(API_TOKENS_OF).await?;
    let rows = client.query(&statement, &[&to_i64(account)]).await?;
    rows.iter().map(api_token_from_row).collect()
}

pub(super) async fn revoke_api_token(
    client: &impl GenericClient,
    account: UserId,
    id: ApiTokenId,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(REVOKE_API_TOKEN).await?;
    let deleted = client
        .execute(&statement, &[&to_i64(account), &to_i64(id)])
        .await?;
    Ok(deleted == 1)
}

pub(super) async fn touch_api_token(
    client: &impl GenericClient,
    id: ApiTokenId,
    now: u64,
) -> Result<(), StoreError> {
    let statement = client.prepare_cached(TOUCH_API_TOKEN).await?;
    client
        .execute(&statement, &[&to_i64(id), &to_i64(now)])
        .await?;
    Ok(())
}
