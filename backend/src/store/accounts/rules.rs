//! The rules every backend's [`super::AccountStore`] applies, written once:
//! what a new account or link may be, when a link is refused, how long a
//! label is kept, and the errors that say so. A backend checks before it
//! writes (in the transaction that writes, where there is one).

use super::{Account, LinkKind, LinkRecord, NewAccount, NewLink, LABEL_MAX_CHARS};
use crate::store::{ErrorKind, StoreError};
use common::{AccountKind, UserId, Username};

/// `label` cut to [`LABEL_MAX_CHARS`] characters.
pub(crate) fn bounded_label(mut label: String) -> String {
    if let Some((cut, _)) = label.char_indices().nth(LABEL_MAX_CHARS) {
        label.truncate(cut);
    }
    label
}

/// Checks a new account against the store's rules: a bot has no password.
pub(crate) fn check_new_account(account: &NewAccount) -> Result<(), StoreError> {
    if account.kind == AccountKind::Bot && account.password_hash.is_some() {
        return Err(StoreError::invalid("a bot account has no password"));
    }
    Ok(())
}

/// Checks that `account` may get a password.
pub(crate) fn check_may_have_password(account: &Account) -> Result<(), StoreError> {
    if account.kind == AccountKind::Bot {
        return Err(StoreError::invalid(format!(
            "account {} is a bot, which has no password",
            account.id
        )));
    }
    Ok(())
}

/// A new link as stored: its `max_uses` as its kind wants it, or why it
/// breaks the rules of [`NewLink`].
pub(crate) fn checked_link(mut link: NewLink) -> Result<NewLink, StoreError> {
    match link.kind {
        LinkKind::Setup | LinkKind::Reset => {
            if link.max_uses.is_some_and(|max| max != 1) {
                return Err(StoreError::invalid(format!(
                    "a {} link is used once",
                    link.kind.as_str()
                )));
            }
            link.max_uses = Some(1);
        }
        LinkKind::Invite => {
            if link.max_uses == Some(0) {
                return Err(StoreError::invalid("an invite allows at least one use"));
            }
        }
    }
    match (link.kind, link.account) {
        (LinkKind::Reset, None) => Err(StoreError::invalid("a reset link names its account")),
        (LinkKind::Setup | LinkKind::Invite, Some(_)) => Err(StoreError::invalid(format!(
            "only a reset link names an account, not a {} link",
            link.kind.as_str()
        ))),
        _ => Ok(link),
    }
}

/// Why a link that was looked up for `kind` cannot be used at `now`, if
/// it cannot: one kind of error ([`ErrorKind::Gone`]) whatever the
/// reason, so that the answer tells nothing about other links.
pub(crate) fn usable_link(
    found: Option<LinkRecord>,
    kind: LinkKind,
    now: u64,
) -> Result<LinkRecord, StoreError> {
    match found {
        Some(link) if link.kind == kind && link.is_usable(now) => Ok(link),
        _ => Err(StoreError::gone(format!(
            "the {} link is not valid (unknown, expired, revoked or used up)",
            kind.as_str()
        ))),
    }
}

/// The error when the first administrator is asked for while an account
/// exists.
pub(crate) fn setup_done() -> StoreError {
    StoreError::gone("the setup is done: an account exists already")
}

/// The error for a username that is taken (ignoring case).
pub(crate) fn username_taken(username: &Username) -> StoreError {
    StoreError::new(
        ErrorKind::Conflict,
        format!("the username {username} is taken"),
    )
}

/// `err`, or, when it is a conflict (the only one an account's insert can
/// meet is its username's index), one that names the taken username.
pub(crate) fn taken_or(err: StoreError, username: &Username) -> StoreError {
    if err.kind() == ErrorKind::Conflict {
        return username_taken(username).with_source(err);
    }
    err
}

/// The error for an account that does not exist.
pub(crate) fn no_account(id: UserId) -> StoreError {
    StoreError::not_found(format!("no account {id}"))
}

/// The error for an account that cannot get a session.
pub(crate) fn no_active_account(id: UserId) -> StoreError {
    StoreError::not_found(format!("no active account {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ErrorKind;

    fn link(kind: LinkKind) -> NewLink {
        NewLink {
            kind,
            token_hash: [7; 32],
            created_by: None,
            account: (kind == LinkKind::Reset).then_some(1),
            expires_ms: None,
            max_uses: None,
            now: 0,
        }
    }

    #[test]
    fn setup_and_reset_links_are_used_once_and_only_reset_links_name_an_account() {
        for kind in [LinkKind::Setup, LinkKind::Reset] {
            assert_eq!(checked_link(link(kind)).expect("valid").max_uses, Some(1));
            let twice = NewLink {
                max_uses: Some(2),
                ..link(kind)
            };
            assert_eq!(
                checked_link(twice).map(|_| ()).map_err(|err| err.kind()),
                Err(ErrorKind::Invalid)
            );
        }
        assert_eq!(
            checked_link(link(LinkKind::Invite))
                .expect("valid")
                .max_uses,
            None
        );
        let orphan = NewLink {
            account: None,
            ..link(LinkKind::Reset)
        };
        assert!(checked_link(orphan).is_err());
        let invite_for_one = NewLink {
            account: Some(1),
            ..link(LinkKind::Invite)
        };
        assert!(checked_link(invite_for_one).is_err());
    }

    #[test]
    fn a_link_is_usable_until_it_expires_is_used_up_or_revoked() {
        let record = LinkRecord {
            id: 1,
            kind: LinkKind::Invite,
            created_by: None,
            account: None,
            created_ms: 0,
            expires_ms: Some(100),
            max_uses: Some(2),
            uses: 1,
            revoked: false,
        };
        assert!(record.is_usable(99));
        assert!(!record.is_usable(100), "expired at its time");
        assert!(!LinkRecord {
            uses: 2,
            ..record.clone()
        }
        .is_usable(0));
        assert!(!LinkRecord {
            revoked: true,
            ..record.clone()
        }
        .is_usable(0));
        let forever = LinkRecord {
            expires_ms: None,
            max_uses: None,
            uses: 1_000,
            ..record.clone()
        };
        assert!(forever.is_usable(u64::MAX));
        let err = usable_link(Some(record), LinkKind::Setup, 0).expect_err("another kind");
        assert_eq!(err.kind(), ErrorKind::Gone);
    }

    #[test]
    fn labels_are_cut_at_a_character_boundary() {
        let long = "ü".repeat(LABEL_MAX_CHARS + 5);
        assert_eq!(bounded_label(long).chars().count(), LABEL_MAX_CHARS);
        assert_eq!(bounded_label("Firefox".to_owned()), "Firefox");
    }
}
