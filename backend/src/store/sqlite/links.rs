//! One-time links on the SQLite file: their statements, and the work of
//! `accounts`' [`crate::store::AccountStore`] methods for them, among them
//! the three that use a link and change accounts in one transaction (the
//! first administrator, a sign-up, a reset). Writes run on the writer's
//! connection, which makes them one after the other; reads on a reader's.

use super::accounts::{change_password, count_accounts, insert_account, query_all, query_first};
use crate::store::accounts::{
    checked_link, setup_done, usable_link, Account, LinkId, LinkKind, LinkRecord, NewAccount,
    NewLink, SessionId, TokenHash,
};
use crate::store::StoreError;
use common::{Role, UserId};
use rusqlite::{params, Connection, Row};

/// A link's columns, in the order of [`link_from_row`].
macro_rules! link_columns {
    () => {
        "id, kind, created_by, account, created_ms, expires_ms, max_uses, uses, revoked"
    };
}

const INSERT_LINK: &str = "
    INSERT INTO links (kind, token_hash, created_by, account, created_ms, expires_ms, max_uses)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    RETURNING id";
/// Uses the index `links_by_kind`.
const LINKS_OF_KIND: &str = concat!(
    "SELECT ",
    link_columns!(),
    " FROM links WHERE kind = ?1 ORDER BY id"
);
/// Uses the index `links_by_token`.
const LINK_BY_TOKEN: &str = concat!(
    "SELECT ",
    link_columns!(),
    " FROM links WHERE token_hash = ?1"
);
const REVOKE_LINK: &str = "UPDATE links SET revoked = 1 WHERE id = ?1 AND revoked = 0";
const USE_LINK: &str = "UPDATE links SET uses = uses + 1 WHERE id = ?1";

fn link_from_row(row: &Row<'_>) -> Result<LinkRecord, StoreError> {
    Ok(LinkRecord {
        id: row.get(0)?,
        kind: LinkKind::parse(&row.get::<_, String>(1)?)?,
        created_by: row.get(2)?,
        account: row.get(3)?,
        created_ms: row.get(4)?,
        expires_ms: row.get(5)?,
        max_uses: row.get(6)?,
        uses: row.get(7)?,
        revoked: row.get(8)?,
    })
}

fn by_token(conn: &Connection, token_hash: &TokenHash) -> Result<Option<LinkRecord>, StoreError> {
    query_first(conn, LINK_BY_TOKEN, [&token_hash[..]], link_from_row)
}

/// The link with this token, usable now as a link of `kind`.
fn usable(
    conn: &Connection,
    token_hash: &TokenHash,
    kind: LinkKind,
    now: u64,
) -> Result<LinkRecord, StoreError> {
    usable_link(by_token(conn, token_hash)?, kind, now)
}

fn use_link(conn: &Connection, id: LinkId) -> Result<(), StoreError> {
    conn.prepare_cached(USE_LINK)?.execute([id])?;
    Ok(())
}

pub(super) fn create_link(conn: &Connection, link: NewLink) -> Result<LinkRecord, StoreError> {
    let link = checked_link(link)?;
    let id = conn.prepare_cached(INSERT_LINK)?.query_row(
        params![
            link.kind.as_str(),
            &link.token_hash[..],
            link.created_by,
            link.account,
            link.now,
            link.expires_ms,
            link.max_uses,
        ],
        |row| row.get(0),
    )?;
    Ok(LinkRecord {
        id,
        kind: link.kind,
        created_by: link.created_by,
        account: link.account,
        created_ms: link.now,
        expires_ms: link.expires_ms,
        max_uses: link.max_uses,
        uses: 0,
        revoked: false,
    })
}

pub(super) fn links(conn: &Connection, kind: LinkKind) -> Result<Vec<LinkRecord>, StoreError> {
    query_all(conn, LINKS_OF_KIND, [kind.as_str()], link_from_row)
}

pub(super) fn revoke_link(conn: &Connection, id: LinkId) -> Result<bool, StoreError> {
    Ok(conn.prepare_cached(REVOKE_LINK)?.execute([id])? == 1)
}

pub(super) fn link_by_token(
    conn: &Connection,
    token_hash: &TokenHash,
    now: u64,
) -> Result<Option<LinkRecord>, StoreError> {
    Ok(by_token(conn, token_hash)?.filter(|link| link.is_usable(now)))
}

pub(super) fn create_first_admin(
    conn: &mut Connection,
    setup_link: &TokenHash,
    account: NewAccount,
    now: u64,
) -> Result<Account, StoreError> {
    let tx = conn.transaction()?;
    let link = usable(&tx, setup_link, LinkKind::Setup, now)?;
    if count_accounts(&tx)? > 0 {
        return Err(setup_done());
    }
    let admin = NewAccount {
        role: Role::Admin,
        ..account
    };
    let created = insert_account(&tx, admin, now)?;
    use_link(&tx, link.id)?;
    tx.commit()?;
    Ok(created)
}

pub(super) fn sign_up_with_invite(
    conn: &mut Connection,
    invite: &TokenHash,
    account: NewAccount,
    now: u64,
) -> Result<Account, StoreError> {
    let tx = conn.transaction()?;
    let link = usable(&tx, invite, LinkKind::Invite, now)?;
    // A taken username fails here, before the use is counted; the
    // transaction is rolled back when `tx` is dropped.
    let created = insert_account(&tx, account, now)?;
    use_link(&tx, link.id)?;
    tx.commit()?;
    Ok(created)
}

pub(super) fn reset_password_with_link(
    conn: &mut Connection,
    reset_link: &TokenHash,
    password_hash: &str,
    now: u64,
) -> Result<(UserId, Vec<SessionId>), StoreError> {
    let tx = conn.transaction()?;
    let link = usable(&tx, reset_link, LinkKind::Reset, now)?;
    let id = link
        .account
        .ok_or_else(|| StoreError::corrupt(format!("reset link {} has no account", link.id)))?;
    let ended = change_password(&tx, id, password_hash, None)?;
    use_link(&tx, link.id)?;
    tx.commit()?;
    Ok((id, ended))
}
