//! [`AccountStore`] on PostgreSQL: the schema of migration 2, the
//! statements for accounts, and the trait's methods; sessions and API
//! tokens are in `credentials`, one-time links in `links`.
//!
//! Account writes are rare: each runs on a connection of the pool, beside
//! the message writer, and what must not be done halfway in one
//! transaction. Instances of a cluster may run the same method at once,
//! so a transaction that checks and then writes locks what it checked: a
//! link's row (`FOR UPDATE`), the account a session is made for (`FOR
//! SHARE`, so a deactivation either waits for the session or is seen by
//! it), and for the first administrator the accounts table (so no account
//! is made meanwhile).

use super::bots;
use super::credentials::{self, END_SESSIONS_BUT};
use super::links;
use super::{to_i64, to_u64, PostgresStore};
use crate::store::accounts::{
    bounded_label, check_may_have_password, check_new_account, no_account, taken_or, Account,
    AccountStore, ApiTokenId, ApiTokenRecord, BotToken, BotTokensEnsured, LinkId, LinkKind,
    LinkRecord, NewAccount, NewLink, NewSession, SessionId, SessionRecord, TokenHash,
};
use crate::store::{StoreError, StoreFuture};
use common::{AccountState, DisplayName, Role, UserId, Username};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// Migration 2: the tables of accounts, sessions, API tokens and links.
///
/// Ids are identities, never reused: a session id a caller still holds
/// never names another session. Token digests are unique; every look-up
/// has its index. Usernames are unique by their lowered form (the store
/// keeps them lower case already; the index holds whatever is written).
pub(super) const MIGRATION_2: &str = "
    CREATE TABLE accounts (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username      TEXT   NOT NULL,
        display_name  TEXT   NOT NULL,
        role          TEXT   NOT NULL CHECK (role IN ('admin', 'member')),
        kind          TEXT   NOT NULL CHECK (kind IN ('person', 'bot')),
        state         TEXT   NOT NULL CHECK (state IN ('active', 'deactivated')),
        password_hash TEXT,
        created_ms    BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX accounts_by_username ON accounts (lower(username));
    CREATE TABLE sessions (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account      BIGINT NOT NULL REFERENCES accounts (id),
        token_hash   BYTEA  NOT NULL CHECK (octet_length(token_hash) = 32),
        device       TEXT   NOT NULL,
        created_ms   BIGINT NOT NULL,
        last_seen_ms BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX sessions_by_token ON sessions (token_hash);
    CREATE INDEX sessions_by_account ON sessions (account);
    CREATE INDEX sessions_by_last_seen ON sessions (last_seen_ms);
    CREATE TABLE api_tokens (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account      BIGINT NOT NULL REFERENCES accounts (id),
        name         TEXT   NOT NULL,
        token_hash   BYTEA  NOT NULL CHECK (octet_length(token_hash) = 32),
        created_ms   BIGINT NOT NULL,
        last_used_ms BIGINT
    );
    CREATE UNIQUE INDEX api_tokens_by_token ON api_tokens (token_hash);
    CREATE INDEX api_tokens_by_account ON api_tokens (account);
    CREATE TABLE links (
        id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind       TEXT    NOT NULL CHECK (kind IN ('setup', 'invite', 'reset')),
        token_hash BYTEA   NOT NULL CHECK (octet_length(token_hash) = 32),
        created_by BIGINT  REFERENCES accounts (id),
        account    BIGINT  REFERENCES accounts (id),
        created_ms BIGINT  NOT NULL,
        expires_ms BIGINT,
        max_uses   BIGINT,
        uses       BIGINT  NOT NULL DEFAULT 0,
        revoked    BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE UNIQUE INDEX links_by_token ON links (token_hash);
    CREATE INDEX links_by_kind ON links (kind, id);
";

/// An account's columns, in the order of [`account_from_row`].
macro_rules! account_columns {
    () => {
        "id, username, display_name, role, kind, state, password_hash, created_ms"
    };
}

const INSERT_ACCOUNT: &str = "
    INSERT INTO accounts (username, display_name, role, kind, state, password_hash, created_ms)
    VALUES ($1, $2, $3, $4, 'active', $5, $6)
    RETURNING id";
const ACCOUNT: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE id = $1"
);
/// Uses the index `accounts_by_username`.
const ACCOUNT_BY_USERNAME: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE lower(username) = $1"
);
const ACCOUNTS: &str = concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY id");
const COUNT_ACCOUNTS: &str = "SELECT count(*) FROM accounts";
const SET_DISPLAY_NAME: &str = concat!(
    "UPDATE accounts SET display_name = $2 WHERE id = $1 RETURNING ",
    account_columns!()
);
const SET_ROLE: &str = concat!(
    "UPDATE accounts SET role = $2 WHERE id = $1 RETURNING ",
    account_columns!()
);
const SET_STATE: &str = "UPDATE accounts SET state = $2 WHERE id = $1";
const SET_PASSWORD_HASH: &str = "UPDATE accounts SET password_hash = $2 WHERE id = $1";

/// The account in the columns of `row` from `first` on (in the order of
/// `account_columns!`).
pub(super) fn account_from_row(row: &Row, first: usize) -> Result<Account, StoreError> {
    let corrupt = |what: &str, err: &dyn std::fmt::Display| {
        StoreError::corrupt(format!("account {what}: {err}"))
    };
    Ok(Account {
        id: to_u64(row.try_get(first)?, "account id")?,
        username: Username::parse(row.try_get::<_, String>(first + 1)?)
            .map_err(|err| corrupt("username", &err))?,
        display_name: DisplayName::parse(row.try_get::<_, String>(first + 2)?)
            .map_err(|err| corrupt("display name", &err))?,
        role: row
            .try_get::<_, &str>(first + 3)?
            .parse()
            .map_err(|err| corrupt("role", &err))?,
        kind: row
            .try_get::<_, &str>(first + 4)?
            .parse()
            .map_err(|err| corrupt("kind", &err))?,
        state: row
            .try_get::<_, &str>(first + 5)?
            .parse()
            .map_err(|err| corrupt("state", &err))?,
        password_hash: row.try_get(first + 6)?,
        created_ms: to_u64(row.try_get(first + 7)?, "creation time")?,
    })
}

/// A stored `BIGINT` that may be `NULL`, as the unsigned value it holds.
pub(super) fn to_u64_opt(value: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    value.map(|value| to_u64(value, what)).transpose()
}

async fn account_by_id(
    client: &impl GenericClient,
    id: UserId,
) -> Result<Option<Account>, StoreError> {
    let statement = client.prepare_cached(ACCOUNT).await?;
    let row = client.query_opt(&statement, &[&to_i64(id)]).await?;
    row.map(|row| account_from_row(&row, 0)).transpose()
}

pub(super) async fn count_accounts(client: &impl GenericClient) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(COUNT_ACCOUNTS).await?;
    let row = client.query_one(&statement, &[]).await?;
    to_u64(row.try_get(0)?, "account count")
}

