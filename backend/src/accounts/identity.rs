//! Who a request comes from. Every route that needs a signed-in caller and
//! the WebSocket upgrade call [`authenticate`], so the rules are in one
//! place:
//!
//! - `Authorization: Bearer <token>` is an API token (`chat_…` or bare) or
//!   a session token; when the header is there, it alone decides (a wrong
//!   one is not rescued by a cookie).
//! - Otherwise the `chat_session` cookie ([`crate::auth::cookie`]) names a
//!   session.
//! - A session unused for [`SESSION_IDLE_EXPIRY`] has expired: it is ended
//!   and the caller is anonymous. Its "last seen" (and an API token's "last
//!   used") is written when [`SESSION_TOUCH_INTERVAL`] or more passed since
//!   the last write, not on every request.
//! - Only active accounts are returned (the store checks it too).
//!
//! Nothing here logs a token.

use crate::auth::cookie::{bearer_token, session_token};
use crate::auth::{Token, SESSION_IDLE_EXPIRY, SESSION_TOUCH_INTERVAL};
use crate::store::accounts::{Account, ApiTokenId, SessionId};
use crate::store::{AccountStore, StoreError};
use axum::http::HeaderMap;
use common::account::{AccountKind, AccountState, Role, UserId, Username};
use common::DisplayName;

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A session (a signed-in browser, or its token as a bearer).
    Session(SessionId),
    /// An API token (a bot or a script).
    ApiToken(ApiTokenId),
}

/// The account a request comes from, and the credential it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The account's number.
    pub user_id: UserId,
    /// Its username.
    pub username: Username,
    /// Its display name when the request came.
    pub display_name: DisplayName,
    /// What it may do.
    pub role: Role,
    /// A person or a bot.
    pub kind: AccountKind,
    /// The session or API token used.
    pub credential: Credential,
}

impl Identity {
    /// The identity of `account` signed in with `credential`, if the account
    /// is active.
    pub(crate) fn new(account: Account, credential: Credential) -> Option<Self> {
        (account.state == AccountState::Active).then_some(Self {
            user_id: account.id,
            username: account.username,
            display_name: account.display_name,
            role: account.role,
            kind: account.kind,
            credential,
        })
    }

    /// The account as rooms show it.
    pub fn person(&self) -> common::Person {
        common::Person {
            user_id: self.user_id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
        }
    }

    /// Whether the account is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Who the request with `headers` comes from at `now_ms`: `None` for an
/// anonymous caller (no credential, or one that is unknown, expired,
/// revoked or of a deactivated account). An error only when the store
/// could not answer.
pub async fn authenticate(
    store: &dyn AccountStore,
    headers: &HeaderMap,
    now_ms: u64,
) -> Result<Option<Identity>, StoreError> {
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        let Some(token) = bearer_token(headers) else {
            return Ok(None);
        };
        if let Some(identity) = by_api_token(store, &token, now_ms).await? {
            return Ok(Some(identity));
        }
        return by_session(store, &token, now_ms).await;
    }
    match session_token(headers) {
        Some(token) => by_session(store, &token, now_ms).await,
        None => Ok(None),
    }
}

/// The identity of a session token, when its session lives.
async fn by_session(
    store: &dyn AccountStore,
    token: &Token,
    now_ms: u64,
) -> Result<Option<Identity>, StoreError> {
    let Some((session, account)) = store.session_by_token(*token.hash().as_bytes()).await? else {
        return Ok(None);
    };
    let idle = now_ms.saturating_sub(session.last_seen_ms);
    if idle >= millis(SESSION_IDLE_EXPIRY) {
        store.end_session(session.account, session.id).await?;
        return Ok(None);
    }
    if idle >= millis(SESSION_TOUCH_INTERVAL) {
        store.touch_session(session.id, now_ms).await?;
    }
    Ok(Identity::new(account, Credential::Session(session.id)))
}

