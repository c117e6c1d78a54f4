//! Who may do what in a room: one pure function, [`decide`], from the
//! caller's account role, what they are to the room (an
//! [`Access`], one read of the store) and what they ask ([`Action`]), to
//! yes or a [`Denial`]. Every use case of [`super::Rooms`] asks it first,
//! so the rules are here and nowhere else:
//!
//! - **Seeing a room.** A public room is seen by everyone signed in. A
//!   private room or a direct conversation is seen by its members and by
//!   administrators only; to anyone else every action answers
//!   [`Denial::NotFound`], the answer for a room that does not exist, so
//!   that neither its existence nor its members leak. Its slug is still
//!   taken: making a room of that name says so, which nothing can avoid.
//! - **Public rooms.** Anyone signed in reads them, joins them and posts
//!   in them (a bot posts without joining, as before rooms had members);
//!   members add people.
//! - **Private rooms.** Members read, post and add people.
//! - **Direct conversations.** Their people are fixed by their slug:
//!   nobody joins, is added, leaves, is removed, banned or muted, and
//!   their kind never changes, nor are they archived. Their people read,
//!   post, and may give them a title and a topic (roles mean nothing
//!   there: the starter, stored as owner, is one of the people).
//! - **Bans.** A banned person may do nothing: in a public room every
//!   action answers [`Denial::Banned`]; of a private room, the outsider's
//!   [`Denial::NotFound`].
//! - **Archived rooms** are read-only: nobody posts, renames them, or
//!   changes their topic or kind until they are un-archived (which is an
//!   [`Action::Archive`] too). Reading, joining (to follow it), membership
//!   and moderation go on.
//! - **Mutes.** A muted member reads and does all but post.
//! - **Roles.** The owner renames, sets the topic, changes the kind
//!   (public and private), archives, names moderators and moderates.
//!   Moderators (and the owner) remove members, ban and unban, mute and
//!   unmute, and list bans. An owner cannot leave their room (archive it
//!   instead), and nobody acts on themselves (leave instead).
//! - **Rank.** A moderation action needs a rank above its target's:
//!   administrator, then owner, then moderator, then everyone else. So a
//!   moderator acts on neither the owner, an administrator, nor another
//!   moderator; an owner acts on moderators and members.
//! - **Administrators** (the account's [`Role::Admin`]) pass every check
//!   of membership and role, in every room, member or not: they read
//!   private rooms and direct conversations, and do what an owner does.
//!   The rules of a room's kind and state still bind them (nobody joins a
//!   direct conversation, nobody posts in an archived room). A ban does
//!   not take their powers (they may lift it), though the store keeps
//!   them out of the room's membership until they do.

use crate::store::rooms::Access;
use common::{Role, RoomKind, RoomRole};

/// What a caller asks to do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See it: its details, its members, its history.
    Read,
    /// Become a member (a member joining again changes nothing).
    Join,
    /// Post a message.
    Post,
    /// End one's own membership.
    Leave,
    /// Make someone else a member.
    AddMember,
    /// Record how far one has read.
    MarkRead,
    /// See who is banned.
    ListBans,
    /// Give it a title or remove it.
    Rename,
    /// Set its topic.
    SetTopic,
    /// Make it public or private.
    ChangeKind,
    /// Archive it, or bring it back.
    Archive,
    /// End someone's membership.
    RemoveMember(Target),
    /// Make a member a moderator or a plain member.
    SetRole(Target),
    /// Ban someone (a member or not).
    Ban(Target),
    /// Lift a ban.
    Unban,
    /// Mute a member.
    Mute(Target),
    /// Lift a member's mute.
    Unmute(Target),
}

/// The person a moderation action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Their role in the room, when they are a member.
    pub role: Option<RoomRole>,
    /// Whether their account is an administrator.
    pub admin: bool,
    /// Whether they are the caller.
    pub is_self: bool,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No such room, as far as the caller may know.
    NotFound,
    /// They see the room but may not do this; the words say why.
    Forbidden(&'static str),
    /// They are banned from this public room.
    Banned,
    /// They are muted until this time (milliseconds since the epoch).
    Muted {
        /// When the mute ends.
        until: u64,
    },
    /// The room is archived.
    Archived,
    /// The action needs a membership that the caller (or the target)
    /// does not have.
    NotMember,
}

/// The caller's power in one room.
#[derive(Debug, Clone, Copy)]
struct Standing {
    admin: bool,
    /// Their role, when they are a member.
    role: Option<RoomRole>,
}

impl Standing {
    fn is_member(self) -> bool {
        self.role.is_some()
    }

    fn moderates(self) -> bool {
        self.admin || self.role.is_some_and(RoomRole::moderates)
    }

    fn owns(self) -> bool {
        self.admin || self.role == Some(RoomRole::Owner)
    }
}

/// A person's rank for moderation: administrator, owner, moderator, the
/// rest.
fn rank(admin: bool, role: Option<RoomRole>) -> u8 {
    match (admin, role) {
        (true, _) => 3,
        (false, Some(RoomRole::Owner)) => 2,
        (false, Some(RoomRole::Moderator)) => 1,
        (false, Some(RoomRole::Member) | None) => 0,
    }
}

