//! [`AccountStore`] on the SQLite file: the schema of migration 3, the
//! statements for accounts, and the trait's methods; sessions and API
//! tokens are in `credentials`, one-time links in `links`.
//!
//! Writes are jobs of the writer thread (`SqliteStore::write`), each in
//! its own transaction on the only connection that writes, so they are
//! serialized with each other and with posts: a method that checks and
//! then writes (a link's uses, "no account yet") cannot race another.
//! Reads use the read-only connections, which see every committed write.

use super::bots;
use super::credentials::{self, END_SESSIONS_BUT};
use super::links;
use super::SqliteStore;
use crate::store::accounts::{
    bounded_label, check_may_have_password, check_new_account, no_account, taken_or, Account,
    AccountStore, ApiTokenId, ApiTokenRecord, BotToken, BotTokensEnsured, LinkId, LinkKind,
    LinkRecord, NewAccount, NewLink, NewSession, SessionId, SessionRecord, TokenHash,
};
use crate::store::{StoreError, StoreFuture};
use common::{AccountState, DisplayName, Role, UserId, Username};
use rusqlite::{params, Connection, Params, Row};

/// Migration 3: the tables of accounts, sessions, API tokens and links.
///
/// Ids are `AUTOINCREMENT`, so never reused: a session id a caller still
/// holds never names another session. Token digests are unique; every
/// look-up has its index. Usernames are unique by their lowered form (the
/// store keeps them lower case already; the index holds whatever is
/// written).
pub(super) const MIGRATION_3: &str = "
    CREATE TABLE accounts (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        username      TEXT    NOT NULL,
        display_name  TEXT    NOT NULL,
        role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
        kind          TEXT    NOT NULL CHECK (kind IN ('person', 'bot')),
        state         TEXT    NOT NULL CHECK (state IN ('active', 'deactivated')),
        password_hash TEXT,
        created_ms    INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX accounts_by_username ON accounts (lower(username));
    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        account      INTEGER NOT NULL REFERENCES accounts (id),
        token_hash   BLOB    NOT NULL CHECK (length(token_hash) = 32),
        device       TEXT    NOT NULL,
        created_ms   INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX sessions_by_token ON sessions (token_hash);
    CREATE INDEX sessions_by_account ON sessions (account);
    CREATE INDEX sessions_by_last_seen ON sessions (last_seen_ms);
    CREATE TABLE api_tokens (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        account      INTEGER NOT NULL REFERENCES accounts (id),
        name         TEXT    NOT NULL,
        token_hash   BLOB    NOT NULL CHECK (length(token_hash) = 32),
        created_ms   INTEGER NOT NULL,
        last_used_ms INTEGER
    );
    CREATE UNIQUE INDEX api_tokens_by_token ON api_tokens (token_hash);
    CREATE INDEX api_tokens_by_account ON api_tokens (account);
    CREATE TABLE links (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT    NOT NULL CHECK (kind IN ('setup', 'invite', 'reset')),
        token_hash BLOB    NOT NULL CHECK (length(token_hash) = 32),
        created_by INTEGER REFERENCES accounts (id),
        account    INTEGER REFERENCES accounts (id),
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER,
        max_uses   INTEGER,
        uses       INTEGER NOT NULL DEFAULT 0,
        revoked    INTEGER NOT NULL DEFAULT 0
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
    VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6)
    RETURNING id";
const ACCOUNT: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE id = ?1"
);
/// Uses the index `accounts_by_username`.
const ACCOUNT_BY_USERNAME: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE lower(username) = ?1"
);
const ACCOUNTS: &str = concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY id");
const COUNT_ACCOUNTS: &str = "SELECT count(*) FROM accounts";
const SET_DISPLAY_NAME: &str = concat!(
    "UPDATE accounts SET display_name = ?2 WHERE id = ?1 RETURNING ",
    account_columns!()
);
const SET_ROLE: &str = concat!(
    "UPDATE accounts SET role = ?2 WHERE id = ?1 RETURNING ",
    account_columns!()
);
const SET_STATE: &str = "UPDATE accounts SET state = ?2 WHERE id = ?1";
const SET_PASSWORD_HASH: &str = "UPDATE accounts SET password_hash = ?2 WHERE id = ?1";

/// The rows of `sql` with `params`, each made a value by `map`.
pub(super) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut values = Vec::new();
    while let Some(row) = rows.next()? {
        values.push(map(row)?);
    }
    Ok(values)
}

/// The first row of `sql` with `params`, if any, made a value by `map`.
pub(super) fn query_first<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    rows.next()?.map(map).transpose()
}

