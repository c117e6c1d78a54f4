//! The socket opening and closing, and the session starting and ending.

use super::Chat;
use crate::state::{Connection, Membership};
use common::{ClientFrame, CloseCode, Person, RoomName};

/// What [`CloseCode::MessageTooBig`] makes of the messages that
/// were on their way: they are not sent again by themselves.
const TOO_BIG_REASON: &str = "the server refused this message as too big";

impl Chat {
    /// Connection number `socket` is open: join every room (with `since`
    /// where messages were seen).
    pub fn connected(&mut self, socket: u64) -> Vec<ClientFrame> {
        self.socket = Some(socket);
        self.connection = Connection::Online;
        self.notice = None;
        let names: Vec<RoomName> = self.rooms.iter().map(|room| room.name.clone()).collect();
        names
            .iter()
            .filter_map(|room| self.join_frame(room))
            .collect()
    }

    /// The connection was lost (or could not be opened). `retry_in_ms` is
    /// the wait before the next attempt, `None` when the page closed it on
    /// purpose; `close_code` is the server's close code, if it sent one.
    pub fn disconnected(&mut self, retry_in_ms: Option<u32>, close_code: Option<u16>) {
        let lost = self.socket.take();
        // Codes the protocol does not use (1006 for a broken connection,
        // say) are a connection lost like any other.
        let close_code = close_code.and_then(CloseCode::from_code);
        self.connection = match retry_in_ms {
            Some(retry_in_ms) => Connection::Offline { retry_in_ms },
            None => Connection::Closed,
        };
        if close_code == Some(CloseCode::SessionEnded) {
            // Reconnecting with the same cookie is refused: sign in again.
            // What was queued stays, to go out after that.
            self.session_ends();
        }
        for room in &mut self.rooms {
            if matches!(room.membership, Membership::Joined | Membership::Joining) {
                room.membership = Membership::Waiting;
            }
            room.typing.clear();
            room.loading_older = false;
            if let (Some(socket), Some(CloseCode::MessageTooBig)) = (lost, close_code) {
                room.outbox.fail_sent_on(socket, TOO_BIG_REASON);
            }
        }
    }

    /// The session ended: an API call answered 401, or the socket closed
    /// with [`CloseCode::SessionEnded`]. The page shows the sign-in page;
    /// rooms, drafts and the outbox stay for [`Chat::signed_in`].
    pub fn session_ends(&mut self) {
        if self.me.take().is_some() {
            self.session_ended = true;
        }
        for room in &mut self.rooms {
            room.membership = Membership::Waiting;
            room.typing.clear();
            room.loading_older = false;
        }
    }

    /// The person signed out: as [`Chat::session_ends`], without saying
    /// that the session ended by itself.
    pub fn signed_out(&mut self) {
        self.session_ends();
        self.session_ended = false;
    }

    /// `me` signed in (the owner of this state: see [`Chat::owner`]; a
    /// page for someone else starts from [`Chat::restored`]): every room
    /// not joined is joined, and what waited in the outbox goes out after
    /// each room's history.
    pub fn signed_in(&mut self, me: Person) -> Vec<ClientFrame> {
        self.owner = Some(me.user_id);
        self.me = Some(me);
        self.session_ended = false;
        let mut frames = Vec::new();
        let names: Vec<RoomName> = self.rooms.iter().map(|room| room.name.clone()).collect();
        for room in names {
            let join = self.room(&room).is_some_and(|entry| {
                matches!(
                    entry.membership,
                    Membership::Waiting | Membership::Refused(_)
                )
            });
            if join {
                if let Some(entry) = self.room_mut(&room) {
                    entry.membership = Membership::Waiting;
                    entry.notice = None;
                    entry.rejoin_attempts = 0;
                }
                frames.extend(self.join_frame(&room));
            }
        }
        frames
    }
}
