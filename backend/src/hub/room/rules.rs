//! Who may post in a running room, as its task knows it: whether the room
//! is archived, and which of its people are muted, until when. The store
//! keeps both ([`crate::store::RoomStore`]); the task keeps a copy so that
//! a post is checked without a read, and the rooms' use cases
//! ([`crate::rooms`]) change it through the hub ([`Moderation`]) after
//! each change is committed.
//!
//! A joiner brings what the store said of it when it joined
//! ([`JoinGrant`]). A grant read just before a moderator's change can
//! reach the room just after that change: so a grant may add a mute but
//! never lifts one (an unmute comes as a [`Moderation::Mute`] of its own),
//! and whether the room is archived is taken from the newest grant or
//! change. Only the people muted are kept: most rooms keep nothing.

use common::{ErrorCode, RequestError, ServerFrame, UserId};
use std::collections::HashMap;
use std::sync::Arc;

/// What the store said of a joiner when it was admitted: what the room
/// needs to check its posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JoinGrant {
    /// Until when the joiner may not post (milliseconds since the Unix
    /// epoch), if muted.
    pub muted_until: Option<u64>,
    /// Whether the room is archived: nobody posts.
    pub archived: bool,
}

/// A change to who may post or be in a running room, made after the store
/// committed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderation {
    /// The person is no longer a member (left on another device, removed,
    /// banned): their connections leave the room here at once.
    Remove {
        /// Whose connections.
        user: UserId,
    },
    /// The person is muted until `until`, or no longer muted (`None`).
    Mute {
        /// Who.
        user: UserId,
        /// Until when (milliseconds since the Unix epoch).
        until: Option<u64>,
    },
    /// The room's settings changed: whether it is archived now, and the
    /// `room_changed` frame its connections are to get.
    Changed {
        /// Archived or not.
        archived: bool,
        /// What the connections are told.
        frame: Box<ServerFrame>,
    },
    /// What the store holds now, after changes may have been missed: every
    /// member and the end of their mute, if muted. Anyone else here
    /// leaves.
    Resync(Arc<HashMap<UserId, Option<u64>>>),
}

/// A running room's rules for posting.
#[derive(Debug, Default)]
pub(super) struct PostRules {
    archived: bool,
    /// Muted people and the end of their mute; an ended one is dropped
    /// when next checked.
    muted: HashMap<UserId, u64>,
}

impl PostRules {
    /// Takes what a joiner's grant says, as the module explains.
    pub(super) fn admit(&mut self, user: UserId, grant: JoinGrant) {
        self.archived = grant.archived;
        if let Some(until) = grant.muted_until {
            let kept = self.muted.entry(user).or_insert(until);
            *kept = (*kept).max(until);
        }
    }

    /// Applies a change to the rules; a removal changes none.
    pub(super) fn apply(&mut self, change: &Moderation) {
        match change {
            Moderation::Remove { .. } => {}
            Moderation::Mute { user, until: None } => {
                self.muted.remove(user);
            }
            Moderation::Mute {
                user,
                until: Some(until),
            } => {
                self.muted.insert(*user, *until);
            }
            Moderation::Changed { archived, .. } => self.archived = *archived,
            Moderation::Resync(members) => {
                self.muted = members
                    .iter()
                    .filter_map(|(user, until)| until.map(|until| (*user, until)))
                    .collect();
            }
        }
    }

    /// Why `user` may not post at `now` (milliseconds since the Unix
    /// epoch), if they may not.
    pub(super) fn refusal(&mut self, user: UserId, now: u64) -> Option<RequestError> {
        if self.archived {
            return Some(RequestError::new(
                ErrorCode::Archived,
                "this room is archived: it can be read, but nobody can post in it",
            ));
        }
        let until = *self.muted.get(&user)?;
        if until <= now {
            self.muted.remove(&user);
            return None;
        }
        Some(RequestError::new(
            ErrorCode::Muted,
            format!(
                "a moderator has muted you in this room for {} more; you can still read it",
                remaining(until - now)
            ),
        ))
    }
}

/// A duration in words, rounded up to the minute: "1 minute", "2 hours
/// 5 minutes", "3 days".
fn remaining(ms: u64) -> String {
    let minutes = ms.div_ceil(60_000);
    let (days, hours, minutes) = (minutes / 1_440, minutes / 60 % 24, minutes % 60);
    let part = |n: u64, unit: &str| match n {
        0 => None,
        1 => Some(format!("1 {unit}")),
        n => Some(format!("{n} {unit}s")),
    };
    let parts: Vec<String> = [
        part(days, "day"),
        part(hours, "hour"),
        part(minutes, "minute"),
    ]
    .into_iter()
    .flatten()
    .take(2)
    .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    #[test]
    fn a_muted_person_is_refused_until_the_mute_ends() {
        let mut rules = PostRules::default();
        rules.apply(&Moderation::Mute {
            user: 7,
            until: Some(10 * MINUTE),
        });
        let refused = rules.refusal(7, 0).expect("muted");
        assert_eq!(refused.code, ErrorCode::Muted);
        assert!(
            refused.message.contains("10 minutes"),
            "{}",
            refused.message
        );
        assert!(rules.refusal(8, 0).is_none(), "only the muted person");
        assert!(
            rules.refusal(7, 10 * MINUTE).is_none(),
            "the mute has ended"
        );
        assert!(rules.muted.is_empty(), "an ended mute is forgotten");
    }

    #[test]
    fn a_grant_adds_a_mute_but_never_lifts_one() {
        let mut rules = PostRules::default();
        rules.apply(&Moderation::Mute {
            user: 7,
            until: Some(5 * MINUTE),
        });
        rules.admit(7, JoinGrant::default());
        assert!(rules.refusal(7, 0).is_some(), "a stale grant lifts nothing");
        rules.admit(
            9,
            JoinGrant {
                muted_until: Some(MINUTE),
                archived: false,
            },
        );
        assert!(rules.refusal(9, 0).is_some());
        rules.apply(&Moderation::Mute {
            user: 7,
            until: None,
        });
        assert!(rules.refusal(7, 0).is_none(), "an unmute lifts it");
        let stored = HashMap::from([(7, Some(MINUTE)), (9, None)]);
        rules.apply(&Moderation::Resync(Arc::new(stored)));
        assert!(rules.refusal(7, 0).is_some(), "as the store says");
        assert!(rules.refusal(9, 0).is_none(), "as the store says");
    }

    #[test]
    fn nobody_posts_in_an_archived_room() {
        let mut rules = PostRules::default();
        let frame = ServerFrame::Read {
            room: common::RoomName::parse("team").expect("valid"),
            last_read: 0,
        };
        rules.apply(&Moderation::Changed {
            archived: true,
            frame: Box::new(frame),
        });
        assert_eq!(
            rules.refusal(1, 0).map(|err| err.code),
            Some(ErrorCode::Archived)
        );
        rules.admit(1, JoinGrant::default());
        assert!(rules.refusal(1, 0).is_none(), "the newest word counts");
    }

    #[test]
    fn durations_read_in_words() {
        assert_eq!(remaining(1), "1 minute");
        assert_eq!(remaining(61 * MINUTE), "1 hour 1 minute");
        assert_eq!(
            remaining(2 * 1_440 * MINUTE + 3 * 60 * MINUTE + 1),
            "2 days 3 hours"
        );
    }
}
