//! Getting in and out: the first-run setup, signing in and out, signing
//! up, and resetting a password with a link.

use super::{me_of, now_ms, Accounts, AccountsError, Credential, Identity};
use crate::auth::Token;
use crate::store::accounts::{Account, LinkKind, NewAccount, NewLink, NewSession};
use common::api::accounts::{Me, SignupMode};
use common::{AccountKind, AccountState, DisplayName, Password, Role, Username};
use std::net::IpAddr;
use std::time::Instant;

/// A session just opened: the account, and the token for its cookie
/// (shown to nobody else, stored only as its hash).
#[derive(Debug)]
pub struct Opened {
    /// The signed-in account.
    pub me: Me,
    /// The session token.
    pub token: Token,
}

/// Who is signing in or up, and from where.
#[derive(Debug, Clone)]
pub struct Device {
    /// The client's address (throttling).
    pub address: IpAddr,
    /// What the person will see in their list of sessions (the
    /// `User-Agent`).
    pub label: String,
}

/// A new person's account, as the setup and sign-up forms give it. No
/// `Debug`: it holds a password.
pub struct Newcomer {
    /// The username.
    pub username: Username,
    /// The display name.
    pub display_name: DisplayName,
    /// The password (not yet checked against its rules).
    pub password: String,
}

impl Accounts {
    /// At start: when no account exists, makes a fresh setup link (and
    /// revokes older ones) and returns it, to be printed on standard
    /// output (it is a secret: never logged). `None` when accounts exist.
    pub async fn setup_link_if_needed(&self) -> Result<Option<String>, AccountsError> {
        if self.store.count_accounts().await? > 0 {
            return Ok(None);
        }
        for link in self.store.links(LinkKind::Setup).await? {
            if !link.revoked {
                self.store.revoke_link(link.id).await?;
            }
        }
        let token = Token::generate();
        self.store
            .create_link(NewLink {
                kind: LinkKind::Setup,
                token_hash: *token.hash().as_bytes(),
                created_by: None,
                account: None,
                expires_ms: None,
                max_uses: Some(1),
                now: now_ms(),
            })
            .await?;
        Ok(Some(self.settings.link(LinkKind::Setup, &token)))
    }

    /// Whether no account exists yet (`GET /api/server`).
    pub async fn setup_needed(&self) -> Result<bool, AccountsError> {
        Ok(self.store.count_accounts().await? == 0)
    }

    /// `POST /api/setup`: the first administrator, with the setup link's
    /// token; signed in at once.
    pub async fn setup(
        &self,
        token: &str,
        newcomer: Newcomer,
        device: &Device,
    ) -> Result<Opened, AccountsError> {
        let token = Token::parse(token).map_err(|_| AccountsError::LinkInvalid)?;
        let account = self.new_person(newcomer, Role::Admin).await?;
        let account = self
            .store
            .create_first_admin(*token.hash().as_bytes(), account, now_ms())
            .await?;
        tracing::info!(user = account.id, username = %account.username, "first administrator created");
        self.open_session(&account, device).await
    }

