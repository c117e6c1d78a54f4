//! The audit log of moderation and administration: who did what to whom,
//! where and when, kept by the store ([`RoomStore::audit`]) and read by
//! administrators (`GET /api/admin/audit`).
//!
//! [`Audit`] is the one handle both use-case services write through:
//! [`crate::rooms::Rooms`] for rooms' moderation and settings, and
//! [`crate::accounts::Accounts`] for administration (accounts, roles,
//! states, invites, reset links, tokens made or revoked by an
//! administrator, and the same from `chat-server admin …`, whose entries
//! have no actor).
//!
//! What an entry does is an [`AuditAction`], whose dotted name is stable:
//! tools may filter on it. Its detail is words for a person, never a
//! secret (a token, a link, a password) nor a message's text.
//!
//! An entry is written after the action it records committed, and a
//! failure to write it does not undo or fail the action (which happened,
//! and which a retry would repeat): it is logged as an error, so that a
//! lost entry is itself on record.

use crate::store::rooms::{AuditEntry, AuditId, NewAuditEntry};
use crate::store::{RoomStore, StoreError};
use common::{RoomName, UserId};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A room was made (with `POST /api/rooms`, or by joining a new name).
    RoomCreate,
    /// A room's title was set or removed.
    RoomRename,
    /// A room's topic was set.
    RoomTopic,
    /// A room became public or private.
    RoomKind,
    /// A room was archived.
    RoomArchive,
    /// A room was brought back from the archive.
    RoomUnarchive,
    /// Someone was added to a room by someone else.
    MemberAdd,
    /// A member was removed from a room.
    MemberRemove,
    /// A member's role in a room changed.
    MemberRole,
    /// Someone was banned from a room.
    Ban,
    /// A ban was lifted.
    Unban,
    /// A member was muted.
    Mute,
    /// A member's mute was lifted.
    Unmute,
    /// An administrator made an account (a person or a bot).
    AccountCreate,
    /// An account's role changed.
    AccountRole,
    /// An account was deactivated.
    AccountDeactivate,
    /// An account was reactivated.
    AccountReactivate,
    /// A password reset link was made for an account.
    ResetLink,
    /// An invite was made.
    InviteCreate,
    /// An invite was revoked.
    InviteRevoke,
    /// An administrator made an API token for an account.
    TokenCreate,
    /// An administrator revoked an account's API token.
    TokenRevoke,
}

impl AuditAction {
    /// Every action, for the documentation's list and its tests.
    pub const ALL: [Self; 22] = [
        Self::RoomCreate,
        Self::RoomRename,
        Self::RoomTopic,
        Self::RoomKind,
        Self::RoomArchive,
        Self::RoomUnarchive,
        Self::MemberAdd,
        Self::MemberRemove,
        Self::MemberRole,
        Self::Ban,
        Self::Unban,
        Self::Mute,
        Self::Unmute,
        Self::AccountCreate,
        Self::AccountRole,
        Self::AccountDeactivate,
        Self::AccountReactivate,
        Self::ResetLink,
        Self::InviteCreate,
        Self::InviteRevoke,
        Self::TokenCreate,
        Self::TokenRevoke,
    ];

    /// The stable dotted name the log keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomCreate => "room.create",
            Self::RoomRename => "room.rename",
            Self::RoomTopic => "room.topic",
            Self::RoomKind => "room.kind",
            Self::RoomArchive => "room.archive",
            Self::RoomUnarchive => "room.unarchive",
            Self::MemberAdd => "room.member.add",
            Self::MemberRemove => "room.member.remove",
            Self::MemberRole => "room.member.role",
            Self::Ban => "room.ban",
            Self::Unban => "room.unban",
            Self::Mute => "room.mute",
            Self::Unmute => "room.unmute",
            Self::AccountCreate => "account.create",
            Self::AccountRole => "account.role",
            Self::AccountDeactivate => "account.deactivate",
            Self::AccountReactivate => "account.reactivate",
            Self::ResetLink => "account.reset_link",
            Self::InviteCreate => "invite.create",
            Self::InviteRevoke => "invite.revoke",
            Self::TokenCreate => "token.create",
            Self::TokenRevoke => "token.revoke",
        }
    }
}

/// One entry to write: built with [`Entry::new`] and its setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    actor: Option<UserId>,
    action: AuditAction,
    target_user: Option<UserId>,
    room: Option<RoomName>,
    detail: String,
}

impl Entry {
    /// `action` by `actor` (`None`: the command line).
    pub fn new(actor: Option<UserId>, action: AuditAction) -> Self {
        Self {
            actor,
            action,
            target_user: None,
            room: None,
            detail: String::new(),
        }
    }

    /// To this account.
    pub fn target(mut self, user: UserId) -> Self {
        self.target_user = Some(user);
        self
    }

    /// In this room.
    pub fn room(mut self, room: &RoomName) -> Self {
        self.room = Some(room.clone());
        self
    }

    /// With these words (never a secret nor a message's text).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// The audit log. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn RoomStore>,
}

impl Audit {
    /// The log kept in `store`.
    pub fn new(store: Arc<dyn RoomStore>) -> Self {
        Self { store }
    }

    /// Writes `entry` at `now` (milliseconds since the epoch); a failure
    /// is logged, not returned (see the module's documentation).
    pub async fn record(&self, entry: Entry, now: u64) {
        let action = entry.action.as_str();
        let written = self
            .store
            .audit(NewAuditEntry {
                actor: entry.actor,
                action: action.to_owned(),
                target_user: entry.target_user,
                room: entry.room,
                detail: entry.detail,
                now,
            })
            .await;
        if let Err(err) = written {
            tracing::error!(error = %err, action, actor = entry.actor, "an audit entry could not be written");
        }
    }

    /// Up to `limit` entries older than `before` (the newest when `None`),
    /// the newest first, and whether older ones exist.
    pub async fn page(
        &self,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let mut entries = self
            .store
            .audit_log(before, limit.saturating_add(1))
            .await?;
        let has_older = entries.len() > limit;
        entries.truncate(limit);
        Ok((entries, has_older))
    }
}

/// A time in milliseconds since the epoch, as words for people and the
/// audit log (RFC 3339, UTC, to the second).
pub fn time_words(ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn times_read_as_utc_to_the_second() {
        assert_eq!(time_words(1_700_000_000_999), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn every_action_has_its_own_dotted_name() {
        let names: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for name in names {
            assert!(
                name.split('.').count() >= 2
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{name}"
            );
        }
    }
}
