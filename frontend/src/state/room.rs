//! One room as this client knows it: its messages (by id, and by author
//! and nonce so that a message is shown once), its outbox, what it has not
//! read, its members and who is typing, and the draft.

use super::Membership;
use crate::outbox::Outbox;
use crate::saved::SavedRoom;
use common::{
    ChatMessage, DisplayName, MessageId, Person, RoomKind, RoomName, RoomTitle, RoomTopic, UserId,
};
use std::collections::{BTreeMap, BTreeSet};

/// One room this client is in, or wants to be in.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub(super) name: RoomName,
    /// The account this client joined the room as (the `joined`'s `you`).
    pub(super) me: Option<Person>,
    pub(super) membership: Membership,
    pub(super) messages: BTreeMap<MessageId, ChatMessage>,
    /// (author, nonce) of every message shown; see [`author_key`].
    pub(super) nonces: BTreeSet<(String, String)>,
    pub(super) outbox: Outbox,
    pub(super) unread: u32,
    pub(super) members: Vec<Person>,
    /// Who is typing (account, name shown), and until when (milliseconds
    /// since the epoch).
    pub(super) typing: Vec<(UserId, DisplayName, f64)>,
    pub(super) has_older: bool,
    pub(super) loading_older: bool,
    pub(super) notice: Option<String>,
    /// Whether a `joined` ever came for this room: re-joins use `since`.
    pub(super) was_joined: bool,
    pub(super) rejoin_attempts: u32,
    /// What was written in the message box and not sent yet.
    pub(super) draft: String,
    /// The newest message id read, by any of the person's tabs and devices,
    /// as far as this client knows (the server's `read` frames, and its
    /// own marks).
    pub(super) last_read: MessageId,
    /// Until when a moderator muted the person here (milliseconds since
    /// the epoch): they read but cannot post.
    pub(super) muted_until: Option<u64>,
    /// The room's settings, as its `room_changed` frames tell them.
    pub(super) settings: Option<RoomSettings>,
}

/// A room's settings, as its owner set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    /// Public, private or a direct conversation.
    pub kind: RoomKind,
    /// What people read for it, when it has one besides its slug.
    pub title: Option<RoomTitle>,
    /// What it is about; empty for nothing.
    pub topic: RoomTopic,
    /// Read-only: nobody posts.
    pub archived: bool,
}

impl Room {
    pub(super) fn new(name: RoomName) -> Self {
        Self {
            name,
            me: None,
            membership: Membership::Waiting,
            messages: BTreeMap::new(),
            nonces: BTreeSet::new(),
            outbox: Outbox::new(),
            unread: 0,
            members: Vec::new(),
            typing: Vec::new(),
            has_older: false,
            loading_older: false,
            notice: None,
            was_joined: false,
            rejoin_attempts: 0,
            draft: String::new(),
            last_read: 0,
            muted_until: None,
            settings: None,
        }
    }

    /// Until when the person may not post here (milliseconds since the
    /// epoch), while a moderator has muted them.
    pub fn muted_until(&self) -> Option<u64> {
        self.muted_until
    }

    /// The room's settings, once they changed while this page had it.
    pub fn settings(&self) -> Option<&RoomSettings> {
        self.settings.as_ref()
    }

    /// The messages shown after `last_read` that others wrote: what is
    /// unread of what this client has.
    pub(super) fn unread_after(&self, last_read: MessageId) -> u32 {
        let others = self
            .messages
            .range(last_read.saturating_add(1)..)
            .filter(|(_, message)| !self.is_me(message.user_id))
            .count();
        u32::try_from(others).unwrap_or(u32::MAX)
    }

    /// What was written in the room's message box and not sent yet.
    pub fn draft(&self) -> &str {
        &self.draft
    }

    /// The room's name.
    pub fn name(&self) -> &RoomName {
        &self.name
    }

    /// The account this client is in the room as, once joined.
    pub fn me(&self) -> Option<&Person> {
        self.me.as_ref()
    }