/// Whether the caller of account role `account`, who is `access` to the
/// room, may do `action` at `now` (milliseconds since the epoch, for
/// mutes). See the module's documentation for the rules.
pub fn decide(account: Role, access: &Access, action: Action, now: u64) -> Result<(), Denial> {
    let admin = account == Role::Admin;
    let (room, member) = match access {
        Access::NoRoom => return Err(Denial::NotFound),
        Access::Member(room, member) => (room, Some(member)),
        Access::Outsider(room) => (room, None),
        Access::Banned(room) if admin => (room, None),
        Access::Banned(room) if room.kind == RoomKind::Public => return Err(Denial::Banned),
        Access::Banned(_) => return Err(Denial::NotFound),
    };
    let standing = Standing {
        admin,
        role: member.map(|member| member.role),
    };
    if room.kind != RoomKind::Public && !standing.is_member() && !admin {
        return Err(Denial::NotFound);
    }
    if room.kind == RoomKind::Direct {
        direct_rule(standing, action)?;
    }
    role_rule(room.kind, standing, action)?;
    let frozen = matches!(
        action,
        Action::Post | Action::Rename | Action::SetTopic | Action::ChangeKind
    );
    if room.archived && frozen {
        return Err(Denial::Archived);
    }
    match (action, member) {
        (Action::Post, Some(member)) if member.is_muted(now) => Err(Denial::Muted {
            until: member.muted_until.unwrap_or(now),
        }),
        _ => Ok(()),
    }
}

/// What nobody does in a direct conversation, whose people are fixed.
fn direct_rule(standing: Standing, action: Action) -> Result<(), Denial> {
    match action {
        Action::Read | Action::Post | Action::MarkRead | Action::Rename | Action::SetTopic => {
            Ok(())
        }
        Action::Join if standing.is_member() => Ok(()),
        Action::Join | Action::AddMember => Err(Denial::Forbidden(
            "a direct conversation's people are fixed: start another with them",
        )),
        Action::Leave => Err(Denial::Forbidden(
            "a direct conversation cannot be left; its people are fixed",
        )),
        Action::ChangeKind | Action::Archive => Err(Denial::Forbidden(
            "a direct conversation stays one, and is never archived",
        )),
        Action::ListBans
        | Action::RemoveMember(_)
        | Action::SetRole(_)
        | Action::Ban(_)
        | Action::Unban
        | Action::Mute(_)
        | Action::Unmute(_) => Err(Denial::Forbidden("nobody moderates a direct conversation")),
    }
}

/// What the caller's role and membership allow, in a room they see.
fn role_rule(kind: RoomKind, standing: Standing, action: Action) -> Result<(), Denial> {
    match action {
        Action::Read | Action::Join | Action::Post => Ok(()),
        Action::Leave if !standing.is_member() => Err(Denial::NotMember),
        Action::Leave if standing.role == Some(RoomRole::Owner) => Err(Denial::Forbidden(
            "the owner cannot leave their room; archive it instead",
        )),
        Action::Leave => Ok(()),
        Action::MarkRead if standing.is_member() => Ok(()),
        Action::AddMember if standing.is_member() || standing.admin => Ok(()),
        Action::MarkRead | Action::AddMember => Err(Denial::NotMember),
        Action::Rename | Action::SetTopic if kind == RoomKind::Direct => Ok(()),
        Action::Rename | Action::SetTopic | Action::ChangeKind | Action::Archive => {
            allow(standing.owns(), "only the room's owner may change it")
        }
        Action::ListBans | Action::Unban => allow(
            standing.moderates(),
            "only the room's moderators may do this",
        ),
        Action::RemoveMember(target) | Action::Mute(target) | Action::Unmute(target) => {
            allow(
                standing.moderates(),
                "only the room's moderators may do this",
            )?;
            on_target(standing, target, true)
        }
        Action::Ban(target) => {
            allow(
                standing.moderates(),
                "only the room's moderators may do this",
            )?;
            on_target(standing, target, false)
        }
        Action::SetRole(target) => {
            allow(standing.owns(), "only the room's owner names moderators")?;
            on_target(standing, target, true)?;
            match target.role {
                Some(RoomRole::Owner) => Err(Denial::Forbidden("the owner's role does not change")),
                _ => Ok(()),
            }
        }
    }
}

/// Whether the caller outranks `target`, who must be a member when
/// `needs_member`.
fn on_target(standing: Standing, target: Target, needs_member: bool) -> Result<(), Denial> {
    if target.is_self {
        return Err(Denial::Forbidden(
            "not on yourself (leave the room instead)",
        ));
    }
    if needs_member && target.role.is_none() {
        return Err(Denial::NotMember);
    }
    let outranks = standing.admin || rank(false, standing.role) > rank(target.admin, target.role);
    allow(
        outranks,
        "only on people of a lower rank: moderators on members, the owner on moderators \
         too, administrators on anyone",
    )
}

fn allow(allowed: bool, why: &'static str) -> Result<(), Denial> {
    if allowed {
        Ok(())
    } else {
        Err(Denial::Forbidden(why))
    }
}

#[cfg(test)]
mod tests;
