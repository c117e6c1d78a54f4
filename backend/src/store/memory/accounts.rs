//! [`AccountStore`] in memory (`--db :memory:`): the same contract as the
//! databases', gone when the process ends.
//!
//! Every method runs under one lock and checks everything before it
//! changes anything, which is what a transaction gives the databases: a
//! method that fails leaves the tables as they were.

use super::{ready, MemoryStore};
use crate::store::accounts::{
    bounded_label, check_may_have_password, check_new_account, checked_link, no_account,
    no_active_account, setup_done, usable_link, username_taken, Account, AccountStore, ApiTokenId,
    ApiTokenRecord, BotToken, BotTokensEnsured, LinkId, LinkKind, LinkRecord, NewAccount, NewLink,
    NewSession, SessionId, SessionRecord, TokenHash,
};
use crate::store::{ErrorKind, StoreError, StoreFuture};
use common::{AccountState, DisplayName, Role, UserId, Username};
use std::collections::{BTreeMap, HashMap};

mod bots;

/// The tables, as the databases have them. Ids count from 1 and are never
/// reused; each token digest has an index, as in the databases.
#[derive(Default)]
pub(super) struct Tables {
    /// Account `id` is at `id - 1`: accounts are never deleted.
    accounts: Vec<Account>,
    /// The index of usernames (lower case, as stored), as the databases
    /// have one: a hundred thousand bots made in bulk must not cost a scan
    /// of every account each.
    usernames: HashMap<Username, UserId>,
    sessions: BTreeMap<SessionId, (TokenHash, SessionRecord)>,
    session_tokens: HashMap<TokenHash, SessionId>,
    last_session: SessionId,
    api_tokens: BTreeMap<ApiTokenId, (TokenHash, ApiTokenRecord)>,
    api_token_hashes: HashMap<TokenHash, ApiTokenId>,
    last_api_token: ApiTokenId,
    links: BTreeMap<LinkId, (TokenHash, LinkRecord)>,
    link_tokens: HashMap<TokenHash, LinkId>,
    last_link: LinkId,
}

/// The error a second use of a token digest gets, as a unique index gives.
fn digest_taken() -> StoreError {
    StoreError::new(ErrorKind::Conflict, "this token digest is stored already")
}

impl Tables {
    fn account(&self, id: UserId) -> Option<&Account> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.accounts.get(index)
    }

    fn account_mut(&mut self, id: UserId) -> Result<&mut Account, StoreError> {
        let index = id
            .checked_sub(1)
            .and_then(|index| usize::try_from(index).ok());
        index
            .and_then(|index| self.accounts.get_mut(index))
            .ok_or_else(|| no_account(id))
    }

    fn account_by_username(&self, username: &Username) -> Option<&Account> {
        self.account(*self.usernames.get(username)?)
    }

    fn active_account(&self, id: UserId) -> Option<&Account> {
        self.account(id)
            .filter(|account| account.state == AccountState::Active)
    }

    fn insert_account(&mut self, account: NewAccount, now: u64) -> Result<Account, StoreError> {
        check_new_account(&account)?;
        if self.usernames.contains_key(&account.username) {
            return Err(username_taken(&account.username));
        }
        let created = Account {
            id: self.accounts.len() as UserId + 1,
            username: account.username,
            display_name: account.display_name,
            role: account.role,
            kind: account.kind,
            state: AccountState::Active,
            password_hash: account.password_hash,
            created_ms: now,
        };
        self.usernames.insert(created.username.clone(), created.id);
        self.accounts.push(created.clone());
        Ok(created)
    }

    /// The link of `token_hash`, usable at `now` as a link of `kind`.
    fn usable_link(
        &self,
        token_hash: &TokenHash,
        kind: LinkKind,
        now: u64,
    ) -> Result<LinkId, StoreError> {
        let found = self
            .link_tokens
            .get(token_hash)
            .and_then(|id| self.links.get(id))
            .map(|(_, link)| link.clone());
        Ok(usable_link(found, kind, now)?.id)
    }

    fn use_link(&mut self, id: LinkId) {
        if let Some((_, link)) = self.links.get_mut(&id) {
            link.uses += 1;
        }
    }

    /// Sets a person's password hash and ends the account's sessions but
    /// `keep`; the ended sessions' ids.
    fn change_password(
        &mut self,
        id: UserId,
        password_hash: String,
        keep: Option<SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let account = self.account_mut(id)?;
        check_may_have_password(account)?;
        account.password_hash = Some(password_hash);
        Ok(self.end_sessions_where(|session| session.account == id && Some(session.id) != keep))
    }

    /// Ends every session `ends` picks; their ids, in order.
    fn end_sessions_where(&mut self, ends: impl Fn(&SessionRecord) -> bool) -> Vec<SessionId> {
        let ended: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|(_, session)| ends(session))
            .map(|(_, session)| session.id)
            .collect();
        for id in &ended {
            if let Some((hash, _)) = self.sessions.remove(id) {
                self.session_tokens.remove(&hash);
            }
        }
        ended
    }
}

