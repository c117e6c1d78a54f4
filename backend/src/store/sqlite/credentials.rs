//! Sessions and API tokens on the SQLite file: their statements, and the
//! work of `accounts`' [`crate::store::AccountStore`] methods for them
//! (writes run on the writer's connection, reads on a reader's).
//!
//! A look-up by token joins the account and takes only an active one:
//! what it returns authenticates.

use super::accounts::{account_from_row, query_all, query_first};
use crate::store::accounts::{
    bounded_label, no_account, no_active_account, Account, ApiTokenId, ApiTokenRecord, NewSession,
    SessionId, SessionRecord, TokenHash,
};
use crate::store::{ErrorKind, StoreError};
use common::UserId;
use rusqlite::{params, Connection, Row};

/// Inserts only for an active account: a sign-in that raced a
/// deactivation gets no session.
const INSERT_SESSION: &str = "
    INSERT INTO sessions (account, token_hash, device, created_ms, last_seen_ms)
    SELECT id, ?2, ?3, ?4, ?4 FROM accounts WHERE id = ?1 AND state = 'active'
    RETURNING id";
/// Uses the index `sessions_by_token`.
const SESSION_BY_TOKEN: &str = "
    SELECT s.id, s.account, s.device, s.created_ms, s.last_seen_ms,
           a.id, a.username, a.display_name, a.role, a.kind, a.state, a.password_hash,
           a.created_ms
    FROM sessions s JOIN accounts a ON a.id = s.account
    WHERE s.token_hash = ?1 AND a.state = 'active'";
const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE id = ?1";
const SESSIONS_OF: &str = "
    SELECT id, account, device, created_ms, last_seen_ms FROM sessions
    WHERE account = ?1 ORDER BY id";
const END_SESSION: &str = "DELETE FROM sessions WHERE id = ?2 AND account = ?1";
/// Ends the sessions of account `?1` but `?2`, or all of them when `?2`
/// is `NULL` (`id IS NOT NULL` holds for every row).
pub(super) const END_SESSIONS_BUT: &str =
    "DELETE FROM sessions WHERE account = ?1 AND id IS NOT ?2 RETURNING id";
/// Uses the index `sessions_by_last_seen`.
const END_IDLE_SESSIONS: &str =
    "DELETE FROM sessions WHERE last_seen_ms < ?1 RETURNING id, account";

const INSERT_API_TOKEN: &str = "
    INSERT INTO api_tokens (account, name, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)
    RETURNING id";
/// Uses the index `api_tokens_by_token`.
const API_TOKEN_BY_HASH: &str = "
    SELECT t.id, t.account, t.name, t.created_ms, t.last_used_ms,
           a.id, a.username, a.display_name, a.role, a.kind, a.state, a.password_hash,
           a.created_ms
    FROM api_tokens t JOIN accounts a ON a.id = t.account
    WHERE t.token_hash = ?1 AND a.state = 'active'";
const API_TOKENS_OF: &str = "
    SELECT id, account, name, created_ms, last_used_ms FROM api_tokens
    WHERE account = ?1 ORDER BY id";
const REVOKE_API_TOKEN: &str = "DELETE FROM api_tokens WHERE id = ?2 AND account = ?1";
const TOUCH_API_TOKEN: &str =
    "UPDATE api_tokens SET last_used_ms = max(coalesce(last_used_ms, 0), ?2) WHERE id = ?1";

fn session_from_row(row: &Row<'_>) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: row.get(0)?,
        account: row.get(1)?,
        device: row.get(2)?,
        created_ms: row.get(3)?,
        last_seen_ms: row.get(4)?,
    })
}

fn api_token_from_row(row: &Row<'_>) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        id: row.get(0)?,
        account: row.get(1)?,
        name: row.get(2)?,
        created_ms: row.get(3)?,
        last_used_ms: row.get(4)?,
    })
}

pub(super) fn create_session(
    conn: &Connection,
    session: NewSession,
) -> Result<SessionRecord, StoreError> {
    let device = bounded_label(session.device);
    let id = query_first(
        conn,
        INSERT_SESSION,
        params![
            session.account,
            &session.token_hash[..],
            device,
            session.now
        ],
        |row| Ok(row.get(0)?),
    )?
    .ok_or_else(|| no_active_account(session.account))?;
    Ok(SessionRecord {
        id,
        account: session.account,
        device,
        created_ms: session.now,
        last_seen_ms: session.now,
    })
}

pub(super) fn session_by_token(
    conn: &Connection,
    token_hash: &TokenHash,
) -> Result<Option<(SessionRecord, Account)>, StoreError> {
    query_first(conn, SESSION_BY_TOKEN, [&token_hash[..]], |row| {
        Ok((session_from_row(row)?, account_from_row(row, 5)?))
    })
}

pub(super) fn touch_session(conn: &Connection, id: SessionId, now: u64) -> Result<(), StoreError> {
    conn.prepare_cached(TOUCH_SESSION)?
        .execute(params![id, now])?;
    Ok(())
}

pub(super) fn sessions_of(
    conn: &Connection,
    account: UserId,
) -> Result<Vec<SessionRecord>, StoreError> {
    query_all(conn, SESSIONS_OF, [account], session_from_row)
}

pub(super) fn end_session(
    conn: &Connection,
    account: UserId,
    id: SessionId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(END_SESSION)?
        .execute(params![account, id])?
        == 1)
}

pub(super) fn end_sessions_idle_since(
    conn: &Connection,
    cutoff_ms: u64,
) -> Result<Vec<(SessionId, UserId)>, StoreError> {
    let mut ended = query_all(conn, END_IDLE_SESSIONS, [cutoff_ms], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    ended.sort_unstable();
    Ok(ended)
}

pub(super) fn create_api_token(
    conn: &Connection,
    account: UserId,
    name: String,
    token_hash: &TokenHash,
    now: u64,
) -> Result<ApiTokenRecord, StoreError> {
    let inserted = conn
        .prepare_cached(INSERT_API_TOKEN)?
        .query_row(params![account, name, &token_hash[..], now], |row| {
            row.get(0)
        });
    let id = inserted.map_err(|err| match StoreError::from(err) {
        // The account does not exist (its foreign key).
        err if err.kind() == ErrorKind::NotFound => no_account(account).with_source(err),
        err => err,
    })?;
    Ok(ApiTokenRecord {
        id,
        account,
        name,
        created_ms: now,
        last_used_ms: None,
    })
}

pub(super) fn api_token_by_hash(
    conn: &Connection,
    token_hash: &TokenHash,
) -> Result<Option<(ApiTokenRecord, Account)>, StoreError> {
    query_first(conn, API_TOKEN_BY_HASH, [&token_hash[..]], |row| {
        Ok((api_token_from_row(row)?, account_from_row(row, 5)?))
    })
}

pub(super) fn api_tokens_of(
    conn: &Connection,
    account: UserId,
) -> Result<Vec<ApiTokenRecord>, StoreError> {
    query_all(conn, API_TOKENS_OF, [account], api_token_from_row)
}

pub(super) fn revoke_api_token(
    conn: &Connection,
    account: UserId,
    id: ApiTokenId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(REVOKE_API_TOKEN)?
        .execute(params![account, id])?
        == 1)
}

pub(super) fn touch_api_token(
    conn: &Connection,
    id: ApiTokenId,
    now: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(TOUCH_API_TOKEN)?
        .execute(params![id, now])?;
    Ok(())
}
