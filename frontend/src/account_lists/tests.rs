//! Host tests of the settings and administration lists.

use super::*;
use common::{DisplayName, Username};

const NOW: u64 = 1_800_000_000_000;

fn account(role: Role, kind: AccountKind, state: AccountState) -> AccountInfo {
    AccountInfo {
        id: 7,
        username: Username::parse("bob").expect("valid"),
        display_name: DisplayName::parse("Bob").expect("valid"),
        role,
        kind,
        state,
        created_ms: NOW - DAY_MS,
    }
}

fn invite(uses: u32, max_uses: Option<u32>, expires_ms: Option<u64>, revoked: bool) -> InviteInfo {
    InviteInfo {
        id: 3,
        created_by: Some(1),
        created_ms: NOW - 2 * HOUR_MS,
        expires_ms,
        max_uses,
        uses,
        revoked,
    }
}

#[test]
fn spans_are_said_in_the_largest_unit_that_reads_well() {
    assert_eq!(span_words(0), "less than a minute");
    assert_eq!(span_words(59_999), "less than a minute");
    assert_eq!(span_words(MINUTE_MS), "1 minute");
    assert_eq!(span_words(5 * MINUTE_MS + 29_000), "5 minutes");
    assert_eq!(span_words(5 * MINUTE_MS + 30_000), "6 minutes");
    assert_eq!(span_words(7 * DAY_MS - 5_000), "7 days", "a link just made");
    assert_eq!(span_words(HOUR_MS), "1 hour");
    assert_eq!(span_words(36 * HOUR_MS), "36 hours");
    assert_eq!(span_words(48 * HOUR_MS), "2 days");
    assert_eq!(span_words(3 * DAY_MS + HOUR_MS), "3 days");
}

#[test]
fn the_past_is_ago_and_the_future_expires() {
    assert_eq!(ago(NOW, NOW), "just now");
    assert_eq!(ago(NOW + 5_000, NOW), "just now", "a clock a little ahead");
    assert_eq!(ago(NOW - 5 * MINUTE_MS, NOW), "5 minutes ago");
    assert_eq!(ago(NOW - 3 * DAY_MS, NOW), "3 days ago");
    assert_eq!(expiry_words(None, NOW), "never expires");
    assert_eq!(expiry_words(Some(NOW), NOW), "expired");
    assert_eq!(expiry_words(Some(NOW - 1), NOW), "expired");
    assert_eq!(
        expiry_words(Some(NOW + 3 * DAY_MS), NOW),
        "expires in 3 days"
    );
    assert_eq!(
        expiry_words(Some(NOW + 24 * HOUR_MS), NOW),
        "expires in 24 hours"
    );
}

#[test]
fn a_link_is_given_with_this_pages_origin() {
    let token = "q3Xv0_-Ab9kLmN2pQrStUvWxYz0123456789abcdEFG";
    let server = format!("http://127.0.0.1:8080/#/invite/{token}");
    assert_eq!(
        page_link("http://127.0.0.1:8081", &server),
        format!("http://127.0.0.1:8081#/invite/{token}")
    );
    assert_eq!(
        page_link(
            "https://chat.example/",
            &format!("http://x/#/reset/{token}")
        ),
        format!("https://chat.example#/reset/{token}")
    );
    // Anything else is kept as the server wrote it.
    for odd in ["http://x/#/r/lobby", "http://x/no-fragment", "#/invite/a b"] {
        assert_eq!(page_link("http://y", odd), odd);
    }
}

#[test]
fn a_session_row_says_which_is_this_one_and_offers_to_end_the_others() {
    let mut session = SessionInfo {
        id: 4,
        device: "Chrome on Linux".to_owned(),
        created_ms: NOW - 2 * DAY_MS,
        last_seen_ms: NOW - 10 * MINUTE_MS,
        current: true,
    };
    let row = session_row(&session, NOW);
    assert_eq!(row.title, "Chrome on Linux");
    assert_eq!(row.tags, vec!["this session"]);
    assert_eq!(
        row.detail,
        "Last seen 10 minutes ago; signed in 2 days ago."
    );
    assert!(row.actions.is_empty(), "this one is ended by signing out");
    session.current = false;
    session.device = " ".to_owned();
    let row = session_row(&session, NOW);
    assert_eq!(row.title, "Unknown device");
    assert!(row.tags.is_empty());
    assert_eq!(row.actions, vec![Action::EndSession]);
    assert_eq!(Action::EndSession.confirmation(&row.name), None);
}

#[test]
fn a_token_row_says_when_it_was_used_and_asks_before_revoking() {
    let mut token = TokenInfo {
        id: 9,
        name: "deploy".to_owned(),
        created_ms: NOW - 3 * DAY_MS,
        last_used_ms: None,
    };
    let row = token_row(&token, NOW);
    assert_eq!(row.detail, "Made 3 days ago; never used.");
    assert_eq!(row.actions, vec![Action::RevokeToken]);
    let asked = Action::RevokeToken.confirmation(&row.name).expect("asks");
    assert!(asked.contains("\u{201c}deploy\u{201d}"), "{asked}");
    token.last_used_ms = Some(NOW - HOUR_MS);
    assert_eq!(
        token_row(&token, NOW).detail,
        "Made 3 days ago; last used 1 hour ago."
    );
}