impl MemoryStore {
    /// Runs `change` on the tables, unless the store was closed.
    fn change<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Tables) -> Result<T, StoreError>,
    ) -> StoreFuture<T> {
        self.change_in(Self::tables, change)
    }

    /// Reads the tables.
    fn look<T: Send + 'static>(&self, look: impl FnOnce(&Tables) -> T) -> StoreFuture<T> {
        ready(Ok(look(&self.tables())))
    }
}

impl AccountStore for MemoryStore {
    fn create_account(&self, account: NewAccount, now: u64) -> StoreFuture<Account> {
        self.change(|tables| tables.insert_account(account, now))
    }

    fn create_first_admin(
        &self,
        setup_link: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account> {
        self.change(|tables| {
            let link = tables.usable_link(&setup_link, LinkKind::Setup, now)?;
            if !tables.accounts.is_empty() {
                return Err(setup_done());
            }
            let admin = NewAccount {
                role: Role::Admin,
                ..account
            };
            let created = tables.insert_account(admin, now)?;
            tables.use_link(link);
            Ok(created)
        })
    }

    fn account(&self, id: UserId) -> StoreFuture<Option<Account>> {
        self.look(|tables| tables.account(id).cloned())
    }

    fn account_by_username(&self, username: &Username) -> StoreFuture<Option<Account>> {
        self.look(|tables| tables.account_by_username(username).cloned())
    }

    fn accounts(&self) -> StoreFuture<Vec<Account>> {
        self.look(|tables| tables.accounts.clone())
    }

    fn count_accounts(&self) -> StoreFuture<u64> {
        self.look(|tables| tables.accounts.len() as u64)
    }

    fn set_display_name(&self, id: UserId, display_name: DisplayName) -> StoreFuture<Account> {
        self.change(|tables| {
            let account = tables.account_mut(id)?;
            account.display_name = display_name;
            Ok(account.clone())
        })
    }

    fn set_password_hash(
        &self,
        id: UserId,
        password_hash: String,
        keep_session: Option<SessionId>,
    ) -> StoreFuture<Vec<SessionId>> {
        self.change(|tables| tables.change_password(id, password_hash, keep_session))
    }

    fn set_role(&self, id: UserId, role: Role) -> StoreFuture<Account> {
        self.change(|tables| {
            let account = tables.account_mut(id)?;
            account.role = role;
            Ok(account.clone())
        })
    }

    fn set_state(&self, id: UserId, state: AccountState) -> StoreFuture<Vec<SessionId>> {
        self.change(|tables| {
            tables.account_mut(id)?.state = state;
            Ok(match state {
                AccountState::Active => Vec::new(),
                AccountState::Deactivated => {
                    tables.end_sessions_where(|session| session.account == id)
                }
            })
        })
    }

    fn create_session(&self, session: NewSession) -> StoreFuture<SessionRecord> {
        self.change(|tables| {
            if tables.active_account(session.account).is_none() {
                return Err(no_active_account(session.account));
            }
            if tables.session_tokens.contains_key(&session.token_hash) {
                return Err(digest_taken());
            }
            tables.last_session += 1;
            let record = SessionRecord {
                id: tables.last_session,
                account: session.account,
                device: bounded_label(session.device),
                created_ms: session.now,
                last_seen_ms: session.now,
            };
            tables.session_tokens.insert(session.token_hash, record.id);
            tables
                .sessions
                .insert(record.id, (session.token_hash, record.clone()));
            Ok(record)
        })
    }

    fn session_by_token(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(SessionRecord, Account)>> {
        self.look(|tables| {
            let (_, session) = tables
                .session_tokens
                .get(&token_hash)
                .and_then(|id| tables.sessions.get(id))?;
            let account = tables.active_account(session.account)?;
            Some((session.clone(), account.clone()))
        })
    }

    fn touch_session(&self, id: SessionId, now: u64) -> StoreFuture<()> {
        self.change(|tables| {
            if let Some((_, session)) = tables.sessions.get_mut(&id) {
                session.last_seen_ms = session.last_seen_ms.max(now);
            }
            Ok(())
        })
    }

    fn sessions_of(&self, account: UserId) -> StoreFuture<Vec<SessionRecord>> {
        self.look(|tables| {
            tables
                .sessions
                .values()
                .filter(|(_, session)| session.account == account)
                .map(|(_, session)| session.clone())
                .collect()
        })
    }

    fn end_session(&self, account: UserId, id: SessionId) -> StoreFuture<bool> {
        self.change(|tables| {
            let ended =
                tables.end_sessions_where(|session| session.id == id && session.account == account);
            Ok(!ended.is_empty())
        })
    }

    fn end_sessions_idle_since(&self, cutoff_ms: u64) -> StoreFuture<Vec<(SessionId, UserId)>> {
        self.change(|tables| {
            let idle: HashMap<SessionId, UserId> = tables
                .sessions
                .values()
                .filter(|(_, session)| session.last_seen_ms < cutoff_ms)
                .map(|(_, session)| (session.id, session.account))
                .collect();
            let ended = tables.end_sessions_where(|session| idle.contains_key(&session.id));
            Ok(ended.into_iter().map(|id| (id, idle[&id])).collect())
        })
    }

    fn ensure_bot_tokens(&self, bots: Vec<BotToken>, now: u64) -> StoreFuture<BotTokensEnsured> {
        self.change(|tables| tables.ensure_bot_tokens(&bots, now))
    }

    fn create_api_token(
        &self,
        account: UserId,
        name: String,
        token_hash: TokenHash,
        now: u64,
    ) -> StoreFuture<ApiTokenRecord> {
        self.change(|tables| {
            if tables.account(account).is_none() {
                return Err(no_account(account));
            }
            if tables.api_token_hashes.contains_key(&token_hash) {
                return Err(digest_taken());
            }
            tables.last_api_token += 1;
            let record = ApiTokenRecord {
                id: tables.last_api_token,
                account,
                name: bounded_label(name),
                created_ms: now,
                last_used_ms: None,
            };
            tables.api_token_hashes.insert(token_hash, record.id);
            tables
                .api_tokens
                .insert(record.id, (token_hash, record.clone()));
            Ok(record)
        })
    }

    fn api_token_by_hash(
        &self,
        token_hash: TokenHash,
    ) -> StoreFuture<Option<(ApiTokenRecord, Account)>> {
        self.look(|tables| {
            let (_, token) = tables
                .api_token_hashes
                .get(&token_hash)
                .and_then(|id| tables.api_tokens.get(id))?;
            let account = tables.active_account(token.account)?;
            Some((token.clone(), account.clone()))
        })
    }

    fn api_tokens_of(&self, account: UserId) -> StoreFuture<Vec<ApiTokenRecord>> {
        self.look(|tables| {
            tables
                .api_tokens
                .values()
                .filter(|(_, token)| token.account == account)
                .map(|(_, token)| token.clone())
                .collect()
        })
    }

    fn revoke_api_token(&self, account: UserId, id: ApiTokenId) -> StoreFuture<bool> {
        self.change(|tables| {
            let owned = tables
                .api_tokens
                .get(&id)
                .is_some_and(|(_, token)| token.account == account);
            if owned {
                if let Some((hash, _)) = tables.api_tokens.remove(&id) {
                    tables.api_token_hashes.remove(&hash);
                }
            }
            Ok(owned)
        })
    }

    fn touch_api_token(&self, id: ApiTokenId, now: u64) -> StoreFuture<()> {
        self.change(|tables| {
            if let Some((_, token)) = tables.api_tokens.get_mut(&id) {
                token.last_used_ms = Some(token.last_used_ms.unwrap_or(0).max(now));
            }
            Ok(())
        })
    }

    fn create_link(&self, link: NewLink) -> StoreFuture<LinkRecord> {
        self.change(|tables| {
            let link = checked_link(link)?;
            for id in [link.created_by, link.account].into_iter().flatten() {
                if tables.account(id).is_none() {
                    return Err(no_account(id));
                }
            }
            if tables.link_tokens.contains_key(&link.token_hash) {
                return Err(digest_taken());
            }
            tables.last_link += 1;
            let record = LinkRecord {
                id: tables.last_link,
                kind: link.kind,
                created_by: link.created_by,
                account: link.account,
                created_ms: link.now,
                expires_ms: link.expires_ms,
                max_uses: link.max_uses,
                uses: 0,
                revoked: false,
            };
            tables.link_tokens.insert(link.token_hash, record.id);
            tables
                .links
                .insert(record.id, (link.token_hash, record.clone()));
            Ok(record)
        })
    }

    fn links(&self, kind: LinkKind) -> StoreFuture<Vec<LinkRecord>> {
        self.look(|tables| {
            tables
                .links
                .values()
                .filter(|(_, link)| link.kind == kind)
                .map(|(_, link)| link.clone())
                .collect()
        })
    }

    fn revoke_link(&self, id: LinkId) -> StoreFuture<bool> {
        self.change(|tables| {
            Ok(match tables.links.get_mut(&id) {
                Some((_, link)) if !link.revoked => {
                    link.revoked = true;
                    true
                }
                _ => false,
            })
        })
    }

    fn link_by_token(&self, token_hash: TokenHash, now: u64) -> StoreFuture<Option<LinkRecord>> {
        self.look(|tables| {
            let (_, link) = tables
                .link_tokens
                .get(&token_hash)
                .and_then(|id| tables.links.get(id))?;
            link.is_usable(now).then(|| link.clone())
        })
    }

    fn sign_up_with_invite(
        &self,
        invite: TokenHash,
        account: NewAccount,
        now: u64,
    ) -> StoreFuture<Account> {
        self.change(|tables| {
            let link = tables.usable_link(&invite, LinkKind::Invite, now)?;
            let created = tables.insert_account(account, now)?;
            tables.use_link(link);
            Ok(created)
        })
    }

    fn reset_password_with_link(
        &self,
        reset_link: TokenHash,
        password_hash: String,
        now: u64,
    ) -> StoreFuture<(UserId, Vec<SessionId>)> {
        self.change(|tables| {
            let link = tables.usable_link(&reset_link, LinkKind::Reset, now)?;
            let id = tables
                .links
                .get(&link)
                .and_then(|(_, link)| link.account)
                .ok_or_else(|| StoreError::corrupt(format!("reset link {link} has no account")))?;
            let ended = tables.change_password(id, password_hash, None)?;
            tables.use_link(link);
            Ok((id, ended))
        })
    }
}