    /// `POST /api/session`: signs in with a username and a password.
    ///
    /// Throttled per username and per address before any password is
    /// checked; an unknown username, a bot, a deactivated account or an
    /// account without a password cost one verification like a wrong
    /// password and get the same answer, [`AccountsError::InvalidCredentials`].
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        device: &Device,
    ) -> Result<Opened, AccountsError> {
        self.throttle
            .check(username, device.address, Instant::now())
            .map_err(|retry| AccountsError::RateLimited(retry.0))?;
        // A place in the hashing pool first: while the pool is full (a
        // storm of sign-ins), the refusal costs no read of the database.
        // Every sign-in takes one, whoever it names.
        let place = self.hasher.place()?;
        let account = match Username::parse(username) {
            Ok(username) => self.store.account_by_username(&username).await?,
            Err(_) => None,
        };
        let usable = account.filter(|account| {
            account.kind == AccountKind::Person && account.state == AccountState::Active
        });
        let verified = match usable.as_ref().and_then(|a| a.password_hash.as_deref()) {
            Some(hash) => place.verify(hash, password).await?,
            None => place.verify_unknown_user(password).await?,
        };
        match usable {
            Some(account) if verified => {
                self.throttle.record_success(username);
                self.open_session(&account, device).await
            }
            _ => {
                self.throttle
                    .record_failure(username, device.address, Instant::now());
                Err(AccountsError::InvalidCredentials)
            }
        }
    }

    /// `DELETE /api/session`: ends the caller's session (an API token is
    /// not a session: it is revoked from the list of tokens instead).
    pub async fn sign_out(&self, caller: &Identity) -> Result<(), AccountsError> {
        let Credential::Session(session) = caller.credential else {
            return Err(AccountsError::BadRequest(
                "an API token does not sign out; revoke it instead",
            ));
        };
        if self.store.end_session(caller.user_id, session).await? {
            self.events.sessions_ended(vec![session]);
        }
        Ok(())
    }

    /// `POST /api/signup`: a new member, as `--signup` allows: with a usable
    /// invite (`invite`), by anyone (`open`), or never (`closed`).
    pub async fn sign_up(
        &self,
        invite: Option<&str>,
        newcomer: Newcomer,
        device: &Device,
    ) -> Result<Opened, AccountsError> {
        let account = match self.settings.signup {
            SignupMode::Closed => {
                return Err(AccountsError::SignupClosed(
                    "this server does not let people sign up; ask an administrator",
                ))
            }
            SignupMode::Open => {
                let account = self.new_person(newcomer, Role::Member).await?;
                self.store.create_account(account, now_ms()).await?
            }
            SignupMode::Invite => {
                let Some(invite) = invite else {
                    return Err(AccountsError::SignupClosed(
                        "signing up on this server needs an invite link",
                    ));
                };
                let invite = Token::parse(invite).map_err(|_| AccountsError::LinkInvalid)?;
                let account = self.new_person(newcomer, Role::Member).await?;
                self.store
                    .sign_up_with_invite(*invite.hash().as_bytes(), account, now_ms())
                    .await?
            }
        };
        tracing::info!(user = account.id, username = %account.username, "account signed up");
        self.open_session(&account, device).await
    }

    /// `POST /api/password-reset`: a new password with a reset link; every
    /// session of the account ends.
    pub async fn reset_password(&self, token: &str, password: &str) -> Result<(), AccountsError> {
        let token = Token::parse(token).map_err(|_| AccountsError::LinkInvalid)?;
        // The password's rules first, so that a weak one does not use the
        // link up.
        Password::parse(password)?;
        if self
            .store
            .link_by_token(*token.hash().as_bytes(), now_ms())
            .await?
            .is_none_or(|link| link.kind != LinkKind::Reset)
        {
            return Err(AccountsError::LinkInvalid);
        }
        let hash = self.hash(password).await?;
        let (user, ended) = self
            .store
            .reset_password_with_link(*token.hash().as_bytes(), hash, now_ms())
            .await?;
        tracing::info!(user, "password reset with a link");
        self.events.sessions_ended(ended);
        Ok(())
    }

    /// A person's new account, with the password hashed.
    async fn new_person(
        &self,
        newcomer: Newcomer,
        role: Role,
    ) -> Result<NewAccount, AccountsError> {
        Ok(NewAccount {
            username: newcomer.username,
            display_name: newcomer.display_name,
            role,
            kind: AccountKind::Person,
            password_hash: Some(self.hash(&newcomer.password).await?),
        })
    }

    /// A new session of `account`, from `device`.
    async fn open_session(
        &self,
        account: &Account,
        device: &Device,
    ) -> Result<Opened, AccountsError> {
        let token = Token::generate();
        self.store
            .create_session(NewSession {
                account: account.id,
                token_hash: *token.hash().as_bytes(),
                device: device.label.clone(),
                now: now_ms(),
            })
            .await?;
        Ok(Opened {
            me: me_of(account),
            token,
        })
    }
}