#[test]
fn an_account_row_shows_role_kind_and_state() {
    let row = account_row(&account(
        Role::Admin,
        AccountKind::Person,
        AccountState::Active,
    ));
    assert_eq!(row.title, "Bob");
    assert_eq!(row.name, "Bob (bob)");
    assert_eq!(row.tags, vec!["administrator", "person", "active"]);
    assert_eq!(row.detail, "Username bob");
    assert!(!row.inactive);
    let row = account_row(&account(
        Role::Member,
        AccountKind::Bot,
        AccountState::Deactivated,
    ));
    assert_eq!(row.tags, vec!["member", "bot", "deactivated"]);
    assert!(row.inactive);
}

#[test]
fn each_account_is_offered_what_the_server_allows_for_it() {
    use AccountKind::{Bot, Person};
    use AccountState::{Active, Deactivated};
    use Role::{Admin, Member};
    for (role, kind, state, expected) in [
        (
            Member,
            Person,
            Active,
            vec![Action::MakeAdmin, Action::ResetLink, Action::Deactivate],
        ),
        (
            Admin,
            Person,
            Active,
            vec![Action::RemoveAdmin, Action::ResetLink, Action::Deactivate],
        ),
        (
            Member,
            Bot,
            Active,
            vec![Action::BotTokens, Action::Deactivate],
        ),
        (Member, Person, Deactivated, vec![Action::Reactivate]),
        (Admin, Person, Deactivated, vec![Action::Reactivate]),
        (
            Member,
            Bot,
            Deactivated,
            vec![Action::Reactivate, Action::BotTokens],
        ),
    ] {
        assert_eq!(
            account_actions(&account(role, kind, state)),
            expected,
            "{role:?} {kind:?} {state:?}"
        );
    }
}

#[test]
fn deactivating_asks_first_naming_the_person_and_what_happens() {
    let asked = Action::Deactivate
        .confirmation("Bob (bob)")
        .expect("asks first");
    assert!(asked.starts_with("Deactivate Bob (bob)?"), "{asked}");
    assert!(asked.contains("sessions end"), "{asked}");
    assert!(asked.contains("messages stay"), "{asked}");
    assert!(Action::MakeAdmin.confirmation("Bob (bob)").is_some());
    for quick in [
        Action::Reactivate,
        Action::RemoveAdmin,
        Action::ResetLink,
        Action::BotTokens,
    ] {
        assert_eq!(quick.confirmation("Bob (bob)"), None, "{quick:?}");
    }
}

#[test]
fn action_slugs_are_unique_for_element_ids() {
    let all = [
        Action::EndSession,
        Action::RevokeToken,
        Action::Deactivate,
        Action::Reactivate,
        Action::MakeAdmin,
        Action::RemoveAdmin,
        Action::ResetLink,
        Action::BotTokens,
        Action::RevokeInvite,
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a.slug(), b.slug());
        }
    }
}

#[test]
fn an_invite_row_counts_uses_and_says_why_it_no_longer_works() {
    let day = Some(NOW + DAY_MS + HOUR_MS);
    let row = invite_row(&invite(2, Some(5), day, false), NOW);
    assert_eq!(row.title, "Invite 3");
    assert_eq!(
        row.detail,
        "Made 2 hours ago; used 2 times, 3 left; expires in 25 hours."
    );
    assert!(row.tags.is_empty());
    assert_eq!(row.actions, vec![Action::RevokeInvite]);
    let row = invite_row(&invite(1, None, None, false), NOW);
    assert_eq!(
        row.detail,
        "Made 2 hours ago; used once, no limit; never expires."
    );
    for (info, tag) in [
        (invite(0, None, None, true), "revoked"),
        (invite(0, None, Some(NOW - 1), false), "expired"),
        (invite(5, Some(5), None, false), "used up"),
    ] {
        let row = invite_row(&info, NOW);
        assert_eq!(row.tags, vec![tag]);
        assert!(row.inactive);
        assert!(row.actions.is_empty(), "{tag}: nothing left to revoke");
    }
}

#[test]
fn account_changes_are_the_servers_updates_and_are_told_in_words() {
    assert_eq!(
        Action::Deactivate.account_update(),
        Some(AccountUpdate {
            role: None,
            state: Some(AccountState::Deactivated)
        })
    );
    assert_eq!(
        Action::Reactivate.account_update(),
        Some(AccountUpdate {
            role: None,
            state: Some(AccountState::Active)
        })
    );
    assert_eq!(
        Action::MakeAdmin.account_update(),
        Some(AccountUpdate {
            role: Some(Role::Admin),
            state: None
        })
    );
    assert_eq!(
        Action::RemoveAdmin.account_update(),
        Some(AccountUpdate {
            role: Some(Role::Member),
            state: None
        })
    );
    for other in [Action::ResetLink, Action::BotTokens, Action::RevokeToken] {
        assert_eq!(other.account_update(), None, "{other:?}");
    }
    let done = Action::Deactivate.done_words("Bob (bob)");
    assert!(done.starts_with("Bob (bob) is deactivated"), "{done}");
    assert!(done.contains("messages stay"), "{done}");
    assert_eq!(
        Action::MakeAdmin.done_words("Bob (bob)"),
        "Bob (bob) is now an administrator."
    );
}
