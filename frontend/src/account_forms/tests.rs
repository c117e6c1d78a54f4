//! Host tests of the account forms' checks and of the errors in words.

use super::*;
use common::account::{PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS};

fn fields(username: &str, display_name: &str, password: &str, again: &str) -> NewAccountFields {
    NewAccountFields {
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        password: password.to_owned(),
        password_again: again.to_owned(),
    }
}

fn error(status: u16, code: &str, message: &str, retry_after: Option<&str>) -> ApiError {
    let body = format!(r#"{{"code":"{code}","message":"{message}"}}"#);
    ApiError::from_response(status, &body, retry_after)
}

#[test]
fn a_good_setup_form_makes_its_request_with_the_values_as_the_server_keeps_them() {
    let form = fields("Ann.Lee", "  Ann Lee ", "correct horse", "correct horse");
    let request = form.setup_request("tok").expect("valid");
    assert_eq!(request.token, "tok");
    assert_eq!(request.username.as_str(), "ann.lee");
    assert_eq!(request.display_name.as_str(), "Ann Lee");
    assert_eq!(request.password, "correct horse");
}

#[test]
fn signup_carries_the_invite_or_none_for_open_signup() {
    let form = fields("bob", "Bob", "12345678", "12345678");
    let invited = form.signup_request(Some("inv")).expect("valid");
    assert_eq!(invited.invite.as_deref(), Some("inv"));
    assert_eq!(form.signup_request(None).expect("valid").invite, None);
}

#[test]
fn every_broken_rule_is_said_at_its_field_in_the_forms_order() {
    let problems = fields("a", "", "short", "short")
        .setup_request("t")
        .expect_err("invalid");
    assert_eq!(problems.first(), Some(Field::Username));
    assert_eq!(
        problems.get(Field::Username),
        Some("The username must have 2 to 32 characters.")
    );
    assert_eq!(
        problems.get(Field::DisplayName),
        Some("Choose a display name.")
    );
    assert_eq!(
        problems.get(Field::Password),
        Some("The password must have at least 8 characters.")
    );
    // The confirmation is not judged until the password itself is good.
    assert_eq!(problems.get(Field::PasswordAgain), None);

    let problems = fields("ann lee", "Ann\u{7}", "12345678", "")
        .signup_request(None)
        .expect_err("invalid");
    assert_eq!(
        problems.get(Field::Username),
        Some("The username may only contain a-z, 0-9, '.', '_' and '-'.")
    );
    assert_eq!(
        problems.get(Field::DisplayName),
        Some("The display name contains control characters.")
    );
    assert_eq!(
        problems.get(Field::PasswordAgain),
        Some("Type the password again.")
    );
}

#[test]
fn empty_fields_ask_for_what_is_missing() {
    let problems = fields("  ", "", "", "")
        .setup_request("t")
        .expect_err("empty");
    assert_eq!(problems.get(Field::Username), Some("Choose a username."));
    assert_eq!(problems.get(Field::Password), Some("Choose a password."));
}

#[test]
fn the_confirmation_must_match() {
    let problems = fields("ann", "Ann", "12345678", "12345679")
        .setup_request("t")
        .expect_err("differ");
    assert_eq!(problems.first(), Some(Field::PasswordAgain));
    assert_eq!(
        problems.get(Field::PasswordAgain),
        Some("The two passwords differ; type the same one twice.")
    );
}

#[test]
fn limits_are_commons() {
    let longest = "x".repeat(USERNAME_MAX_CHARS);
    let min = "p".repeat(PASSWORD_MIN_CHARS);
    assert!(fields(&longest, "X", &min, &min).setup_request("t").is_ok());
    let too_long = "x".repeat(USERNAME_MAX_CHARS + 1);
    assert!(fields(&too_long, "X", &min, &min)
        .setup_request("t")
        .is_err());
    let huge = "p".repeat(PASSWORD_MAX_BYTES + 1);
    let problems = fields("ann", "Ann", &huge, &huge)
        .setup_request("t")
        .expect_err("too long");
    assert_eq!(
        problems.get(Field::Password),
        Some("The password is longer than 1024 bytes.")
    );
    // Passwords are taken as typed: spaces count and are kept.
    let spaced = "  spaced  ";
    let request = fields("ann", "Ann", spaced, spaced)
        .setup_request("t")
        .expect("valid");
    assert_eq!(request.password, spaced);
}

#[test]
fn a_reset_needs_a_good_password_twice() {
    let good = NewPasswordFields {
        password: "new password".to_owned(),
        password_again: "new password".to_owned(),
    };
    let request = good.reset_request("tok").expect("valid");
    assert_eq!(
        (request.token.as_str(), request.password.as_str()),
        ("tok", "new password")
    );
    let bad = NewPasswordFields {
        password: "new password".to_owned(),
        password_again: "new passwort".to_owned(),
    };
    assert_eq!(
        bad.reset_request("tok").expect_err("differ").first(),
        Some(Field::PasswordAgain)
    );
}

#[test]
fn a_password_change_needs_the_old_one_and_a_new_one() {
    let change = |current: &str, new: &str, again: &str| PasswordChangeFields {
        current_password: current.to_owned(),
        password: new.to_owned(),
        password_again: again.to_owned(),
    };
    let request = change("old", "new enough", "new enough")
        .request()
        .expect("an old password under older rules is fine");
    assert_eq!(request.current_password, "old");
    assert_eq!(request.new_password, "new enough");

    let problems = change("", "short", "").request().expect_err("invalid");
    assert_eq!(problems.first(), Some(Field::CurrentPassword));
    assert_eq!(
        problems.get(Field::CurrentPassword),
        Some("Type your password now.")
    );
    assert!(problems.get(Field::Password).is_some());

    let same = change("same password", "same password", "same password");
    assert_eq!(
        same.request().expect_err("unchanged").get(Field::Password),
        Some("The new password is the one you have now; choose another.")
    );
}

#[test]
fn profile_and_token_names_are_checked() {
    assert_eq!(
        profile_update("  Zoë ")
            .expect("valid")
            .display_name
            .as_str(),
        "Zoë"
    );
    assert_eq!(
        profile_update(" ")
            .expect_err("empty")
            .get(Field::DisplayName),
        Some("Choose a display name.")
    );
    assert_eq!(
        profile_update(&"n".repeat(200))
            .expect_err("long")
            .get(Field::DisplayName),
        Some("The display name is longer than 32 characters.")
    );
    assert_eq!(token_request(" deploy ").expect("valid").name, "deploy");
    assert!(token_request("").is_err());
    assert!(token_request("a\nb").is_err());
    assert!(token_request(&"t".repeat(TOKEN_NAME_MAX_CHARS)).is_ok());
    assert!(token_request(&"t".repeat(TOKEN_NAME_MAX_CHARS + 1)).is_err());
}

#[test]
fn an_administrators_new_account_is_a_person_with_or_without_a_password_or_a_bot() {
    let mut form = AdminAccountFields {
        username: "Deploy-Bot".to_owned(),
        display_name: "Deploy bot".to_owned(),
        kind: AccountKind::Bot,
        role: Role::Member,
        password: "ignored for bots".to_owned(),
    };
    let bot = form.request().expect("valid");
    assert_eq!(bot.username.as_str(), "deploy-bot");
    assert_eq!(
        (bot.kind, bot.role, bot.password),
        (AccountKind::Bot, Role::Member, None)
    );

    form.kind = AccountKind::Person;
    form.role = Role::Admin;
    form.password = String::new();
    let person = form.request().expect("a reset link gives the password");
    assert_eq!(
        (person.kind, person.role, person.password),
        (AccountKind::Person, Role::Admin, None)
    );

    form.password = "short".to_owned();
    assert_eq!(
        form.request().expect_err("short").first(),
        Some(Field::Password)
    );
    form.password = "long enough".to_owned();
    assert_eq!(
        form.request().expect("valid").password.as_deref(),
        Some("long enough")
    );
    assert_eq!(AdminAccountFields::default().kind, AccountKind::Person);
}

#[test]
fn invites_have_an_expiry_and_a_number_of_uses() {
    let invite = invite_request(InviteExpiry::Day, "").expect("valid");
    assert_eq!(invite.expires_in_secs, Some(86_400));
    assert_eq!(invite.max_uses, None);
    let invite = invite_request(InviteExpiry::Never, " 5 ").expect("valid");
    assert_eq!((invite.expires_in_secs, invite.max_uses), (None, Some(5)));
    for bad in ["0", "-1", "1.5", "ten", "10001"] {
        assert_eq!(
            invite_request(InviteExpiry::Week, bad)
                .expect_err(bad)
                .first(),
            Some(Field::MaxUses)
        );
    }
    for choice in InviteExpiry::ALL {
        assert_eq!(InviteExpiry::from_value(choice.value()), Some(choice));
    }
    assert_eq!(InviteExpiry::from_value("year"), None);
    assert_eq!(InviteExpiry::default(), InviteExpiry::Week);
    assert_eq!(InviteExpiry::Month.secs(), Some(30 * 86_400));
}

#[test]
fn the_errors_of_the_brief_read_as_written() {
    assert_eq!(
        explain(&error(
            401,
            "invalid_credentials",
            "wrong username or password",
            None
        )),
        "Wrong username or password."
    );
    assert_eq!(
        explain(&error(429, "rate_limited", "slow down", Some("30"))),
        "Too many tries; wait 30 seconds."
    );
    assert_eq!(
        explain(&error(410, "link_invalid", "gone", None)),
        "This link was already used or has expired; ask an administrator for a new one."
    );
    assert_eq!(
        explain(&error(409, "username_taken", "taken", None)),
        "This username is taken; choose another."
    );
    assert_eq!(
        explain(&error(403, "signup_closed", "closed", None)),
        "This server does not let people sign up this way; ask an administrator for an invite."
    );
}

#[test]
fn waits_are_in_seconds_then_minutes() {
    assert_eq!(wait_words(1), "1 second");
    assert_eq!(wait_words(0), "1 second");
    assert_eq!(wait_words(59), "59 seconds");
    assert_eq!(wait_words(119), "119 seconds");
    assert_eq!(wait_words(120), "2 minutes");
    assert_eq!(wait_words(900), "15 minutes");
    assert_eq!(wait_words(901), "16 minutes");
    assert_eq!(
        explain(&error(429, "rate_limited", "x", Some("1"))),
        "Too many tries; wait 1 second."
    );
    assert_eq!(
        explain(&error(429, "rate_limited", "x", None)),
        "Too many tries; wait a minute and try again."
    );
    assert_eq!(
        explain(&error(503, "unavailable", "x", Some("10"))),
        "The server is busy; try again in 10 seconds."
    );
}

/// Every code the server may send, in the status the route table gives
/// it: each has words, and none is empty or the bare code.
#[test]
fn every_code_has_words() {
    let codes = [
        ErrorCode::BadRequest,
        ErrorCode::Unsupported,
        ErrorCode::InvalidRoom,
        ErrorCode::InvalidName,
        ErrorCode::NameTaken,
        ErrorCode::EmptyText,
        ErrorCode::TooLong,
        ErrorCode::InvalidText,
        ErrorCode::InvalidNonce,
        ErrorCode::NotJoined,
        ErrorCode::AlreadyJoined,
        ErrorCode::TooManyRooms,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidUsername,
        ErrorCode::InvalidPassword,
        ErrorCode::UsernameTaken,
        ErrorCode::NotFound,
        ErrorCode::LinkInvalid,
        ErrorCode::SignupClosed,
        ErrorCode::ProtocolVersion,
    ];
    for code in codes {
        for message in ["", "the server's own words"] {
            let words = explain(&error(400, code.as_str(), message, None));
            assert!(words.len() > 10, "{code}: {words:?}");
            assert!(!words.contains(code.as_str()), "{code}: {words:?}");
            assert!(words.starts_with(char::is_uppercase), "{code}: {words:?}");
            assert!(words.ends_with('.'), "{code}: {words:?}");
        }
    }
}

#[test]
fn rule_errors_keep_the_servers_words_and_point_at_their_field() {
    let invalid = error(
        400,
        "invalid_password",
        "the password must have at least 8 characters",
        None,
    );
    assert_eq!(
        explain(&invalid),
        "The password must have at least 8 characters."
    );
    assert_eq!(field_of(invalid.code()), Some(Field::Password));
    assert_eq!(field_of(ErrorCode::UsernameTaken), Some(Field::Username));
    assert_eq!(field_of(ErrorCode::InvalidUsername), Some(Field::Username));
    assert_eq!(field_of(ErrorCode::InvalidName), Some(Field::DisplayName));
    assert_eq!(field_of(ErrorCode::InvalidCredentials), None);
    assert_eq!(field_of(ErrorCode::LinkInvalid), None);
    assert_eq!(
        explain(&error(403, "forbidden", "", None)),
        "You may not do this."
    );
}

#[test]
fn no_answer_and_a_proxys_page_are_explained_too() {
    assert_eq!(
        explain(&ApiError::offline()),
        "No answer from the server; check the connection and try again."
    );
    let proxy = ApiError::from_response(502, "<html>Bad Gateway</html>", None);
    assert_eq!(
        explain(&proxy),
        "The server cannot do this right now; try again in a moment."
    );
    let signed_out = ApiError::from_response(401, "", None);
    assert_eq!(
        explain(&signed_out),
        "You are signed out (the session ended); sign in again."
    );
}

#[test]
fn sentences_start_with_a_capital_and_end_with_a_stop() {
    assert_eq!(sentence("the name is empty"), "The name is empty.");
    assert_eq!(sentence("Done!"), "Done!");
    assert_eq!(sentence("  "), "");
    // Only ASCII letters are raised (the texts are English; the client
    // carries no Unicode case tables).
    assert_eq!(sentence("über."), "über.");
}
