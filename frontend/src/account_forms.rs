//! The account pages' forms, as plain Rust: each form's fields are checked
//! with `common`'s rules before anything is sent (so a person learns at
//! once that a password is too short), and every error of the accounts API
//! is put in words a person can act on ([`explain`]), next to the field it
//! is about ([`field_of`]).
//!
//! A form is a struct of the fields as typed; its `request` method gives
//! the API's body, or the [`Problems`] to show, field by field, in the
//! order of the form (the first one gets the focus).

use crate::api::ApiError;
use common::account::{Password, PASSWORD_MAX_BYTES};
use common::api::accounts::{
    NewAccountRequest, NewInvite, NewToken, PasswordChange, PasswordResetRequest, ProfileUpdate,
    SetupRequest, SignUpRequest,
};
use common::{AccountKind, DisplayName, ErrorCode, Role, Username};

/// Longest API token name, in characters (the server cuts longer ones).
pub const TOKEN_NAME_MAX_CHARS: usize = 200;
/// Most accounts one invite may be limited to.
pub const INVITE_MAX_USES: u32 = 10_000;

/// A field of an account form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The username.
    Username,
    /// The display name.
    DisplayName,
    /// The password now (to change it).
    CurrentPassword,
    /// A new password.
    Password,
    /// The new password typed again.
    PasswordAgain,
    /// An API token's name.
    TokenName,
    /// How many accounts an invite may make.
    MaxUses,
    /// A new account's kind (a choice: never has a problem).
    Kind,
    /// A new account's role (a choice).
    Role,
    /// How long a new invite lasts (a choice).
    Expiry,
}

/// What is wrong with a form, field by field, in the form's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<(Field, String)>);

impl Problems {
    /// No problem.
    pub fn new() -> Self {
        Self::default()
    }

    /// One problem.
    pub fn one(field: Field, text: impl Into<String>) -> Self {
        let mut problems = Self::new();
        problems.add(field, text);
        problems
    }

    /// Adds a problem with `field` (the first one said stays).
    pub fn add(&mut self, field: Field, text: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, text.into()));
        }
    }

    /// What is wrong with `field`, if anything.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.0
            .iter()
            .find(|(which, _)| *which == field)
            .map(|(_, text)| text.as_str())
    }

    /// The first field with a problem: it gets the focus.
    pub fn first(&self) -> Option<Field> {
        self.0.first().map(|(field, _)| *field)
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// A rule's text (lower case, as `common` writes them to embed) as a
/// sentence: a capital first and a full stop last.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    // English words of `common` and the server: an ASCII first letter
    // (no Unicode case tables in the client for this).
    let mut out: String = std::iter::once(first.to_ascii_uppercase())
        .chain(chars)
        .collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn check_username(raw: &str, problems: &mut Problems) -> Option<Username> {
    let raw = raw.trim();
    if raw.is_empty() {
        problems.add(Field::Username, "Choose a username.");
        return None;
    }
    Username::parse(raw)
        .map_err(|err| problems.add(Field::Username, sentence(&err.to_string())))
        .ok()
}

fn check_display_name(raw: &str, problems: &mut Problems) -> Option<DisplayName> {
    DisplayName::parse(raw)
        .map_err(|err| {
            let text = match err {
                common::ValidationError::NameEmpty => "Choose a display name.".to_owned(),
                other => sentence(
                    &other
                        .to_string()
                        .replacen("the name", "the display name", 1),
                ),
            };
            problems.add(Field::DisplayName, text);
        })
        .ok()
}

/// A new password and its confirmation.
fn check_new_password(password: &str, again: &str, problems: &mut Problems) -> Option<String> {
    if password.is_empty() {
        problems.add(Field::Password, "Choose a password.");
        return None;
    }
    if let Err(err) = Password::parse(password) {
        problems.add(Field::Password, sentence(&err.to_string()));
        return None;
    }
    if again.is_empty() {
        problems.add(Field::PasswordAgain, "Type the password again.");
        return None;
    }
    if again != password {
        problems.add(
            Field::PasswordAgain,
            "The two passwords differ; type the same one twice.",
        );
        return None;
    }
    Some(password.to_owned())
}

/// The fields of a new account of one's own: first-run setup and signing
/// up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAccountFields {
    /// The username, as typed.
    pub username: String,
    /// The display name, as typed.
    pub display_name: String,
    /// The password.
    pub password: String,
    /// The password again.
    pub password_again: String,
}

