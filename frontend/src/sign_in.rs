//! The sign-in page as plain Rust: its form checked before it is sent, and
//! the ways to an account it offers besides signing in, as the server's
//! `GET /api/server` allows.
//!
//! The checks are only the ones that cannot give a hint about accounts:
//! both fields filled, and nothing longer than any password may be. A
//! username that breaks the rules is sent as typed, like any other (the
//! server answers "wrong username or password" for it, in the same time).

use crate::account_forms::{Field, Problems};
use crate::route::AccountRoute;
use common::account::PASSWORD_MAX_BYTES;
use common::api::accounts::{ServerInfo, SignInRequest, SignupMode};

/// The sign-in form's fields, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInFields {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

impl SignInFields {
    /// `POST /api/session`'s body, or what to fill in first.
    pub fn request(&self) -> Result<SignInRequest, Problems> {
        let mut problems = Problems::new();
        let username = self.username.trim();
        if username.is_empty() {
            problems.add(Field::Username, "Type your username.");
        }
        if self.password.is_empty() {
            problems.add(Field::Password, "Type your password.");
        } else if self.password.len() > PASSWORD_MAX_BYTES {
            // No password is this long: it cannot be right.
            problems.add(Field::Password, "Wrong username or password.");
        }
        if problems.is_empty() {
            Ok(SignInRequest {
                username: username.to_owned(),
                password: self.password.clone(),
            })
        } else {
            Err(problems)
        }
    }
}

/// A way to an account the sign-in page offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// No account exists yet: the first administrator is made with the
    /// setup link the server printed at its start.
    SetupLink,
    /// Anyone may sign up: a link to the sign-up page.
    SignUp(AccountRoute),
    /// Accounts come with an invite link from an administrator.
    AskForInvite,
    /// Only the server's administrator makes accounts.
    AskAdministrator,
}

impl Offer {
    /// What the server allows, as the sign-in page offers it.
    pub fn for_server(info: &ServerInfo) -> Self {
        if info.setup_needed {
            return Self::SetupLink;
        }
        match info.signup {
            SignupMode::Open => Self::SignUp(AccountRoute::Signup),
            SignupMode::Invite => Self::AskForInvite,
            SignupMode::Closed => Self::AskAdministrator,
        }
    }

    /// The offer in words (with a link's text for [`Offer::SignUp`]
    /// following them).
    pub fn words(&self) -> &'static str {
        match self {
            Self::SetupLink => {
                "This server has no accounts yet. Open the setup link it printed when it \
                 started (…/#/setup/…) to create the administrator."
            }
            Self::SignUp(_) => "No account yet?",
            Self::AskForInvite => {
                "No account yet? Ask an administrator for an invite link, and open it here."
            }
            Self::AskAdministrator => "No account yet? Ask the server's administrator for one.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(username: &str, password: &str) -> SignInFields {
        SignInFields {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    #[test]
    fn a_filled_form_is_sent_as_typed_with_the_username_trimmed() {
        let request = fields("  Ann ", "correct horse")
            .request()
            .expect("sendable");
        assert_eq!(request.username, "Ann", "the server lowers capitals itself");
        assert_eq!(
            request.password, "correct horse",
            "passwords are never trimmed"
        );
        // Rules of new usernames are not checked: that would tell apart
        // usernames that cannot exist from wrong ones.
        assert!(fields("a b!", "whatever").request().is_ok());
    }

    #[test]
    fn empty_fields_are_asked_for_in_the_forms_order() {
        let problems = fields(" ", "").request().expect_err("empty");
        assert_eq!(problems.first(), Some(Field::Username));
        assert_eq!(problems.get(Field::Username), Some("Type your username."));
        assert_eq!(problems.get(Field::Password), Some("Type your password."));
        let problems = fields("ann", "").request().expect_err("no password");
        assert_eq!(problems.first(), Some(Field::Password));
    }

    #[test]
    fn a_password_longer_than_any_is_wrong_without_asking() {
        let long = "x".repeat(PASSWORD_MAX_BYTES + 1);
        let problems = fields("ann", &long).request().expect_err("too long");
        assert_eq!(
            problems.get(Field::Password),
            Some("Wrong username or password.")
        );
        assert!(fields("ann", &"x".repeat(PASSWORD_MAX_BYTES))
            .request()
            .is_ok());
    }

    fn info(signup: SignupMode, setup_needed: bool) -> ServerInfo {
        ServerInfo {
            protocol: common::PROTOCOL_VERSION,
            signup,
            setup_needed,
        }
    }

    #[test]
    fn the_page_offers_what_the_server_allows() {
        assert_eq!(
            Offer::for_server(&info(SignupMode::Open, false)),
            Offer::SignUp(AccountRoute::Signup)
        );
        assert_eq!(
            Offer::for_server(&info(SignupMode::Invite, false)),
            Offer::AskForInvite
        );
        assert_eq!(
            Offer::for_server(&info(SignupMode::Closed, false)),
            Offer::AskAdministrator
        );
        for mode in [SignupMode::Open, SignupMode::Invite, SignupMode::Closed] {
            assert_eq!(
                Offer::for_server(&info(mode, true)),
                Offer::SetupLink,
                "{mode:?}"
            );
        }
        assert!(Offer::SetupLink.words().contains("#/setup/"));
    }
}