/// The account in the columns of `row` from `first` on (in the order of
/// `account_columns!`).
pub(super) fn account_from_row(row: &Row<'_>, first: usize) -> Result<Account, StoreError> {
    let corrupt = |what: &str, err: &dyn std::fmt::Display| {
        StoreError::corrupt(format!("account {what}: {err}"))
    };
    Ok(Account {
        id: row.get(first)?,
        username: Username::parse(row.get::<_, String>(first + 1)?)
            .map_err(|err| corrupt("username", &err))?,
        display_name: DisplayName::parse(row.get::<_, String>(first + 2)?)
            .map_err(|err| corrupt("display name", &err))?,
        role: row
            .get::<_, String>(first + 3)?
            .parse()
            .map_err(|err| corrupt("role", &err))?,
        kind: row
            .get::<_, String>(first + 4)?
            .parse()
            .map_err(|err| corrupt("kind", &err))?,
        state: row
            .get::<_, String>(first + 5)?
            .parse()
            .map_err(|err| corrupt("state", &err))?,
        password_hash: row.get(first + 6)?,
        created_ms: row.get(first + 7)?,
    })
}

pub(super) fn count_accounts(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(COUNT_ACCOUNTS)?
        .query_row([], |row| row.get(0))?)
}

fn account_by_id(conn: &Connection, id: UserId) -> Result<Option<Account>, StoreError> {
    query_first(conn, ACCOUNT, [id], |row| account_from_row(row, 0))
}

