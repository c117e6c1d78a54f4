//! Accounts' values: who a person (or a bot) is to the server.
//!
//! As in [`crate::values`], each value with a rule has a type whose only
//! constructor checks it:
//!
//! - [`Username`]: what one signs in with and is known by, unique ignoring
//!   case. Capitals are accepted and lowered, so the stored form is the
//!   unique one and two usernames are the same exactly when they are equal.
//! - [`Password`]: what a person typed as a new password, bounded so that
//!   hashing it costs a known amount. It never prints itself and cannot be
//!   serialized: it only goes to the hasher.
//! - [`UserId`], [`Role`], [`AccountKind`], [`AccountState`]: the rest of
//!   an account, as the store and the protocol name them.
//!
//! A rule broken is an [`AccountError`], whose text says the rule.

use crate::text::NameText;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shortest username, in characters.
pub const USERNAME_MIN_CHARS: usize = 2;
/// Longest username, in characters.
pub const USERNAME_MAX_CHARS: usize = 32;
/// Shortest password, in characters (NIST SP 800-63B's minimum for a
/// password a person chose).
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password, in bytes of UTF-8: enough for any passphrase or
/// password manager, and a bound on what one sign-in makes the server hash
/// (a megabyte-long "password" would otherwise cost the hasher that much).
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// An account's number, given by the store; never reused.
pub type UserId = u64;

/// A rule that an account's value broke; the `Display` text says which,
/// in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A username has [`USERNAME_MIN_CHARS`] to [`USERNAME_MAX_CHARS`]
    /// characters.
    #[error("the username must have {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters")]
    UsernameLength,
    /// A username uses only `a-z`, `0-9`, `.`, `_` and `-` (capitals are
    /// lowered).
    #[error("the username may only contain a-z, 0-9, '.', '_' and '-'")]
    UsernameCharacters,
    /// A password has at least [`PASSWORD_MIN_CHARS`] characters.
    #[error("the password must have at least {PASSWORD_MIN_CHARS} characters")]
    PasswordTooShort,
    /// A password has at most [`PASSWORD_MAX_BYTES`] bytes.
    #[error("the password is longer than {PASSWORD_MAX_BYTES} bytes")]
    PasswordTooLong,
    /// A name that is none of a [`Role`]'s, [`AccountKind`]'s or
    /// [`AccountState`]'s (`what` says which was expected).
    #[error("{value:?} is not a known {what}")]
    Unknown {
        /// What was expected: `role`, `account kind` or `account state`.
        what: &'static str,
        /// What was given.
        value: String,
    },
}

/// A username: [`USERNAME_MIN_CHARS`] to [`USERNAME_MAX_CHARS`] characters
/// of `a-z 0-9 . _ -`, stored lowered.
///
/// [`Username::parse`] accepts ASCII capitals and lowers them, so `Ann`
/// and `ann` are one username and equality of the parsed values is
/// uniqueness ignoring case. Only ASCII is allowed: no two usernames can
/// look alike through another script or a compatibility form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(NameText);

impl Username {
    /// Parses a username, lowering ASCII capitals.
    pub fn parse(raw: impl Into<String>) -> Result<Self, AccountError> {
        let mut raw = raw.into();
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(AccountError::UsernameCharacters);
        }
        // Every allowed character is ASCII, so bytes are characters here.
        if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&raw.len()) {
            return Err(AccountError::UsernameLength);
        }
        raw.make_ascii_lowercase();
        Ok(Self(NameText::from(raw)))
    }

    /// The username as a string slice (lower case).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = AccountError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> String {
        crate::text::into_string(value.0)
    }
}

/// A new password as typed: at least [`PASSWORD_MIN_CHARS`] characters
/// (Unicode scalar values) and at most [`PASSWORD_MAX_BYTES`] bytes; any
/// character is allowed, spaces included, and nothing is trimmed.
///
/// It is read only by the hasher ([`Password::as_str`]): its `Debug` shows
/// `Password(…)`, it has no `Display` and no `Serialize`, so it cannot end
/// up in a log or a response by accident. It deserializes (a request's
/// body) with the same rules.
///
/// The minimum is a rule for choosing a password; a sign-in checks what was
/// typed against the stored hash, and needs only the byte bound.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    /// Parses a new password.
    pub fn parse(raw: impl Into<String>) -> Result<Self, AccountError> {
        let raw = raw.into();
        // Bytes first: a huge input is refused before its characters are
        // counted.
        if raw.len() > PASSWORD_MAX_BYTES {
            return Err(AccountError::PasswordTooLong);
        }
        if raw.chars().count() < PASSWORD_MIN_CHARS {
            return Err(AccountError::PasswordTooShort);
        }
        Ok(Self(raw))
    }

    /// The password as typed, for the hasher only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

impl TryFrom<String> for Password {
    type Error = AccountError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

/// What an account may do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything a member may, and administration: accounts, invites,
    /// bots, reset links.
    Admin,
    /// Chat.
    Member,
}
named_enum!(Role, AccountError, "role", { Admin => "admin", Member => "member" });

/// Who uses an account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A person, who signs in with a password.
    Person,
    /// A program, which has no password and uses API tokens.
    Bot,
}
named_enum!(AccountKind, AccountError, "account kind", { Person => "person", Bot => "bot" });