/// The identity of an API token, when it exists.
async fn by_api_token(
    store: &dyn AccountStore,
    token: &Token,
    now_ms: u64,
) -> Result<Option<Identity>, StoreError> {
    let Some((record, account)) = store.api_token_by_hash(*token.hash().as_bytes()).await? else {
        return Ok(None);
    };
    let stale = record
        .last_used_ms
        .is_none_or(|used| now_ms.saturating_sub(used) >= millis(SESSION_TOUCH_INTERVAL));
    if stale {
        store.touch_api_token(record.id, now_ms).await?;
    }
    Ok(Identity::new(account, Credential::ApiToken(record.id)))
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::{NewAccount, NewSession};
    use crate::store::MemoryStore;
    use axum::http::header::{AUTHORIZATION, COOKIE};
    use axum::http::HeaderValue;

    const NOW: u64 = 1_800_000_000_000;

    async fn member(store: &MemoryStore, username: &str) -> Account {
        store
            .create_account(
                NewAccount {
                    username: Username::parse(username).expect("valid"),
                    display_name: DisplayName::parse(username).expect("valid"),
                    role: Role::Member,
                    kind: AccountKind::Person,
                    password_hash: None,
                },
                NOW,
            )
            .await
            .expect("created")
    }

    async fn session(store: &MemoryStore, account: UserId, at: u64) -> Token {
        let token = Token::generate();
        store
            .create_session(NewSession {
                account,
                token_hash: *token.hash().as_bytes(),
                device: "test".to_owned(),
                now: at,
            })
            .await
            .expect("session");
        token
    }

    fn cookie(token: &Token) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("other=1; chat_session={}", token.encode());
        headers.insert(COOKIE, HeaderValue::from_str(&value).expect("ascii"));
        headers
    }

    fn bearer(text: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {text}")).expect("ascii");
        headers.insert(AUTHORIZATION, value);
        headers
    }

    #[tokio::test]
    async fn a_session_cookie_or_bearer_names_its_account() {
        let store = MemoryStore::new();
        let ann = member(&store, "ann").await;
        let token = session(&store, ann.id, NOW).await;
        for headers in [cookie(&token), bearer(&token.encode())] {
            let identity = authenticate(&store, &headers, NOW + 1)
                .await
                .expect("answers")
                .expect("signed in");
            assert_eq!(identity.user_id, ann.id);
            assert!(matches!(identity.credential, Credential::Session(_)));
        }
        assert_eq!(
            authenticate(&store, &HeaderMap::new(), NOW)
                .await
                .expect("answers"),
            None
        );
    }

    #[tokio::test]
    async fn a_wrong_bearer_is_not_rescued_by_a_cookie() {
        let store = MemoryStore::new();
        let ann = member(&store, "ann").await;
        let token = session(&store, ann.id, NOW).await;
        let mut headers = cookie(&token);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer nonsense"));
        assert_eq!(
            authenticate(&store, &headers, NOW).await.expect("answers"),
            None
        );
        let unknown = Token::generate();
        assert_eq!(
            authenticate(&store, &bearer(&unknown.encode()), NOW)
                .await
                .expect("answers"),
            None
        );
    }

    #[tokio::test]
    async fn an_api_token_names_its_account() {
        let store = MemoryStore::new();
        let bot = member(&store, "deploy-bot").await;
        let token = Token::generate();
        let record = store
            .create_api_token(bot.id, "ci".to_owned(), *token.hash().as_bytes(), NOW)
            .await
            .expect("token");
        let identity = authenticate(&store, &bearer(&token.encode_api()), NOW)
            .await
            .expect("answers")
            .expect("a bot");
        assert_eq!(identity.credential, Credential::ApiToken(record.id));
        store
            .revoke_api_token(bot.id, record.id)
            .await
            .expect("revoked");
        assert_eq!(
            authenticate(&store, &bearer(&token.encode_api()), NOW)
                .await
                .expect("answers"),
            None
        );
    }

    #[tokio::test]
    async fn an_idle_session_expires_and_a_used_one_is_touched_now_and_then() {
        let store = MemoryStore::new();
        let ann = member(&store, "ann").await;
        let token = session(&store, ann.id, NOW).await;
        let touch = millis(SESSION_TOUCH_INTERVAL);
        // Used again within the interval: not written.
        authenticate(&store, &cookie(&token), NOW + touch - 1)
            .await
            .expect("answers")
            .expect("signed in");
        let seen = || async { store.sessions_of(ann.id).await.expect("reads")[0].last_seen_ms };
        assert_eq!(seen().await, NOW);
        authenticate(&store, &cookie(&token), NOW + touch)
            .await
            .expect("answers")
            .expect("signed in");
        assert_eq!(seen().await, NOW + touch);
        let expired = NOW + touch + millis(SESSION_IDLE_EXPIRY);
        assert_eq!(
            authenticate(&store, &cookie(&token), expired)
                .await
                .expect("answers"),
            None
        );
        assert!(
            store.sessions_of(ann.id).await.expect("reads").is_empty(),
            "ended"
        );
    }
}