impl NewAccountFields {
    fn check(&self) -> Result<(Username, DisplayName, String), Problems> {
        let mut problems = Problems::new();
        let username = check_username(&self.username, &mut problems);
        let display_name = check_display_name(&self.display_name, &mut problems);
        let password = check_new_password(&self.password, &self.password_again, &mut problems);
        match (username, display_name, password) {
            (Some(username), Some(display_name), Some(password)) if problems.is_empty() => {
                Ok((username, display_name, password))
            }
            _ => Err(problems),
        }
    }

    /// `POST /api/setup`'s body, with the setup link's token.
    pub fn setup_request(&self, token: &str) -> Result<SetupRequest, Problems> {
        let (username, display_name, password) = self.check()?;
        Ok(SetupRequest {
            token: token.to_owned(),
            username,
            display_name,
            password,
        })
    }

    /// `POST /api/signup`'s body, with the invite link's token if any.
    pub fn signup_request(&self, invite: Option<&str>) -> Result<SignUpRequest, Problems> {
        let (username, display_name, password) = self.check()?;
        Ok(SignUpRequest {
            invite: invite.map(str::to_owned),
            username,
            display_name,
            password,
        })
    }
}

/// A new password and its confirmation: the reset link's form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPasswordFields {
    /// The password.
    pub password: String,
    /// The password again.
    pub password_again: String,
}

impl NewPasswordFields {
    /// `POST /api/password-reset`'s body, with the reset link's token.
    pub fn reset_request(&self, token: &str) -> Result<PasswordResetRequest, Problems> {
        let mut problems = Problems::new();
        let password = check_new_password(&self.password, &self.password_again, &mut problems);
        problems.into_result(|| PasswordResetRequest {
            token: token.to_owned(),
            password: password.unwrap_or_default(),
        })
    }
}

/// The settings' password change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordChangeFields {
    /// The password now.
    pub current_password: String,
    /// The new one.
    pub password: String,
    /// The new one again.
    pub password_again: String,
}

impl PasswordChangeFields {
    /// `POST /api/me/password`'s body.
    pub fn request(&self) -> Result<PasswordChange, Problems> {
        let mut problems = Problems::new();
        // Only the byte bound: the password now was chosen under the rules
        // of its day.
        if self.current_password.is_empty() {
            problems.add(Field::CurrentPassword, "Type your password now.");
        } else if self.current_password.len() > PASSWORD_MAX_BYTES {
            problems.add(Field::CurrentPassword, "Wrong password.");
        }
        let password = check_new_password(&self.password, &self.password_again, &mut problems);
        if password.is_some() && self.password == self.current_password {
            problems.add(
                Field::Password,
                "The new password is the one you have now; choose another.",
            );
        }
        problems.into_result(|| PasswordChange {
            current_password: self.current_password.clone(),
            new_password: password.unwrap_or_default(),
        })
    }
}

/// `PATCH /api/me`'s body for the display name as typed.
pub fn profile_update(display_name: &str) -> Result<ProfileUpdate, Problems> {
    let mut problems = Problems::new();
    let display_name = check_display_name(display_name, &mut problems);
    match display_name {
        Some(display_name) => Ok(ProfileUpdate { display_name }),
        None => Err(problems),
    }
}