/// Whether an account may be used.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// It signs in and its sessions and tokens work.
    Active,
    /// Switched off by an administrator: it cannot sign in, it has no
    /// sessions and its tokens do not work; its messages stay.
    Deactivated,
}
named_enum!(AccountState, AccountError, "account state", {
    Active => "active",
    Deactivated => "deactivated",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_every_allowed_character_at_both_lengths() {
        for good in ["an", "a.b_c-9", &"x".repeat(USERNAME_MAX_CHARS), "0.-_"] {
            assert_eq!(
                Username::parse(good).map(String::from).as_deref(),
                Ok(good),
                "{good:?}"
            );
        }
    }

    #[test]
    fn username_capitals_are_lowered_so_equality_ignores_case() {
        let ann = Username::parse("Ann.Lee").expect("valid");
        assert_eq!(ann.as_str(), "ann.lee");
        assert_eq!(ann, Username::parse("ANN.LEE").expect("valid"));
        assert_eq!(ann, Username::parse("ann.lee").expect("valid"));
        assert_ne!(ann, Username::parse("ann-lee").expect("valid"));
    }

    #[test]
    fn username_rule_length() {
        for bad in ["", "a", &"x".repeat(USERNAME_MAX_CHARS + 1)] {
            assert_eq!(
                Username::parse(bad),
                Err(AccountError::UsernameLength),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn username_rule_characters() {
        for bad in [
            "ann lee",
            "zoë",
            "ａｎｎ", // fullwidth
            "ann@example",
            "ann\n",
            "ann\u{200b}",
            "аnn", // Cyrillic а
            "a/b",
            "a+b",
        ] {
            assert_eq!(
                Username::parse(bad),
                Err(AccountError::UsernameCharacters),
                "{bad:?}"
            );
        }
        // The rule is said in words.
        assert_eq!(
            AccountError::UsernameCharacters.to_string(),
            "the username may only contain a-z, 0-9, '.', '_' and '-'"
        );
        assert_eq!(
            AccountError::UsernameLength.to_string(),
            "the username must have 2 to 32 characters"
        );
    }

    #[test]
    fn username_serializes_as_a_string_and_deserializing_applies_the_rules() {
        let ann = Username::parse("ann").expect("valid");
        assert_eq!(serde_json::to_string(&ann).expect("encodes"), "\"ann\"");
        let parsed: Username = serde_json::from_str("\"Ann\"").expect("valid");
        assert_eq!(parsed, ann);
        assert!(serde_json::from_str::<Username>("\"a\"").is_err());
        assert!(serde_json::from_str::<Username>("\"ann lee\"").is_err());
    }

    #[test]
    fn password_rule_length_counts_characters_at_least_and_bytes_at_most() {
        assert!(Password::parse("x".repeat(PASSWORD_MIN_CHARS)).is_ok());
        // Eight characters, more bytes: characters count for the minimum.
        assert!(Password::parse("ü".repeat(PASSWORD_MIN_CHARS)).is_ok());
        assert!(Password::parse(" spaces  kept ").is_ok());
        assert_eq!(
            Password::parse("x".repeat(PASSWORD_MIN_CHARS - 1)).map(|_| ()),
            Err(AccountError::PasswordTooShort)
        );
        assert!(Password::parse("x".repeat(PASSWORD_MAX_BYTES)).is_ok());
        assert_eq!(
            Password::parse("x".repeat(PASSWORD_MAX_BYTES + 1)).map(|_| ()),
            Err(AccountError::PasswordTooLong)
        );
        // Bytes count for the maximum: 513 two-byte characters are too long.
        assert_eq!(
            Password::parse("ü".repeat(PASSWORD_MAX_BYTES / 2 + 1)).map(|_| ()),
            Err(AccountError::PasswordTooLong)
        );
        assert_eq!(
            AccountError::PasswordTooShort.to_string(),
            "the password must have at least 8 characters"
        );
    }

    #[test]
    fn password_is_kept_as_typed_and_never_printed() {
        let password = Password::parse("correct horse battery").expect("valid");
        assert_eq!(password.as_str(), "correct horse battery");
        assert_eq!(format!("{password:?}"), "Password(…)");
        assert_eq!(format!("{:?}", Some(&password)), "Some(Password(…))");
    }

    #[test]
    fn password_deserializing_applies_the_rules() {
        let password: Password = serde_json::from_str("\"long enough\"").expect("valid");
        assert_eq!(password.as_str(), "long enough");
        assert!(serde_json::from_str::<Password>("\"short\"").is_err());
    }

    #[test]
    fn roles_kinds_and_states_are_snake_case_names_both_ways() {
        for (role, name) in [(Role::Admin, "admin"), (Role::Member, "member")] {
            assert_eq!(role.as_str(), name);
            assert_eq!(name.parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).expect("encodes");
            assert_eq!(json, format!("\"{name}\""));
        }
        for (kind, name) in [(AccountKind::Person, "person"), (AccountKind::Bot, "bot")] {
            assert_eq!(kind.to_string(), name);
            assert_eq!(name.parse::<AccountKind>(), Ok(kind));
            assert_eq!(
                serde_json::from_str::<AccountKind>(&format!("\"{name}\"")).expect("decodes"),
                kind
            );
        }
        for (state, name) in [
            (AccountState::Active, "active"),
            (AccountState::Deactivated, "deactivated"),
        ] {
            assert_eq!(state.as_str(), name);
            assert_eq!(name.parse::<AccountState>(), Ok(state));
            let json = serde_json::to_string(&state).expect("encodes");
            assert_eq!(json, format!("\"{name}\""));
        }
        let unknown = "Admin".parse::<Role>().expect_err("names are lower case");
        assert_eq!(unknown.to_string(), "\"Admin\" is not a known role");
        assert!(serde_json::from_str::<AccountState>("\"gone\"").is_err());
    }
}