/// Stores `account`, active, made at `now`; a taken username is a
/// conflict that says so.
pub(super) async fn insert_account(
    client: &impl GenericClient,
    account: NewAccount,
    now: u64,
) -> Result<Account, StoreError> {
    check_new_account(&account)?;
    let statement = client.prepare_cached(INSERT_ACCOUNT).await?;
    let inserted = client
        .query_one(
            &statement,
            &[
                &account.username.as_str(),
                &account.display_name.as_str(),
                &account.role.as_str(),
                &account.kind.as_str(),
                &account.password_hash,
                &to_i64(now),
            ],
        )
        .await;
    let row = inserted.map_err(|err| taken_or(err.into(), &account.username))?;
    Ok(Account {
        id: to_u64(row.try_get(0)?, "account id")?,
        username: account.username,
        display_name: account.display_name,
        role: account.role,
        kind: account.kind,
        state: AccountState::Active,
        password_hash: account.password_hash,
        created_ms: now,
    })
}

/// Sets a person's password hash and ends the account's sessions but
/// `keep`; the ended sessions' ids.
pub(super) async fn change_password(
    client: &impl GenericClient,
    id: UserId,
    password_hash: &str,
    keep: Option<SessionId>,
) -> Result<Vec<SessionId>, StoreError> {
    let account = account_by_id(client, id)
        .await?
        .ok_or_else(|| no_account(id))?;
    check_may_have_password(&account)?;
    let statement = client.prepare_cached(SET_PASSWORD_HASH).await?;
    client
        .execute(&statement, &[&to_i64(id), &password_hash])
        .await?;
    end_sessions_but(client, id, keep).await
}

