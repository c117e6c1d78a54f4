//! A room's posts on their way in: a member's `send` and a post from
//! outside any connection (the HTTP API), each checked against the room's
//! rules ([`super::rules`]) and its recent nonces (a repeat is answered,
//! not stored) before it is queued with the store; and the answers to
//! repeats of messages stored before. What a committed post becomes is
//! `Room::on_written`'s.

use super::handle::PostAsCommand;
use super::nonces::{NonceKey, Seen};
use super::{author_key, no_longer_in, unix_millis, Room, Written};
use crate::hub::client::{ClientHandle, ClientId};
use crate::hub::members::encode;
use crate::hub::TRACER;
use crate::store::{Draft, HistoryPage, HistoryQuery, Posted, StoreError};
use common::{ErrorCode, MessageId, MessageText, Nonce, RequestError, ServerFrame, UserId};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;

impl Room {
    pub(super) fn post(
        &mut self,
        author: ClientHandle,
        text: MessageText,
        nonce: Option<Nonce>,
        mentions: Vec<UserId>,
        permit: OwnedSemaphorePermit,
    ) {
        let client = author.id();
        let Some(member) = self.members.get(client) else {
            // Removed meanwhile: a slow consumer (its connection is closing,
            // and nothing more reaches it), or in cluster mode a member
            // whose name was taken while this server was cut off.
            let error = no_longer_in(&self.name).about(&self.name, nonce.as_ref());
            author.deliver(encode(&error.into()));
            return;
        };
        let person = Arc::clone(&member.person);
        if let Some(refusal) = self.rules.refusal(person.user_id, unix_millis()) {
            let error = refusal.about(&self.name, nonce.as_ref());
            author.deliver(encode(&error.into()));
            return; // `permit` is dropped: nothing is on its way.
        }
        let nonce_key = nonce.as_ref().map(|nonce| {
            (
                author_key(Some(person.user_id), &person.display_name),
                nonce.clone(),
            )
        });
        let started = Instant::now();
        // A repeat from a member of this room is answered here; the store
        // tells a repeat of a message stored before the room started, or
        // in cluster mode by another instance.
        if let Some(key) = &nonce_key {
            if self.repeated(client, key) {
                return; // `permit` is dropped: nothing is on its way.
            }
            let pending = Seen::Pending {
                repeated_by: Vec::new(),
            };
            self.nonces.insert(key.clone(), pending, unix_millis());
        }
        let draft = Draft {
            room: self.name.clone(),
            name: person.display_name.clone(),
            author: Some((person.user_id, person.username.clone())),
            text,
            nonce: nonce.clone(),
            mentions,
        };
        let write = self.store.post(draft);
        self.pending_writes.push_back(Box::pin(async move {
            let result = write.await;
            drop(permit);
            Written {
                author: client,
                nonce,
                nonce_key,
                started,
                result,
                reply: None,
            }
        }));
    }

    /// A post from outside any connection (the HTTP API) by `author`: no
    /// member is its author, and the answer goes back to the caller. A
    /// nonce the room has seen from the account is answered as a repeat (or,
    /// while the original is still being stored, as unavailable: send it
    /// again).
    pub(super) fn post_as(&mut self, post: PostAsCommand) {
        let PostAsCommand {
            author,
            text,
            nonce,
            mentions,
            posted,
        } = post;
        if let Some(refusal) = self.rules.refusal(author.user_id, unix_millis()) {
            let _ = posted.send(Err(refusal.about(&self.name, Some(&nonce))));
            return;
        }
        let key: NonceKey = (
            author_key(Some(author.user_id), &author.display_name),
            nonce.clone(),
        );
        if let Some(seen) = self.nonces.get_mut(&key) {
            self.metrics.duplicate_send();
            let answer = match seen {
                Seen::Stored(id) => Ok(Posted::Repeat(*id)),
                Seen::Pending { .. } => Err(RequestError::new(
                    ErrorCode::Unavailable,
                    "a message with this nonce is being stored; send it again shortly",
                )
                .about(&self.name, Some(&nonce))),
            };
            let _ = posted.send(answer);
            return;
        }
        let pending = Seen::Pending {
            repeated_by: Vec::new(),
        };
        self.nonces.insert(key.clone(), pending, unix_millis());
        let draft = Draft {
            room: self.name.clone(),
            name: author.display_name,
            author: Some((author.user_id, author.username)),
            text,
            nonce: Some(nonce.clone()),
            mentions,
        };
        let write = self.store.post(draft);
        let author = crate::hub::client::next_client_id();
        let started = Instant::now();
        self.pending_writes.push_back(Box::pin(async move {
            Written {
                author,
                nonce: Some(nonce),
                nonce_key: Some(key),
                started,
                result: write.await,
                reply: Some(posted),
            }
        }));
    }

    /// Handles a `send` whose nonce the room has seen from the same name:
    /// returns true if it is a repeat, which is then answered and not stored.
    fn repeated(&mut self, client: ClientId, key: &NonceKey) -> bool {
        let Some(seen) = self.nonces.get_mut(key) else {
            return false;
        };
        self.metrics.duplicate_send();
        tracing::debug!(target: TRACER, room = %self.name, client, "repeated send");
        match seen {
            // The original's broadcast will reach this member too.
            Seen::Pending { repeated_by } => repeated_by.push(client),
            Seen::Stored(id) => {
                let id = *id;
                self.answer_repeat(client, id);
            }
        }
        true
    }

    /// Answers `client`, who sent again what is stored as message `id`: a
    /// member who receives (or received) its broadcast needs nothing more
    /// (it is stored but still held by pacing, or on its way from another
    /// instance, or was broadcast after the member joined); one who joined
    /// after it is answered with the original, read back from the store.
    pub(super) fn answer_repeat(&mut self, client: ClientId, id: MessageId) {
        let by_broadcast = self
            .members
            .get(client)
            .is_none_or(|member| member.receives_by_broadcast(id));
        if by_broadcast {
            return;
        }
        let query = HistoryQuery {
            after: Some(id.saturating_sub(1)),
            before: Some(id + 1),
            limit: 1,
        };
        let read = self.store.history(&self.name, query);
        self.pending_repeats
            .push(Box::pin(async move { (client, read.await) }));
    }

    pub(super) fn on_repeat_read(
        &mut self,
        client: ClientId,
        result: Result<HistoryPage, StoreError>,
    ) {
        let Some(member) = self.members.get(client) else {
            return;
        };
        let frame = match result.map(|page| page.messages.into_iter().next()) {
            Ok(Some(message)) => ServerFrame::Message(message),
            Ok(None) | Err(_) => RequestError::new(
                ErrorCode::Unavailable,
                "your earlier message with this nonce is stored but could not be read back",
            )
            .about(&self.name, None)
            .into(),
        };
        // A member still loading gets the original in its history.
        if member.is_live() {
            member.client.deliver(encode(&frame));
        }
    }
}