    /// Where this client stands in the room.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The messages shown, oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &ChatMessage> + '_ {
        self.messages.values()
    }

    /// How many messages are shown.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// The newest message id seen: the `since` of a re-join.
    pub fn last_id(&self) -> Option<MessageId> {
        self.messages.last_key_value().map(|(id, _)| *id)
    }

    /// The messages written here and not confirmed yet.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Messages that came while the room was not shown.
    pub fn unread(&self) -> u32 {
        self.unread
    }

    /// The members, in the order they joined.
    pub fn members(&self) -> &[Person] {
        &self.members
    }

    /// Whether older messages can be loaded from the server.
    pub fn has_older(&self) -> bool {
        self.has_older
    }

    /// Whether older messages are being loaded.
    pub fn loading_older(&self) -> bool {
        self.loading_older
    }

    /// The last problem about this room, in words.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether the account `user_id` (a message's author, a member) is
    /// this client's. `None`, the author of a message from before
    /// accounts, is never anyone: a display name is not an identity (two
    /// people may share one, and anyone could take a free one then).
    pub fn is_me(&self, user_id: Option<UserId>) -> bool {
        matches!((&self.me, user_id), (Some(me), Some(id)) if me.user_id == id)
    }

    /// Who is typing at `now` (milliseconds since the epoch), in the order
    /// they started.
    pub fn typing(&self, now: f64) -> Vec<&DisplayName> {
        self.typing
            .iter()
            .filter(|(_, _, until)| *until > now)
            .map(|(_, name, _)| name)
            .collect()
    }

    /// Adds a message unless it is already shown; returns whether it is new.
    pub(super) fn insert(&mut self, message: ChatMessage) -> bool {
        if self.messages.contains_key(&message.id) {
            return false;
        }
        if let Some(nonce) = &message.nonce {
            let key = (author_key(&message), nonce.as_str().to_owned());
            if !self.nonces.insert(key) {
                return false;
            }
        }
        self.messages.insert(message.id, message);
        true
    }

    pub(super) fn clear_messages(&mut self) {
        self.messages.clear();
        self.nonces.clear();
    }

    pub(super) fn stop_typing(&mut self, user_id: UserId) {
        self.typing.retain(|(typist, _, _)| *typist != user_id);
    }

    /// A `presence`: those who left go, then those who came are added at
    /// the end, then the updated are replaced where they are. Each step is
    /// idempotent.
    pub(super) fn presence(&mut self, joined: Vec<Person>, left: &[UserId], updated: Vec<Person>) {
        self.members
            .retain(|member| !left.contains(&member.user_id));
        for person in joined {
            match self
                .members
                .iter_mut()
                .find(|member| member.user_id == person.user_id)
            {
                Some(member) => *member = person,
                None => self.members.push(person),
            }
        }
        for person in updated {
            if let Some(member) = self
                .members
                .iter_mut()
                .find(|member| member.user_id == person.user_id)
            {
                *member = person.clone();
            }
            for (typist, name, _) in &mut self.typing {
                if *typist == person.user_id {
                    *name = person.display_name.clone();
                }
            }
            if let Some(me) = self.me.as_mut().filter(|me| me.user_id == person.user_id) {
                *me = person;
            }
        }
        let members = &self.members;
        self.typing
            .retain(|(typist, _, _)| members.iter().any(|member| member.user_id == *typist));
    }

    /// What of the room is kept across reloads.
    pub(super) fn saved(&self) -> SavedRoom {
        SavedRoom {
            room: self.name.clone(),
            draft: self.draft.clone(),
            outbox: self.outbox.saved(),
        }
    }
}

/// Who wrote a message, as a key: the account, or for a message from
/// before accounts, its name (which nobody can post under any more, so it
/// never collides with an account's key).
pub fn author_key(message: &ChatMessage) -> String {
    match message.user_id {
        Some(id) => format!("u{id}"),
        None => format!("n{}", message.name),
    }
}