/// A new API token's body for the name as typed.
pub fn token_request(name: &str) -> Result<NewToken, Problems> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Problems::one(
            Field::TokenName,
            "Give the token a name, to tell it from others (\"deploy script\").",
        ));
    }
    if name.chars().count() > TOKEN_NAME_MAX_CHARS {
        return Err(Problems::one(
            Field::TokenName,
            format!("The name is longer than {TOKEN_NAME_MAX_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Problems::one(
            Field::TokenName,
            "The name contains control characters.",
        ));
    }
    Ok(NewToken {
        name: name.to_owned(),
    })
}

/// An administrator's new account: a person or a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccountFields {
    /// The username, as typed.
    pub username: String,
    /// The display name, as typed.
    pub display_name: String,
    /// A person or a bot.
    pub kind: AccountKind,
    /// Administrator or member.
    pub role: Role,
    /// A person's first password; empty for none (the person gets a reset
    /// link instead). Ignored for a bot.
    pub password: String,
}

impl Default for AdminAccountFields {
    fn default() -> Self {
        Self {
            username: String::new(),
            display_name: String::new(),
            kind: AccountKind::Person,
            role: Role::Member,
            password: String::new(),
        }
    }
}

impl AdminAccountFields {
    /// `POST /api/admin/accounts`'s body.
    pub fn request(&self) -> Result<NewAccountRequest, Problems> {
        let mut problems = Problems::new();
        let username = check_username(&self.username, &mut problems);
        let display_name = check_display_name(&self.display_name, &mut problems);
        let password = match self.kind {
            AccountKind::Bot => None,
            AccountKind::Person if self.password.is_empty() => None,
            AccountKind::Person => match Password::parse(self.password.as_str()) {
                Ok(_) => Some(self.password.clone()),
                Err(err) => {
                    problems.add(Field::Password, sentence(&err.to_string()));
                    None
                }
            },
        };
        match (username, display_name) {
            (Some(username), Some(display_name)) if problems.is_empty() => Ok(NewAccountRequest {
                username,
                display_name,
                kind: self.kind,
                role: self.role,
                password,
            }),
            _ => Err(problems),
        }
    }
}

/// How long a new invite lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InviteExpiry {
    /// An hour.
    Hour,
    /// A day.
    Day,
    /// A week.
    #[default]
    Week,
    /// Thirty days.
    Month,
    /// Until revoked or used up.
    Never,
}

impl InviteExpiry {
    /// Every choice, in the order offered.
    pub const ALL: [Self; 5] = [Self::Hour, Self::Day, Self::Week, Self::Month, Self::Never];

    /// Its value in a `<select>`.
    pub fn value(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Never => "never",
        }
    }

    /// Its words in a `<select>`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "1 hour",
            Self::Day => "1 day",
            Self::Week => "7 days",
            Self::Month => "30 days",
            Self::Never => "Never",
        }
    }

    /// The choice with this `<select>` value.
    pub fn from_value(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|choice| choice.value() == value)
    }

    /// Seconds until it expires; none for never.
    pub fn secs(self) -> Option<u64> {
        const HOUR: u64 = 3_600;
        match self {
            Self::Hour => Some(HOUR),
            Self::Day => Some(24 * HOUR),
            Self::Week => Some(7 * 24 * HOUR),
            Self::Month => Some(30 * 24 * HOUR),
            Self::Never => None,
        }
    }
}

/// `POST /api/admin/invites`'s body: an expiry, and the number of uses as
/// typed (empty for any number).
pub fn invite_request(expiry: InviteExpiry, max_uses: &str) -> Result<NewInvite, Problems> {
    let max_uses = max_uses.trim();
    let max_uses = if max_uses.is_empty() {
        None
    } else {
        match max_uses.parse::<u32>() {
            Ok(uses) if (1..=INVITE_MAX_USES).contains(&uses) => Some(uses),
            _ => {
                return Err(Problems::one(
                    Field::MaxUses,
                    format!(
                    "Give a number from 1 to {INVITE_MAX_USES}, or leave it empty for any number."
                ),
                ))
            }
        }
    };
    Ok(NewInvite {
        expires_in_secs: expiry.secs(),
        max_uses,
    })
}

