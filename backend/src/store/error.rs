//! [`StoreError`]: what went wrong, as a [`ErrorKind`] that callers act on,
//! and the backend's own error as a boxed source that only logs read. No
//! variant names a backend, so the hub treats SQLite, PostgreSQL and the
//! memory store alike.

use std::error::Error;
use std::fmt;

/// A backend's error, boxed.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// What kind of failure a [`StoreError`] is: what the caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The database could not be opened, reached or set up at start.
    Open,
    /// Another `chat-server` process has the database (SQLite's lock file).
    InUse,
    /// The database was written by a newer release of the server.
    SchemaTooNew,
    /// The database failed an operation or cannot be reached now; the same
    /// operation may succeed later (a client resends).
    Unavailable,
    /// A write conflicts with what is stored (an id stored twice, a
    /// username taken ignoring case): tell the person, who picks another.
    Conflict,
    /// What the operation names (an account, a session, an API token) does
    /// not exist, or, where the operation says so, is not active: it was
    /// removed meanwhile, or the id was made up. Answer as for an unknown
    /// thing (404); retrying will not help.
    NotFound,
    /// A one-time link cannot be used: unknown, of another kind, revoked,
    /// expired or used up, or, for the setup link, the setup is done. One
    /// kind for every reason, so the answer tells nothing about other
    /// links: tell the person the link is no longer valid.
    Gone,
    /// The request breaks a rule of the store that the caller should have
    /// kept (a bot with a password, a reset link without its account): a
    /// bug of the caller, not of the person's input.
    Invalid,
    /// A stored row does not hold a valid value.
    Corrupt,
    /// The store was closed.
    Closed,
}

/// Why a store operation failed: a kind, what was being done, and the
/// backend's error when there is one.
///
/// Its text is the context followed by the text of the source and of each
/// of its causes, on one line, so a log line that prints only the error
/// says all there is (a PostgreSQL client error alone says only "db
/// error"); so [`Error::source`] is `None`, or a report would say it twice. It never holds a
/// password: contexts name a database by its file or host, port and name.
#[derive(Debug)]
pub struct StoreError {
    kind: ErrorKind,
    context: String,
    source: Option<BoxError>,
}

impl StoreError {
    /// An error of `kind`, saying `context`.
    pub fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self {
            kind,
            context: context.into(),
            source: None,
        }
    }

    /// The same error, caused by `source`.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The store was closed.
    pub fn closed() -> Self {
        Self::new(ErrorKind::Closed, "the store is closed")
    }

    /// The database failed or cannot be reached: `source` says how.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Unavailable, "database error").with_source(source)
    }

    /// The cluster's broker failed or could not be reached: `what` says how.
    pub fn broker(what: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Unavailable,
            format!("cluster broker: {}", what.into()),
        )
    }

    /// What was asked for does not exist: `what` says which.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, what)
    }

    /// A link cannot be used: `why` says so.
    pub fn gone(why: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, why)
    }

    /// A request breaks a rule of the store: `rule` says which.
    pub fn invalid(rule: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, rule)
    }

    /// A stored value is not valid: `what` says which and why.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Corrupt,
            format!("stored data is not valid: {}", what.into()),
        )
    }

    /// A database of schema version `found`, newer than `supported`.
    pub fn schema_too_new(found: i64, supported: i64) -> Self {
        Self::new(
            ErrorKind::SchemaTooNew,
            format!(
                "database schema version {found} is newer than this server understands \
                 ({supported}); run the release that wrote it, or a newer one"
            ),
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)?;
        let mut cause: Option<&(dyn Error + 'static)> = self.source.as_deref().map(|e| e as _);
        // Some errors repeat their cause in their own text (deadpool's do):
        // a cause already said is not said again.
        let mut said = String::new();
        while let Some(error) = cause {
            let text = error.to_string();
            if !said.contains(&text) {
                write!(f, ": {text}")?;
            }
            said = text;
            cause = error.source();
        }
        Ok(())
    }
}

impl Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_context_and_the_source_on_one_line() {
        let err = StoreError::unavailable(std::io::Error::other("connection refused"));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "database error: connection refused");
        assert_eq!(StoreError::closed().to_string(), "the store is closed");
        let nested = StoreError::unavailable(
            StoreError::new(ErrorKind::Open, "outer").with_source(std::io::Error::other("inner")),
        );
        assert_eq!(nested.to_string(), "database error: outer: inner");
    }
}
