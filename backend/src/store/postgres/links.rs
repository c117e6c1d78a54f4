//! One-time links on PostgreSQL: their statements, and the work of
//! `accounts`' [`crate::store::AccountStore`] methods for them, among them
//! the three that use a link and change accounts in one transaction (the
//! first administrator, a sign-up, a reset), each locking what it checks.

use super::accounts::{change_password, count_accounts, insert_account, to_u64_opt};
use super::{to_i64, to_u64};
use crate::store::accounts::{
    checked_link, setup_done, usable_link, Account, LinkId, LinkKind, LinkRecord, NewAccount,
    NewLink, SessionId, TokenHash,
};
use crate::store::StoreError;
use common::{Role, UserId};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// A link's columns, in the order of [`link_from_row`].
macro_rules! link_columns {
    () => {
        "id, kind, created_by, account, created_ms, expires_ms, max_uses, uses, revoked"
    };
}

const INSERT_LINK: &str = "
    INSERT INTO links (kind, token_hash, created_by, account, created_ms, expires_ms, max_uses)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING id";
/// Uses the index `links_by_kind`.
const LINKS_OF_KIND: &str = concat!(
    "SELECT ",
    link_columns!(),
    " FROM links WHERE kind = $1 ORDER BY id"
);
/// Uses the index `links_by_token`.
const LINK_BY_TOKEN: &str = concat!(
    "SELECT ",
    link_columns!(),
    " FROM links WHERE token_hash = $1"
);
/// The link, locked until the transaction ends: two uses of it at once
/// are counted one after the other, the second seeing the first.
const LOCK_LINK_BY_TOKEN: &str = concat!(
    "SELECT ",
    link_columns!(),
    " FROM links WHERE token_hash = $1 FOR UPDATE"
);
const REVOKE_LINK: &str = "UPDATE links SET revoked = TRUE WHERE id = $1 AND NOT revoked";
const USE_LINK: &str = "UPDATE links SET uses = uses + 1 WHERE id = $1";
/// Taken by the first administrator's transaction: every other insert of
/// an account waits until it ends, so "no account yet" stays true until
/// it commits. It lets reads go on.
const LOCK_ACCOUNTS: &str = "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE";

/// A stored count as a `u32` (counts beyond it are clamped).
fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    Ok(u32::try_from(to_u64(value, what)?).unwrap_or(u32::MAX))
}

fn link_from_row(row: &Row) -> Result<LinkRecord, StoreError> {
    Ok(LinkRecord {
        id: to_u64(row.try_get(0)?, "link id")?,
        kind: LinkKind::parse(row.try_get(1)?)?,
        created_by: to_u64_opt(row.try_get(2)?, "link creator")?,
        account: to_u64_opt(row.try_get(3)?, "link account")?,
        created_ms: to_u64(row.try_get(4)?, "creation time")?,
        expires_ms: to_u64_opt(row.try_get(5)?, "expiry time")?,
        max_uses: row
            .try_get::<_, Option<i64>>(6)?
            .map(|max| to_u32(max, "maximum uses"))
            .transpose()?,
        uses: to_u32(row.try_get(7)?, "uses")?,
        revoked: row.try_get(8)?,
    })
}

/// The link with this token, usable now as a link of `kind`, locked until
/// the transaction of `client` ends.
async fn lock_usable(
    client: &impl GenericClient,
    token_hash: &TokenHash,
    kind: LinkKind,
    now: u64,
) -> Result<LinkRecord, StoreError> {
    let statement = client.prepare_cached(LOCK_LINK_BY_TOKEN).await?;
    let row = client.query_opt(&statement, &[&&token_hash[..]]).await?;
    usable_link(row.map(|row| link_from_row(&row)).transpose()?, kind, now)
}

async fn use_link(client: &impl GenericClient, id: LinkId) -> Result<(), StoreError> {
    let statement = client.prepare_cached(USE_LINK).await?;
    client.execute(&statement, &[&to_i64(id)]).await?;
    Ok(())
}

pub(super) async fn create_link(
    client: &impl GenericClient,
    link: NewLink,
) -> Result<LinkRecord, StoreError> {
    let link = checked_link(link)?;
    let statement = client.prepare_cached(INSERT_LINK).await?;
    let row = client
        .query_one(
            &statement,
            &[
                &link.kind.as_str(),
                &&link.token_hash[..],
                &link.created_by.map(to_i64),
                &link.account.map(to_i64),
                &to_i64(link.now),
                &link.expires_ms.map(to_i64),
                &link.max_uses.map(i64::from),
            ],
        )
        .await?;
    Ok(LinkRecord {
        id: to_u64(row.try_get(0)?, "link id")?,
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

pub(super) async fn links(
    client: &impl GenericClient,
    kind: LinkKind,
) -> Result<Vec<LinkRecord>, StoreError> {
    let statement = client.prepare_cached(LINKS_OF_KIND).await?;
    let rows = client.query(&statement, &[&kind.as_str()]).await?;
    rows.iter().map(link_from_row).collect()
}

pub(super) async fn revoke_link(
    client: &impl GenericClient,
    id: LinkId,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(REVOKE_LINK).await?;
    Ok(client.execute(&statement, &[&to_i64(id)]).await? == 1)
}

pub(super) async fn link_by_token(
    client: &impl GenericClient,
    token_hash: &TokenHash,
    now: u64,
) -> Result<Option<LinkRecord>, StoreError> {
    let statement = client.prepare_cached(LINK_BY_TOKEN).await?;
    let row = client.query_opt(&statement, &[&&token_hash[..]]).await?;
    let link = row.map(|row| link_from_row(&row)).transpose()?;
    Ok(link.filter(|link| link.is_usable(now)))
}

pub(super) async fn create_first_admin(
    client: &mut deadpool_postgres::Object,
    setup_link: &TokenHash,
    account: NewAccount,
    now: u64,
) -> Result<Account, StoreError> {
    let tx = client.transaction().await?;
    tx.batch_execute(LOCK_ACCOUNTS).await?;
    let link = lock_usable(&tx, setup_link, LinkKind::Setup, now).await?;
    if count_accounts(&tx).await? > 0 {
        return Err(setup_done());
    }
    let admin = NewAccount {
        role: Role::Admin,
        ..account
    };
    let created = insert_account(&tx, admin, now).await?;
    use_link(&tx, link.id).await?;
    tx.commit().await?;
    Ok(created)
}

pub(super) async fn sign_up_with_invite(
    client: &mut deadpool_postgres::Object,
    invite: &TokenHash,
    account: NewAccount,
    now: u64,
) -> Result<Account, StoreError> {
    let tx = client.transaction().await?;
    let link = lock_usable(&tx, invite, LinkKind::Invite, now).await?;
    // A taken username fails here, before the use is counted; the
    // transaction is rolled back when `tx` is dropped.
    let created = insert_account(&tx, account, now).await?;
    use_link(&tx, link.id).await?;
    tx.commit().await?;
    Ok(created)
}

pub(super) async fn reset_password_with_link(
    client: &mut deadpool_postgres::Object,
    reset_link: &TokenHash,
    password_hash: &str,
    now: u64,
) -> Result<(UserId, Vec<SessionId>), StoreError> {
    let tx = client.transaction().await?;
    let link = lock_usable(&tx, reset_link, LinkKind::Reset, now).await?;
    let id = link
        .account
        .ok_or_else(|| StoreError::corrupt(format!("reset link {} has no account", link.id)))?;
    let ended = change_password(&tx, id, password_hash, None).await?;
    use_link(&tx, link.id).await?;
    tx.commit().await?;
    Ok((id, ended))
}