/// Stores `account`, active, made at `now`; a taken username is a
/// conflict that says so.
pub(super) fn insert_account(
    conn: &Connection,
    account: NewAccount,
    now: u64,
) -> Result<Account, StoreError> {
    check_new_account(&account)?;
    let inserted = conn.prepare_cached(INSERT_ACCOUNT)?.query_row(
        params![
            account.username.as_str(),
            account.display_name.as_str(),
            account.role.as_str(),
            account.kind.as_str(),
            account.password_hash,
            now,
        ],
        |row| row.get(0),
    );
    let id = match inserted {
        Ok(id) => id,
        Err(err) => return Err(taken_or(err.into(), &account.username)),
    };
    Ok(Account {
        id,
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
pub(super) fn change_password(
    conn: &Connection,
    id: UserId,
    password_hash: &str,
    keep: Option<SessionId>,
) -> Result<Vec<SessionId>, StoreError> {
    let account = account_by_id(conn, id)?.ok_or_else(|| no_account(id))?;
    check_may_have_password(&account)?;
    conn.prepare_cached(SET_PASSWORD_HASH)?
        .execute(params![id, password_hash])?;
    end_sessions_but(conn, id, keep)
}

/// Ends the sessions of `account` but `keep` (all when `None`); their ids.
fn end_sessions_but(
    conn: &Connection,
    account: UserId,
    keep: Option<SessionId>,
) -> Result<Vec<SessionId>, StoreError> {
    let mut ended = query_all(conn, END_SESSIONS_BUT, params![account, keep], |row| {
        Ok(row.get(0)?)
    })?;
    ended.sort_unstable();
    Ok(ended)
}

impl AccountStore for SqliteStore {
    fn create_account(&self, account: NewAccount, now: u64) -> StoreFuture<Account> {
        self.write(move |conn| insert_account(conn, account, now))
    }

    fn create_first_admin(
        &self,
        setup_link: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account> {
        self.write(move |conn| links::create_first_admin(conn, &setup_link, account, now))
    }

    fn account(&self, id: UserId) -> StoreFuture<Option<Account>> {
        self.read(move |conn| account_by_id(conn, id))
    }

    fn account_by_username(&self, username: &Username) -> StoreFuture<Option<Account>> {
        let username = username.clone();
        self.read(move |conn| {
            query_first(conn, ACCOUNT_BY_USERNAME, [username.as_str()], |row| {
                account_from_row(row, 0)
            })
        })
    }

    fn accounts(&self) -> StoreFuture<Vec<Account>> {
        self.read(|conn| query_all(conn, ACCOUNTS, [], |row| account_from_row(row, 0)))
    }

    fn count_accounts(&self) -> StoreFuture<u64> {
        self.read(count_accounts)
    }

    fn set_display_name(&self, id: UserId, display_name: DisplayName) -> StoreFuture<Account> {
        self.write(move |conn| {
            query_first(
                conn,
                SET_DISPLAY_NAME,
                params![id, display_name.as_str()],
                |row| account_from_row(row, 0),
            )?
            .ok_or_else(|| no_account(id))
        })
    }

    fn set_password_hash(
        &self,
        id: UserId,
        password_hash: String,
        keep_session: Option<SessionId>,
    ) -> StoreFuture<Vec<SessionId>> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let ended = change_password(&tx, id, &password_hash, keep_session)?;
            tx.commit()?;
            Ok(ended)
        })
    }

    fn set_role(&self, id: UserId, role: Role) -> StoreFuture<Account> {
        self.write(move |conn| {
            query_first(conn, SET_ROLE, params![id, role.as_str()], |row| {
                account_from_row(row, 0)
            })?
            .ok_or_else(|| no_account(id))
        })
    }

    fn set_state(&self, id: UserId, state: AccountState) -> StoreFuture<Vec<SessionId>> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            if tx
                .prepare_cached(SET_STATE)?
                .execute(params![id, state.as_str()])?
                == 0
            {
                return Err(no_account(id));
            }
            let ended = match state {
                AccountState::Active => Vec::new(),
                AccountState::Deactivated => end_sessions_but(&tx, id, None)?,
            };
            tx.commit()?;
            Ok(ended)
        })
    }

    fn create_session(&self, session: NewSession) -> StoreFuture<SessionRecord> {
        self.write(move |conn| credentials::create_session(conn, session))
    }

    fn session_by_token(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(SessionRecord, Account)>> {
        self.read(move |conn| credentials::session_by_token(conn, &token_hash))
    }

    fn touch_session(&self, id: SessionId, now: u64) -> StoreFuture<()> {
        self.write(move |conn| credentials::touch_session(conn, id, now))
    }

    fn sessions_of(&self, account: UserId) -> StoreFuture<Vec<SessionRecord>> {
        self.read(move |conn| credentials::sessions_of(conn, account))
    }

    fn end_session(&self, account: UserId, id: SessionId) -> StoreFuture<bool> {
        self.write(move |conn| credentials::end_session(conn, account, id))
    }

    fn end_sessions_idle_since(&self, cutoff_ms: u64) -> StoreFuture<Vec<(SessionId, UserId)>> {
        self.write(move |conn| credentials::end_sessions_idle_since(conn, cutoff_ms))
    }

    fn ensure_bot_tokens(&self, bots: Vec<BotToken>, now: u64) -> StoreFuture<BotTokensEnsured> {
        self.write(move |conn| bots::ensure_bot_tokens(conn, &bots, now))
    }

    fn create_api_token(
        &self,
        account: UserId,
        name: String,
        token_hash: TokenHash,
        now: u64,
    ) -> StoreFuture<ApiTokenRecord> {
        let name = bounded_label(name);
        self.write(move |conn| credentials::create_api_token(conn, account, name, &token_hash, now))
    }

    fn api_token_by_hash(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(ApiTokenRecord, Account)>> {
        self.read(move |conn| credentials::api_token_by_hash(conn, &token_hash))
    }

    fn api_tokens_of(&self, account: UserId) -> StoreFuture<Vec<ApiTokenRecord>> {
        self.read(move |conn| credentials::api_tokens_of(conn, account))
    }

    fn revoke_api_token(&self, account: UserId, id: ApiTokenId) -> StoreFuture<bool> {
        self.write(move |conn| credentials::revoke_api_token(conn, account, id))
    }

    fn touch_api_token(&self, id: ApiTokenId, now: u64) -> StoreFuture<()> {
        self.write(move |conn| credentials::touch_api_token(conn, id, now))
    }

    fn create_link(&self, link: NewLink) -> StoreFuture<LinkRecord> {
        self.write(move |conn| links::create_link(conn, link))
    }

    fn links(&self, kind: LinkKind) -> StoreFuture<Vec<LinkRecord>> {
        self.read(move |conn| links::links(conn, kind))
    }

    fn revoke_link(&self, id: LinkId) -> StoreFuture<bool> {
        self.write(move |conn| links::revoke_link(conn, id))
    }

    fn link_by_token(&self, token_hash: TokenHash, now: u64) -> StoreFuture<Option<LinkRecord>> {
        self.read(move |conn| links::link_by_token(conn, &token_hash, now))
    }

    fn sign_up_with_invite(
        &self,
        invite: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account> {
        self.write(move |conn| links::sign_up_with_invite(conn, &invite, account, now))
    }

    fn reset_password_with_link(
        &self,
        reset_link: TokenHash,
        password_hash: String,
        now: u64,
    ) -> StoreFuture<(UserId, Vec<SessionId>)> {
        self.write(move |conn| {
            links::reset_password_with_link(conn, &reset_link, &password_hash, now)
        })
    }
}
