//! [`AccountsError`]: why a use case of [`super::Accounts`] refused or
//! failed, and, in one place ([`AccountsError::code`],
//! [`AccountsError::status`]), the [`ErrorCode`] and HTTP status each
//! answer has.
//!
//! No variant carries a password or a token. A sign-in's refusal is
//! [`AccountsError::InvalidCredentials`] whatever was wrong (no such
//! username, a wrong password, a bot, a deactivated account), so the answer
//! never tells which.

use crate::auth::{CsrfError, PoolError};
use crate::store::{ErrorKind, StoreError};
use axum::http::StatusCode;
use common::{AccountError, ErrorCode, ValidationError};
use std::time::Duration;

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// No credential, or one that ended.
    #[error("sign in first")]
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A wrong username or password (never says which).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// A username, password or display name breaks its rule.
    #[error(transparent)]
    Invalid(#[from] AccountError),
    /// A display name or a room name breaks its rule.
    #[error(transparent)]
    InvalidValue(#[from] ValidationError),
    /// A request that makes no sense (a password for a bot, a bot made an
    /// administrator, …).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The username is taken, ignoring case.
    #[error("this username is taken")]
    UsernameTaken,
    /// No such account, session, token or invite.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The setup, invite or reset link cannot be used.
    #[error("this link is no longer valid (used up, revoked or expired)")]
    LinkInvalid,
    /// `--signup` does not allow this way in.
    #[error("{0}")]
    SignupClosed(&'static str),
    /// Too many failed sign-ins: retry after the duration.
    #[error("too many failed sign-ins; try again later")]
    RateLimited(Duration),
    /// A state-changing request that may be forged, or is not JSON.
    #[error(transparent)]
    Csrf(#[from] CsrfError),
    /// A request body or path that does not parse.
    #[error("{0}")]
    Malformed(String),
    /// The password pool is full, or the store could not answer.
    #[error("{0}")]
    Unavailable(&'static str),
}

impl AccountsError {
    /// The machine-readable code of the answer.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Invalid(AccountError::UsernameLength | AccountError::UsernameCharacters) => {
                ErrorCode::InvalidUsername
            }
            Self::Invalid(AccountError::PasswordTooShort | AccountError::PasswordTooLong) => {
                ErrorCode::InvalidPassword
            }
            Self::Invalid(AccountError::Unknown { .. })
            | Self::BadRequest(_)
            | Self::Malformed(_)
            | Self::Csrf(CsrfError::NotJson) => ErrorCode::BadRequest,
            Self::Csrf(_) => ErrorCode::Forbidden,
            Self::InvalidValue(err) => err.code(),
            Self::UsernameTaken => ErrorCode::UsernameTaken,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::LinkInvalid => ErrorCode::LinkInvalid,
            Self::SignupClosed(_) => ErrorCode::SignupClosed,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        if let Self::Csrf(err) = self {
            return err.status();
        }
        match self.code() {
            ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::SignupClosed => StatusCode::FORBIDDEN,
            ErrorCode::UsernameTaken => StatusCode::CONFLICT,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::LinkInvalid => StatusCode::GONE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Seconds for a `Retry-After` header, for the answers that have one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited(wait) => Some(crate::auth::RetryAfter(*wait).secs()),
            Self::Unavailable(_) => Some(1),
            _ => None,
        }
    }
}

impl From<StoreError> for AccountsError {
    fn from(err: StoreError) -> Self {
        match err.kind() {
            ErrorKind::Conflict => Self::UsernameTaken,
            ErrorKind::NotFound => Self::NotFound("account"),
            ErrorKind::Gone => Self::LinkInvalid,
            _ => {
                tracing::error!(error = %err, "storage failed during an accounts request");
                Self::Unavailable("storage is unavailable; try again")
            }
        }
    }
}

impl From<PoolError> for AccountsError {
    fn from(err: PoolError) -> Self {
        if let PoolError::Failed(reason) = &err {
            tracing::error!(%reason, "password hashing failed");
        }
        Self::Unavailable("too many passwords are being checked at once; try again shortly")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_has_its_code_and_status() {
        let cases = [
            (AccountsError::Unauthenticated, 401, "unauthenticated"),
            (
                AccountsError::InvalidCredentials,
                401,
                "invalid_credentials",
            ),
            (AccountsError::Forbidden("no"), 403, "forbidden"),
            (AccountsError::SignupClosed("no"), 403, "signup_closed"),
            (AccountsError::UsernameTaken, 409, "username_taken"),
            (AccountsError::NotFound("account"), 404, "not_found"),
            (AccountsError::LinkInvalid, 410, "link_invalid"),
            (
                AccountsError::RateLimited(Duration::from_millis(1500)),
                429,
                "rate_limited",
            ),
            (AccountsError::Unavailable("busy"), 503, "unavailable"),
            (
                AccountsError::Invalid(AccountError::PasswordTooShort),
                400,
                "invalid_password",
            ),
            (
                AccountsError::Invalid(AccountError::UsernameLength),
                400,
                "invalid_username",
            ),
            (AccountsError::BadRequest("no"), 400, "bad_request"),
            (AccountsError::Csrf(CsrfError::NoOrigin), 403, "forbidden"),
            (AccountsError::Csrf(CsrfError::NotJson), 415, "bad_request"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.code().as_str(), code, "{err:?}");
        }
        assert_eq!(
            AccountsError::RateLimited(Duration::from_millis(1500)).retry_after_secs(),
            Some(2)
        );
        assert_eq!(AccountsError::LinkInvalid.retry_after_secs(), None);
    }
}