/// A wait in words: "1 second", "30 seconds", "15 minutes".
pub fn wait_words(secs: u64) -> String {
    match secs {
        0 | 1 => "1 second".to_owned(),
        2..=119 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// The server's words as a sentence, or `fallback` when it sent none.
fn servers_words(error: &ApiError, fallback: &str) -> String {
    if error.error.message.trim().is_empty() {
        fallback.to_owned()
    } else {
        sentence(&error.error.message)
    }
}

/// An error of the accounts API in words a person understands and can act
/// on.
pub fn explain(error: &ApiError) -> String {
    if error.is_offline() {
        return "No answer from the server; check the connection and try again.".to_owned();
    }
    match error.code() {
        ErrorCode::InvalidCredentials => "Wrong username or password.".to_owned(),
        ErrorCode::RateLimited => match error.retry_after_secs {
            Some(secs) => format!("Too many tries; wait {}.", wait_words(secs)),
            None => "Too many tries; wait a minute and try again.".to_owned(),
        },
        ErrorCode::LinkInvalid => {
            "This link was already used or has expired; ask an administrator for a new one."
                .to_owned()
        }
        ErrorCode::UsernameTaken => "This username is taken; choose another.".to_owned(),
        ErrorCode::SignupClosed => {
            "This server does not let people sign up this way; ask an administrator for an invite."
                .to_owned()
        }
        ErrorCode::Unauthenticated => {
            "You are signed out (the session ended); sign in again.".to_owned()
        }
        ErrorCode::Forbidden => servers_words(error, "You may not do this."),
        ErrorCode::NotFound => {
            "It is no longer there (someone may have removed it); reload the page.".to_owned()
        }
        ErrorCode::InvalidUsername => servers_words(error, "This username is not allowed."),
        ErrorCode::InvalidPassword => servers_words(error, "This password is not allowed."),
        ErrorCode::InvalidName => servers_words(error, "This display name is not allowed."),
        ErrorCode::Unavailable => match error.retry_after_secs {
            Some(secs) => format!("The server is busy; try again in {}.", wait_words(secs)),
            None => "The server cannot do this right now; try again in a moment.".to_owned(),
        },
        ErrorCode::ProtocolVersion => {
            "This page is older than the server; reload it to get the new one.".to_owned()
        }
        ErrorCode::BadRequest => {
            let fallback =
                "The server did not understand the request; reload the page and try again.";
            servers_words(error, fallback)
        }
        // Codes of chat and room requests, which the accounts routes do
        // not answer with: the server's words, if it ever does.
        ErrorCode::Unsupported
        | ErrorCode::InvalidRoom
        | ErrorCode::NameTaken
        | ErrorCode::EmptyText
        | ErrorCode::TooLong
        | ErrorCode::InvalidText
        | ErrorCode::InvalidNonce
        | ErrorCode::NotJoined
        | ErrorCode::AlreadyJoined
        | ErrorCode::TooManyRooms
        | ErrorCode::NotMember
        | ErrorCode::Banned
        | ErrorCode::Muted
        | ErrorCode::Archived
        | ErrorCode::RoomExists
        | ErrorCode::InvalidTitle
        | ErrorCode::InvalidTopic => servers_words(error, "That did not work; try again."),
    }
}

/// The field an error is about, when it is about one: it is shown there
/// and gets the focus.
pub fn field_of(code: ErrorCode) -> Option<Field> {
    match code {
        ErrorCode::InvalidUsername | ErrorCode::UsernameTaken => Some(Field::Username),
        ErrorCode::InvalidName => Some(Field::DisplayName),
        ErrorCode::InvalidPassword => Some(Field::Password),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