/// Ends the sessions of `account` but `keep` (all when `None`); their ids.
async fn end_sessions_but(
    client: &impl GenericClient,
    account: UserId,
    keep: Option<SessionId>,
) -> Result<Vec<SessionId>, StoreError> {
    let statement = client.prepare_cached(END_SESSIONS_BUT).await?;
    let rows = client
        .query(&statement, &[&to_i64(account), &keep.map(to_i64)])
        .await?;
    let mut ended = rows
        .iter()
        .map(|row| to_u64(row.try_get(0)?, "session id"))
        .collect::<Result<Vec<_>, _>>()?;
    ended.sort_unstable();
    Ok(ended)
}

/// The account that an `UPDATE … RETURNING` of account `id` changed.
async fn update_account(
    client: &impl GenericClient,
    sql: &str,
    id: UserId,
    value: &str,
) -> Result<Account, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let row = client
        .query_opt(&statement, &[&to_i64(id), &value])
        .await?
        .ok_or_else(|| no_account(id))?;
    account_from_row(&row, 0)
}

impl AccountStore for PostgresStore {
    fn create_account(&self, account: NewAccount, now: u64) -> StoreFuture<Account> {
        self.write(move |client| async move { insert_account(&client, account, now).await })
    }

    fn create_first_admin(
        &self,
        setup_link: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account> {
        self.write(move |mut client| async move {
            links::create_first_admin(&mut client, &setup_link, account, now).await
        })
    }

    fn account(&self, id: UserId) -> StoreFuture<Option<Account>> {
        self.read(move |client| async move { account_by_id(&client, id).await })
    }

    fn account_by_username(&self, username: &Username) -> StoreFuture<Option<Account>> {
        let username = username.clone();
        self.read(move |client| async move {
            let statement = client.prepare_cached(ACCOUNT_BY_USERNAME).await?;
            let row = client.query_opt(&statement, &[&username.as_str()]).await?;
            row.map(|row| account_from_row(&row, 0)).transpose()
        })
    }

    fn accounts(&self) -> StoreFuture<Vec<Account>> {
        self.read(|client| async move {
            let statement = client.prepare_cached(ACCOUNTS).await?;
            let rows = client.query(&statement, &[]).await?;
            rows.iter().map(|row| account_from_row(row, 0)).collect()
        })
    }

    fn count_accounts(&self) -> StoreFuture<u64> {
        self.read(|client| async move { count_accounts(&client).await })
    }

    fn set_display_name(&self, id: UserId, display_name: DisplayName) -> StoreFuture<Account> {
        self.write(move |client| async move {
            update_account(&client, SET_DISPLAY_NAME, id, display_name.as_str()).await
        })
    }

    fn set_password_hash(
        &self,
        id: UserId,
        password_hash: String,
        keep_session: Option<SessionId>,
    ) -> StoreFuture<Vec<SessionId>> {
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let ended = change_password(&tx, id, &password_hash, keep_session).await?;
            tx.commit().await?;
            Ok(ended)
        })
    }

    fn set_role(&self, id: UserId, role: Role) -> StoreFuture<Account> {
        self.write(move |client| async move {
            update_account(&client, SET_ROLE, id, role.as_str()).await
        })
    }

    fn set_state(&self, id: UserId, state: AccountState) -> StoreFuture<Vec<SessionId>> {
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let statement = tx.prepare_cached(SET_STATE).await?;
            if tx
                .execute(&statement, &[&to_i64(id), &state.as_str()])
                .await?
                == 0
            {
                return Err(no_account(id));
            }
            let ended = match state {
                AccountState::Active => Vec::new(),
                AccountState::Deactivated => end_sessions_but(&tx, id, None).await?,
            };
            tx.commit().await?;
            Ok(ended)
        })
    }

    fn create_session(&self, session: NewSession) -> StoreFuture<SessionRecord> {
        self.write(move |client| async move { credentials::create_session(&client, session).await })
    }

    fn session_by_token(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(SessionRecord, Account)>> {
        self.read(
            move |client| async move { credentials::session_by_token(&client, &token_hash).await },
        )
    }

    fn touch_session(&self, id: SessionId, now: u64) -> StoreFuture<()> {
        self.write(move |client| async move { credentials::touch_session(&client, id, now).await })
    }

    fn sessions_of(&self, account: UserId) -> StoreFuture<Vec<SessionRecord>> {
        self.read(move |client| async move { credentials::sessions_of(&client, account).await })
    }

    fn end_session(&self, account: UserId, id: SessionId) -> StoreFuture<bool> {
        self.write(
            move |client| async move { credentials::end_session(&client, account, id).await },
        )
    }

    fn end_sessions_idle_since(&self, cutoff_ms: u64) -> StoreFuture<Vec<(SessionId, UserId)>> {
        self.write(move |client| async move {
            credentials::end_sessions_idle_since(&client, cutoff_ms).await
        })
    }

    fn ensure_bot_tokens(&self, bots: Vec<BotToken>, now: u64) -> StoreFuture<BotTokensEnsured> {
        self.write(move |mut client| async move {
            bots::ensure_bot_tokens(&mut client, &bots, now).await
        })
    }

    fn create_api_token(
        &self,
        account: UserId,
        name: String,
        token_hash: TokenHash,
        now: u64,
    ) -> StoreFuture<ApiTokenRecord> {
        let name = bounded_label(name);
        self.write(move |client| async move {
            credentials::create_api_token(&client, account, name, &token_hash, now).await
        })
    }

    fn api_token_by_hash(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(ApiTokenRecord, Account)>> {
        self.read(move |client| async move {
            credentials::api_token_by_hash(&client, &token_hash).await
        })
    }

    fn api_tokens_of(&self, account: UserId) -> StoreFuture<Vec<ApiTokenRecord>> {
        self.read(move |client| async move { credentials::api_tokens_of(&client, account).await })
    }

    fn revoke_api_token(&self, account: UserId, id: ApiTokenId) -> StoreFuture<bool> {
        self.write(move |client| async move {
            credentials::revoke_api_token(&client, account, id).await
        })
    }

    fn touch_api_token(&self, id: ApiTokenId, now: u64) -> StoreFuture<()> {
        self.write(
            move |client| async move { credentials::touch_api_token(&client, id, now).await },
        )
    }

    fn create_link(&self, link: NewLink) -> StoreFuture<LinkRecord> {
        self.write(move |client| async move { links::create_link(&client, link).await })
    }

    fn links(&self, kind: LinkKind) -> StoreFuture<Vec<LinkRecord>> {
        self.read(move |client| async move { links::links(&client, kind).await })
    }

    fn revoke_link(&self, id: LinkId) -> StoreFuture<bool> {
        self.write(move |client| async move { links::revoke_link(&client, id).await })
    }

    fn link_by_token(&self, token_hash: TokenHash, now: u64) -> StoreFuture<Option<LinkRecord>> {
        self.read(
            move |client| async move { links::link_by_token(&client, &token_hash, now).await },
        )
    }

    fn sign_up_with_invite(
        &self,
        invite: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account> {
        self.write(move |mut client| async move {
            links::sign_up_with_invite(&mut client, &invite, account, now).await
        })
    }

    fn reset_password_with_link(
        &self,
        reset_link: TokenHash,
        password_hash: String,
        now: u64,
    ) -> StoreFuture<(UserId, Vec<SessionId>)> {
        self.write(move |mut client| async move {
            links::reset_password_with_link(&mut client, &reset_link, &password_hash, now).await
        })
    }
}
