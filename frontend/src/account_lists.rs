//! The lists of the settings and administration pages as plain Rust: what
//! each row of sessions, tokens, accounts and invites shows, which actions
//! it offers and which of them ask first, times in words ("5 minutes
//! ago", "in 3 days"), and the one-time links as this page's origin names
//! them.
//!
//! Every list is one kind of [`Row`], drawn by one component
//! (`ui::account::rows`), so the client has that code once.

use crate::route::account_from_hash;
use common::api::accounts::{AccountInfo, AccountUpdate, InviteInfo, SessionInfo, TokenInfo};
use common::{AccountKind, AccountState, Role};

/// A minute, in milliseconds.
const MINUTE_MS: u64 = 60_000;
/// An hour, in milliseconds.
const HOUR_MS: u64 = 60 * MINUTE_MS;
/// A day, in milliseconds.
const DAY_MS: u64 = 24 * HOUR_MS;
/// Up to this long a span is said in hours ("36 hours"), then in days: a
/// day and a half is better said in hours than as "1 day".
const HOURS_UP_TO_MS: u64 = 48 * HOUR_MS;

/// What one can do with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// End one of one's other sessions.
    EndSession,
    /// Revoke an API token (one's own, or a bot's).
    RevokeToken,
    /// Deactivate an account: its sessions end, its messages stay.
    Deactivate,
    /// Let a deactivated account sign in again.
    Reactivate,
    /// Make a person an administrator.
    MakeAdmin,
    /// Make an administrator a member.
    RemoveAdmin,
    /// A one-time link to choose a new password.
    ResetLink,
    /// Show a bot's API tokens.
    BotTokens,
    /// Revoke an invite.
    RevokeInvite,
}

impl Action {
    /// Its button's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::EndSession => "Sign out",
            Self::RevokeToken | Self::RevokeInvite => "Revoke",
            Self::Deactivate => "Deactivate",
            Self::Reactivate => "Reactivate",
            Self::MakeAdmin => "Make administrator",
            Self::RemoveAdmin => "Remove administrator",
            Self::ResetLink => "Reset link",
            Self::BotTokens => "Tokens",
        }
    }

    /// A short name, unique among the actions, for element ids.
    pub fn slug(self) -> &'static str {
        match self {
            Self::EndSession => "end",
            Self::RevokeToken => "revoke",
            Self::Deactivate => "deactivate",
            Self::Reactivate => "reactivate",
            Self::MakeAdmin => "make-admin",
            Self::RemoveAdmin => "remove-admin",
            Self::ResetLink => "reset",
            Self::BotTokens => "tokens",
            Self::RevokeInvite => "revoke-invite",
        }
    }

    /// The question asked before doing it to the row named `name`, for the
    /// actions that cannot be undone or end someone's sessions.
    pub fn confirmation(self, name: &str) -> Option<String> {
        match self {
            Self::Deactivate => Some(format!(
                "Deactivate {name}? Their sessions end at once and they can no longer sign in; \
                 their messages stay."
            )),
            Self::MakeAdmin => Some(format!(
                "Make {name} an administrator? They can then manage every account and invite."
            )),
            Self::RevokeToken => Some(format!(
                "Revoke the token {name}? Whatever uses it stops working at once."
            )),
            Self::RevokeInvite => Some(format!(
                "Revoke {name}? Nobody can sign up with its link any more."
            )),
            _ => None,
        }
    }
}

impl Action {
    /// What an administrator is told once an account's change is done,
    /// for the account named `name`.
    pub fn done_words(self, name: &str) -> String {
        match self {
            Self::Deactivate => format!(
                "{name} is deactivated: their sessions ended and they cannot sign in; their \
                 messages stay."
            ),
            Self::Reactivate => format!("{name} is active again and can sign in."),
            Self::MakeAdmin => format!("{name} is now an administrator."),
            Self::RemoveAdmin => format!("{name} is now a member."),
            Self::EndSession => "That session is signed out.".to_owned(),
            Self::RevokeToken => "The token is revoked: it no longer works.".to_owned(),
            Self::RevokeInvite => "The invite is revoked: its link no longer works.".to_owned(),
            Self::ResetLink | Self::BotTokens => String::new(),
        }
    }

