//! The way into a room: the commands its task takes, and the handle that
//! sends them.

use super::rules::{JoinGrant, Moderation};
use crate::hub::client::{ClientHandle, ClientId};
use crate::store::Posted;
use common::{DisplayName, MessageId, MessageText, Nonce, Person, RequestError, UserId};
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
    Leave {
        client: ClientId,
    },
    Typing {
        client: ClientId,
    },
    /// An account's display name changed: its members here show it.
    Rename(Box<(UserId, DisplayName)>),
    /// Who is here now, on every instance: the accounts, each once.
    Online(oneshot::Sender<Vec<UserId>>),
    /// Who may post or be here changed.
    Moderate(Box<ModerateCommand>),
}

/// A change of who may post or be here, and the answer once it is applied.
#[derive(Debug)]
pub(in crate::hub) struct ModerateCommand {
    pub(in crate::hub) change: Moderation,
    pub(in crate::hub) applied: oneshot::Sender<()>,
}

/// A member to add, as the person its client is signed in as.
#[derive(Debug)]
pub(in crate::hub) struct JoinCommand {
    pub(in crate::hub) client: ClientHandle,
    pub(in crate::hub) since: Option<MessageId>,
    pub(in crate::hub) grant: JoinGrant,
    pub(in crate::hub) accepted: oneshot::Sender<Result<(), RequestError>>,
}

/// A message to store and broadcast.
#[derive(Debug)]
pub(in crate::hub) struct PostCommand {
    /// The author: answered with an error if it is no longer a member.
    pub(in crate::hub) client: ClientHandle,
    pub(in crate::hub) text: MessageText,
    pub(in crate::hub) nonce: Option<Nonce>,
    /// The accounts the text calls by name.
    pub(in crate::hub) mentions: Vec<UserId>,
    pub(in crate::hub) permit: OwnedSemaphorePermit,
}

/// A message from outside any connection (the HTTP API), by an account.
#[derive(Debug)]
pub(in crate::hub) struct PostAsCommand {
    pub(in crate::hub) author: Person,
    pub(in crate::hub) text: MessageText,
    pub(in crate::hub) nonce: Nonce,
    /// The accounts the text calls by name.
    pub(in crate::hub) mentions: Vec<UserId>,
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
        since: Option<MessageId>,
        grant: JoinGrant,
    ) -> Result<Result<(), RequestError>, RoomGone> {
        let (accepted, answer) = oneshot::channel();
        self.send(Command::Join(Box::new(JoinCommand {
            client,
            since,
            grant,
            accepted,
        })))
        .await?;
        answer.await.map_err(|_| RoomGone)
    }

    /// Posts a message as `client`, who must be a member, calling
    /// `mentions` by name. `permit` is held until the message is stored
    /// and broadcast (or refused), which bounds how many posts one
    /// connection has on their way.
    pub async fn post(
        &self,
        client: ClientHandle,
        text: MessageText,
        nonce: Option<Nonce>,
        mentions: Vec<UserId>,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), RoomGone> {
        self.send(Command::Post(Box::new(PostCommand {
            client,
            text,
            nonce,
            mentions,
            permit,
        })))
        .await
    }

    /// Posts a message by `author` from outside any connection (no member
    /// is its author): answered once it is stored (or found a repeat of
    /// its nonce) and queued for broadcast.
    pub(in crate::hub) async fn post_as(
        &self,
        author: Person,
        text: MessageText,
        nonce: Nonce,
        mentions: Vec<UserId>,
    ) -> Result<Result<Posted, RequestError>, RoomGone> {
        let (posted, answer) = oneshot::channel();
        self.send(Command::PostAs(Box::new(PostAsCommand {
            author,
            text,
            nonce,
            mentions,
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

    /// Shows `user`'s new display name on their members here, if any; a
    /// room too busy to take it at once gets it when it can.
    pub(in crate::hub) async fn rename(
        &self,
        user: UserId,
        display_name: DisplayName,
    ) -> Result<(), RoomGone> {
        self.send(Command::Rename(Box::new((user, display_name))))
            .await
    }

    /// The accounts with a connection in the room now, on every instance.
    pub(in crate::hub) async fn online(&self) -> Result<Vec<UserId>, RoomGone> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Online(reply)).await?;
        answer.await.map_err(|_| RoomGone)
    }

    /// Applies `change` (see [`Moderation`]), and returns once the room has
    /// applied it: whatever the room sent its members before is in their
    /// queues by then, and all it sends after follows the change (a removed
    /// member gets nothing more), so what the caller tells them next comes
    /// last.
    pub(in crate::hub) async fn moderate(&self, change: Moderation) -> Result<(), RoomGone> {
        let (applied, answer) = oneshot::channel();
        self.send(Command::Moderate(Box::new(ModerateCommand {
            change,
            applied,
        })))
        .await?;
        answer.await.map_err(|_| RoomGone)
    }

    async fn send(&self, command: Command) -> Result<(), RoomGone> {
        self.commands.send(command).await.map_err(|_| RoomGone)
    }
}
