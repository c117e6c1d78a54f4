//! Frames from the server: a room joined, a message, presence, typing, and
//! errors, each put where it belongs.

use super::Chat;
use crate::state::{Command, Incoming, Membership, REJOIN_ATTEMPTS, TYPING_SHOWN_MS};
use common::{ChatMessage, ClientFrame, ErrorCode, Nonce, Person, RoomName, ServerFrame};

impl Chat {
    /// A frame arrived; `now` is the time in milliseconds since the epoch.
    pub fn receive(&mut self, incoming: Incoming, now: f64) -> Vec<Command> {
        match incoming {
            Incoming::Frame(ServerFrame::Joined {
                room,
                you,
                members,
                history,
                has_older,
            }) => self
                .joined(room, you, members, history, has_older)
                .into_iter()
                .map(Command::Send)
                .collect(),
            Incoming::Frame(ServerFrame::Message(message)) => {
                self.message(message);
                Vec::new()
            }
            Incoming::Frame(ServerFrame::Presence {
                room,
                joined,
                left,
                updated,
            }) => {
                if let Some(entry) = self.room_mut(&room) {
                    entry.presence(joined, &left, updated);
                }
                Vec::new()
            }
            Incoming::Frame(ServerFrame::Typing {
                room,
                user_id,
                name,
            }) => {
                if let Some(entry) = self.room_mut(&room) {
                    // One's own other tabs type too; they are not news.
                    if !entry.is_me(Some(user_id)) {
                        entry.stop_typing(user_id);
                        entry.typing.push((user_id, name, now + TYPING_SHOWN_MS));
                    }
                }
                Vec::new()
            }
            Incoming::Frame(ServerFrame::Error(error)) => self.receive(
                Incoming::Error {
                    code: Some(error.code),
                    message: error.message,
                    room: error.room,
                    nonce: error.nonce,
                },
                now,
            ),
            Incoming::Error {
                code,
                message,
                room,
                nonce,
            } => self.error(code, message, room, nonce),
            Incoming::Frame(
                frame @ (ServerFrame::Read { .. }
                | ServerFrame::Membership { .. }
                | ServerFrame::Muted { .. }
                | ServerFrame::RoomChanged { .. }),
            ) => self.room_frame(frame),
            Incoming::Unknown => Vec::new(),
        }
    }

    fn joined(
        &mut self,
        room: RoomName,
        you: Person,
        members: Vec<Person>,
        history: Vec<ChatMessage>,
        has_older: bool,
    ) -> Vec<ClientFrame> {
        let active = self.active.as_ref() == Some(&room);
        // A `joined` for a room left meanwhile: the `leave` follows it.
        let Some(entry) = self.room_mut(&room) else {
            return Vec::new();
        };
        let rejoin = entry.was_joined || !entry.messages.is_empty();
        if rejoin && has_older {
            // More was missed than one history holds: start from this
            // history and let older pages fill the gap, rather than show a
            // hole.
            entry.clear_messages();
        }
        if !rejoin || has_older {
            entry.has_older = has_older;
        }
        entry.me = Some(you);
        entry.members = members;
        entry.membership = Membership::Joined;
        entry.was_joined = true;
        entry.rejoin_attempts = 0;
        entry.notice = None;
        for message in history {
            if let Some(nonce) = &message.nonce {
                entry.outbox.confirm(nonce);
            }
            let mine = entry.is_me(message.user_id);
            if entry.insert(message) && rejoin && !active && !mine {
                entry.unread += 1;
            }
        }
        self.sends(&room)
    }

    fn message(&mut self, message: ChatMessage) {
        let active = self.active.as_ref() == Some(&message.room);
        let Some(entry) = self.room_mut(&message.room) else {
            return;
        };
        if let Some(nonce) = &message.nonce {
            entry.outbox.confirm(nonce);
        }
        if let Some(author) = message.user_id {
            entry.stop_typing(author);
        }
        let mine = entry.is_me(message.user_id);
        if entry.insert(message) && !active && !mine {
            entry.unread += 1;
        }
    }

    fn error(
        &mut self,
        code: Option<ErrorCode>,
        message: String,
        room: Option<RoomName>,
        nonce: Option<Nonce>,
    ) -> Vec<Command> {
        let Some(room) = room else {
            self.notice = Some(message);
            return Vec::new();
        };
        let Some(entry) = self.room_mut(&room) else {
            return Vec::new();
        };
        if let Some(nonce) = nonce {
            if code == Some(ErrorCode::RateLimited) && entry.outbox.requeue(&nonce) {
                // Not stored; the same nonce goes out again a little later.
                return vec![Command::ResendLater(room)];
            }
            if code == Some(ErrorCode::NotJoined) && entry.outbox.requeue(&nonce) {
                // Not stored: the server removed this client from the room
                // (while it was cut off from its cluster, say). The message
                // waits for the next join, with its
                // nonce; a rejoin is on its way unless one already is.
                if entry.membership == Membership::Joined && entry.rejoin_attempts < REJOIN_ATTEMPTS
                {
                    entry.rejoin_attempts += 1;
                    entry.membership = Membership::Waiting;
                    return vec![Command::RejoinLater(room)];
                }
                return Vec::new();
            }
            if !entry.outbox.fail(&nonce, message.clone()) {
                entry.notice = Some(message);
            }
            return Vec::new();
        }
        match code {
            Some(ErrorCode::AlreadyJoined) => Vec::new(),
            // Not for this client to fix by waiting: a newer (or older)
            // protocol, or no right to the room (banned from it, or a
            // private room or conversation one is not in, which answers as
            // one that does not exist).
            Some(
                ErrorCode::ProtocolVersion
                | ErrorCode::Forbidden
                | ErrorCode::Banned
                | ErrorCode::NotFound,
            ) => {
                entry.membership = Membership::Refused(message.clone());
                entry.notice = Some(message);
                Vec::new()
            }
            _ if entry.rejoin_attempts < REJOIN_ATTEMPTS
                && (matches!(code, Some(ErrorCode::Unavailable | ErrorCode::NotJoined))
                    || entry.membership == Membership::Joining) =>
            {
                // The join (or the room) failed on the server's side, or for
                // a reason this client does not know (a newer server, a rate
                // limit): joining again later may work.
                entry.rejoin_attempts += 1;
                entry.membership = Membership::Waiting;
                entry.notice = Some(message);
                vec![Command::RejoinLater(room)]
            }
            _ => {
                if entry.membership == Membership::Joining {
                    entry.membership = Membership::Refused(message.clone());
                }
                entry.notice = Some(message);
                Vec::new()
            }
        }
    }
}