    /// The change an account action asks of `PATCH /api/admin/accounts/{id}`,
    /// for the actions that are one.
    pub fn account_update(self) -> Option<AccountUpdate> {
        let (role, state) = match self {
            Self::Deactivate => (None, Some(AccountState::Deactivated)),
            Self::Reactivate => (None, Some(AccountState::Active)),
            Self::MakeAdmin => (Some(Role::Admin), None),
            Self::RemoveAdmin => (Some(Role::Member), None),
            _ => return None,
        };
        Some(AccountUpdate { role, state })
    }
}

/// One row of a list: what it is called, its tags, a line of details,
/// and what can be done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The id of what it shows (a session, token, account or invite).
    pub id: u64,
    /// Its name, in bold.
    pub title: String,
    /// What it is named by in buttons and questions ("Bob (bob)").
    pub name: String,
    /// Short facts ("this session", "administrator", "bot").
    pub tags: Vec<&'static str>,
    /// A line of details.
    pub detail: String,
    /// Shown dimmed: deactivated, revoked or expired.
    pub inactive: bool,
    /// Its actions, in the order of its buttons.
    pub actions: Vec<Action>,
}

/// A span of time in words, rounded to its unit: "less than a minute",
/// "1 minute", "5 hours", "3 days".
pub fn span_words(ms: u64) -> String {
    let (unit_ms, unit) = if ms < MINUTE_MS {
        return "less than a minute".to_owned();
    } else if ms < HOUR_MS {
        (MINUTE_MS, "minute")
    } else if ms < HOURS_UP_TO_MS {
        (HOUR_MS, "hour")
    } else {
        (DAY_MS, "day")
    };
    // Rounded: a link made for 7 days, a moment later, still has 7.
    let count = (ms + unit_ms / 2) / unit_ms;
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

/// When something happened, from `now_ms`: "just now", "5 minutes ago".
pub fn ago(then_ms: u64, now_ms: u64) -> String {
    let past = now_ms.saturating_sub(then_ms);
    if past < MINUTE_MS {
        "just now".to_owned()
    } else {
        format!("{} ago", span_words(past))
    }
}

/// When a link expires, from `now_ms`: "expires in 3 days", "expired",
/// "never expires".
pub fn expiry_words(expires_ms: Option<u64>, now_ms: u64) -> String {
    match expires_ms {
        None => "never expires".to_owned(),
        Some(at) if at <= now_ms => "expired".to_owned(),
        Some(at) => format!("expires in {}", span_words(at - now_ms)),
    }
}

/// A one-time link the server made (`http://…/#/invite/<token>`) as this
/// page's `origin` reaches it: the server names itself by its
/// `--public-url`, which a page behind a proxy (or `trunk serve`) may not
/// be on. A link whose fragment names no account page is kept as the
/// server wrote it.
pub fn page_link(origin: &str, server_link: &str) -> String {
    match server_link.split_once('#') {
        Some((_, fragment)) if account_from_hash(fragment).is_some() => {
            format!("{}#{fragment}", origin.trim_end_matches('/'))
        }
        _ => server_link.to_owned(),
    }
}

/// A session of one's own: device, last seen, and "Sign out" unless it is
/// this one.
pub fn session_row(session: &SessionInfo, now_ms: u64) -> Row {
    let device = if session.device.trim().is_empty() {
        "Unknown device".to_owned()
    } else {
        session.device.clone()
    };
    Row {
        id: session.id,
        name: device.clone(),
        title: device,
        tags: if session.current {
            vec!["this session"]
        } else {
            Vec::new()
        },
        detail: format!(
            "Last seen {}; signed in {}.",
            ago(session.last_seen_ms, now_ms),
            ago(session.created_ms, now_ms)
        ),
        inactive: false,
        actions: if session.current {
            Vec::new()
        } else {
            vec![Action::EndSession]
        },
    }
}

/// An API token: its name, when it was made and last used.
pub fn token_row(token: &TokenInfo, now_ms: u64) -> Row {
    let used = match token.last_used_ms {
        Some(at) => format!("last used {}", ago(at, now_ms)),
        None => "never used".to_owned(),
    };
    Row {
        id: token.id,
        title: token.name.clone(),
        name: format!("\u{201c}{}\u{201d}", token.name),
        tags: Vec::new(),
        detail: format!("Made {}; {used}.", ago(token.created_ms, now_ms)),
        inactive: false,
        actions: vec![Action::RevokeToken],
    }
}

/// The actions an administrator is offered for `account`: no role for a
/// bot (the server refuses bots as administrators), a reset link only for
/// a person, tokens only for a bot, and reactivation only once
/// deactivated. The last administrator is offered what others are: the
/// server refuses, and its words are shown.
pub fn account_actions(account: &AccountInfo) -> Vec<Action> {
    let person = account.kind == AccountKind::Person;
    if account.state == AccountState::Deactivated {
        let mut actions = vec![Action::Reactivate];
        if !person {
            actions.push(Action::BotTokens);
        }
        return actions;
    }
    let mut actions = Vec::new();
    if person {
        actions.push(match account.role {
            Role::Admin => Action::RemoveAdmin,
            Role::Member => Action::MakeAdmin,
        });
        actions.push(Action::ResetLink);
    } else {
        actions.push(Action::BotTokens);
    }
    actions.push(Action::Deactivate);
    actions
}

/// An account, as administrators list it: display name, username, role,
/// kind and state.
pub fn account_row(account: &AccountInfo) -> Row {
    let role = match account.role {
        Role::Admin => "administrator",
        Role::Member => "member",
    };
    let kind = match account.kind {
        AccountKind::Person => "person",
        AccountKind::Bot => "bot",
    };
    let deactivated = account.state == AccountState::Deactivated;
    let state = if deactivated { "deactivated" } else { "active" };
    Row {
        id: account.id,
        title: account.display_name.to_string(),
        name: account_name(account),
        tags: vec![role, kind, state],
        detail: format!("Username {}", account.username),
        inactive: deactivated,
        actions: account_actions(account),
    }
}

/// How questions and messages name an account: "Bob (bob)".
pub fn account_name(account: &AccountInfo) -> String {
    format!("{} ({})", account.display_name, account.username)
}

/// An invite: how often it was used, how many uses are left, its expiry;
/// revocable while it can still be used.
pub fn invite_row(invite: &InviteInfo, now_ms: u64) -> Row {
    let uses = match invite.uses {
        1 => "used once".to_owned(),
        n => format!("used {n} times"),
    };
    let left = match invite.max_uses {
        Some(max) => format!("{} left", max.saturating_sub(invite.uses)),
        None => "no limit".to_owned(),
    };
    let expired = invite.expires_ms.is_some_and(|at| at <= now_ms);
    let used_up = invite.max_uses.is_some_and(|max| invite.uses >= max);
    let tag = if invite.revoked {
        Some("revoked")
    } else if expired {
        Some("expired")
    } else if used_up {
        Some("used up")
    } else {
        None
    };
    let expiry = expiry_words(invite.expires_ms, now_ms);
    Row {
        id: invite.id,
        title: format!("Invite {}", invite.id),
        name: format!("invite {}", invite.id),
        tags: tag.into_iter().collect(),
        detail: format!(
            "Made {}; {uses}, {left}; {expiry}.",
            ago(invite.created_ms, now_ms)
        ),
        inactive: tag.is_some(),
        actions: if tag.is_none() {
            vec![Action::RevokeInvite]
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests;
