//! The way into a room: the commands its task takes, and the handle that
//! sends them.

use crate::hub::client::{ClientHandle, ClientId};
use crate::store::Posted;
use common::{DisplayName, MessageId, MessageText, Nonce, RequestError};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

/// What a room can be asked to do. Two words wide: the room's inbox
/// allocates its first block of [`Command`] slots when the room starts, and
/// the large requests are boxed (the box is allocated per request, the
/// slots for as long as the room lives).
#[derive(Debug)]
pub(in crate::hub) enum Command {
    Join(Box<JoinCommand>),
    Post(Box<PostCommand>),
    PostAs(Box<PostAsCommand>),
    Leave { client: ClientId },
    Typing { client: ClientId },
}

/// A member to add.
#[derive(Debug)]
pub(in crate::hub) struct JoinCommand {
    pub(in crate::hub) client: ClientHandle,
    pub(in crate::hub) name: DisplayName,
    pub(in crate::hub) since: Option<MessageId>,
    pub(in crate::hub) accepted: oneshot::Sender<Result<(), RequestError>>,
}

/// A message to store and broadcast.
#[derive(Debug)]
pub(in crate::hub) struct PostCommand {
    /// The author: answered with an error if it is no longer a member.
    pub(in crate::hub) client: ClientHandle,
    pub(in crate::hub) text: MessageText,
    pub(in crate::hub) nonce: Option<Nonce>,
    pub(in crate::hub) permit: OwnedSemaphorePermit,
}

/// A message from outside any connection (the HTTP API), under a name.
#[derive(Debug)]
pub(in crate::hub) struct PostAsCommand {
    pub(in crate::hub) name: DisplayName,
    pub(in crate::hub) text: MessageText,
    pub(in crate::hub) nonce: Nonce,
    pub(in crate::hub) posted: oneshot::Sender<Result<Posted, RequestError>>,
}

/// The room is gone (it retired while the command was on its way); ask the
/// hub for the room again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomGone;

/// A way to send commands to a room.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub(super) commands: mpsc::Sender<Command>,
}

impl RoomHandle {
    pub(in crate::hub) async fn join(
        &self,
        client: ClientHandle,
        name: DisplayName,
        since: Option<MessageId>,
    ) -> Result<Result<(), RequestError>, RoomGone> {
        let (accepted, answer) = oneshot::channel();
        self.send(Command::Join(Box::new(JoinCommand {
            client,
            name,
            since,
            accepted,
        })))
        .await?;
        answer.await.map_err(|_| RoomGone)
    }

    /// Posts a message as `client`, who must be a member. `permit` is
    /// held until the message is stored and broadcast (or refused), which
    /// bounds how many posts one connection has on their way.
    pub async fn post(
        &self,
        client: ClientHandle,
        text: MessageText,
        nonce: Option<Nonce>,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), RoomGone> {
        self.send(Command::Post(Box::new(PostCommand {
            client,
            text,
            nonce,
            permit,
        })))
        .await
    }

    /// Posts a message as `name` from outside any connection (no member
    /// is its author): answered once it is stored (or found a repeat of
    /// its nonce) and queued for broadcast.
    pub(in crate::hub) async fn post_as(
        &self,
        name: DisplayName,
        text: MessageText,
        nonce: Nonce,
    ) -> Result<Result<Posted, RequestError>, RoomGone> {
        let (posted, answer) = oneshot::channel();
        self.send(Command::PostAs(Box::new(PostAsCommand {
            name,
            text,
            nonce,
            posted,
        })))
        .await?;
        answer.await.map_err(|_| RoomGone)
    }

    /// Removes `client` from the room; nothing happens if it is not a member.
    pub async fn leave(&self, client: ClientId) -> Result<(), RoomGone> {
        self.send(Command::Leave { client }).await
    }

    /// Tells the other members that `client` is typing. Typing notices are
    /// ephemeral, so one is dropped rather than waited for when the room is busy.
    pub fn typing(&self, client: ClientId) {
        let _ = self.commands.try_send(Command::Typing { client });
    }

    async fn send(&self, command: Command) -> Result<(), RoomGone> {
        self.commands.send(command).await.map_err(|_| RoomGone)
    }
}
