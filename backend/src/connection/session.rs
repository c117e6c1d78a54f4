//! What a client asks of the server, and the per-connection limits on it.

use super::{ConnectionContext, ConnectionSettings};
use crate::hub::client::{ClientHandle, ClientId, CloseReason};
use crate::hub::room::{no_longer_in, JoinGrant, RoomHandle};
use crate::limits::{RateLimit, Verdict, TYPING_MIN_INTERVAL};
use crate::metrics::FrameKind;
use crate::rooms::RoomsError;
use crate::store::rooms::Access;
use crate::websocket::OutgoingFrame;
use common::{ClientFrame, ErrorCode, Nonce, RequestError, RoomName, ServerFrame};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Level;

/// A connection reads its client's next request only while at most this
/// share (in percent) of the client's outgoing queue is in use.
pub const PAUSE_READING_PERCENT: usize = 50;

/// Most messages one connection may have on their way to the database and
/// back; its next `send` waits (and so does its socket) until one is done.
/// With [`PAUSE_READING_PERCENT`] this keeps a client that posts faster than
/// it reads from overflowing its own queue with its echoes.
pub const MAX_POSTS_IN_FLIGHT: usize = 64;

/// A room this connection is in.
struct JoinedRoom {
    name: RoomName,
    handle: RoomHandle,
    /// When the last typing notice for this room was forwarded.
    typing_forwarded: Option<Instant>,
}

/// What the connection knows of itself: the rooms it joined and its
/// limits. Kept small (an idle connection carries it): what is shared lives
/// in the context, the client's handle and the context are the
/// connection's (a request gets clones, see [`Handler`]), and the posts'
/// semaphore is made on the first post.
pub(super) struct Session {
    /// One permit per post on its way to the database and back.
    posts: Option<Arc<Semaphore>>,
    /// A list, not a map: a client is in a few rooms, most often one.
    rooms: Vec<JoinedRoom>,
    /// Whether the client has joined a room at least once (the join
    /// timeout applies until it has).
    ever_joined: bool,
    send_limit: RateLimit,
    join_limit: RateLimit,
}

/// A request being carried out; it gives the session back when done.
pub(super) type Request = Pin<Box<dyn Future<Output = Session> + Send>>;

impl Session {
    pub(super) fn new(settings: &ConnectionSettings) -> Self {
        let now = Instant::now().into_std();
        Self {
            posts: None,
            rooms: Vec::new(),
            ever_joined: false,
            send_limit: RateLimit::new(settings.send_rate(), now),
            join_limit: RateLimit::new(settings.join_rate(), now),
        }
    }

    /// Whether the client has joined a room at least once.
    pub(super) fn ever_joined(&self) -> bool {
        self.ever_joined
    }

    /// Carries out the text message `text` from `client`. Boxed: handling
    /// a request (a join waits on its room) takes far more state than
    /// waiting for one, and an idle connection should not carry that state
    /// all the time.
    pub(super) fn request(
        self,
        text: String,
        client: &ClientHandle,
        context: &Arc<ConnectionContext>,
    ) -> Request {
        let mut handler = Handler {
            session: self,
            client: client.clone(),
            context: Arc::clone(context),
        };
        Box::pin(async move {
            handler.handle_text(&text).await;
            handler.session
        })
    }

    /// Leaves every room joined, as `client`'s connection ends.
    pub(super) async fn leave_all(&mut self, client: ClientId) {
        for joined in std::mem::take(&mut self.rooms) {
            let _ = joined.handle.leave(client).await;
        }
    }

    fn joined(&self, room: &RoomName) -> Result<&RoomHandle, RequestError> {
        self.rooms
            .iter()
            .find(|joined| joined.name == *room)
            .map(|joined| &joined.handle)
            .ok_or_else(|| {
                RequestError::new(ErrorCode::NotJoined, "you have not joined this room")
                    .about(room, None)
            })
    }
}

/// A rooms' refusal as the protocol's error.
fn refusal(err: &RoomsError) -> RequestError {
    RequestError::new(err.code(), err.to_string())
}

/// Answers a binary message from `client`, which the protocol does not use.
pub(super) fn refuse_binary(client: &ClientHandle, context: &ConnectionContext) {
    context.metrics.frame_received(FrameKind::Invalid);
    reply_error(
        client,
        RequestError::new(
            ErrorCode::Unsupported,
            "binary frames are not supported; send JSON in text frames",
        ),
    );
}

fn reply_error(client: &ClientHandle, err: RequestError) {
    event_in_span!(client, Level::DEBUG, code = %err.code, "request failed");
    client.deliver(OutgoingFrame::text(&ServerFrame::from(err).encode()));
}

/// A session carrying out a request, with the client it acts for and what
/// connections share: clones of the connection's own, made when a request
/// starts, so that an idle session keeps no copies.
struct Handler {
    session: Session,
    client: ClientHandle,
    context: Arc<ConnectionContext>,
}

impl Handler {
    async fn handle_text(&mut self, text: &str) {
        match ClientFrame::decode(text) {
            Ok(frame) => {
                self.context.metrics.frame_received(frame_kind(&frame));
                if let Err(err) = self.handle_frame(frame).await {
                    reply_error(&self.client, err);
                }
            }
            Err(err) => {
                self.context.metrics.frame_received(FrameKind::Invalid);
                reply_error(&self.client, err);
            }
        }
    }

    async fn handle_frame(&mut self, frame: ClientFrame) -> Result<(), RequestError> {
        match frame {
            ClientFrame::Join { room, since } => {
                // A room this session counts as joined is asked all the
                // same: it may have removed the member (a slow consumer's
                // room, or in cluster mode one the broker lost), and it
                // answers `already_joined` itself otherwise.
                let listed = self
                    .session
                    .rooms
                    .iter()
                    .position(|joined| joined.name == room);
                let max_rooms = self.context.settings.max_rooms;
                if listed.is_none() && self.session.rooms.len() >= max_rooms {
                    return Err(RequestError::new(
                        ErrorCode::TooManyRooms,
                        format!("you are in {max_rooms} rooms, the most allowed; leave one first"),
                    )
                    .about(&room, None));
                }
                self.check_rate(FrameKind::Join, &room, None)?;
                let grant = self.admit(&room).await?;
                let handle = self
                    .context
                    .hub
                    .join(&room, &self.client, since, grant)
                    .await?;
                self.session.ever_joined = true;
                let joined = JoinedRoom {
                    name: room,
                    handle,
                    typing_forwarded: None,
                };
                match listed {
                    Some(index) => self.session.rooms[index] = joined,
                    None => {
                        // Most clients stay in one room: no room for more
                        // until asked.
                        self.session.rooms.reserve_exact(1);
                        self.session.rooms.push(joined);
                    }
                }
            }
            ClientFrame::Send { room, text, nonce } => {
                let handle = self
                    .session
                    .joined(&room)
                    .map_err(|err| err.about(&room, nonce.as_ref()))?
                    .clone();
                self.check_rate(FrameKind::Send, &room, nonce.as_ref())?;
                // Waits while this connection has its most posts on their way.
                let posts = self
                    .session
                    .posts
                    .get_or_insert_with(|| Arc::new(Semaphore::new(MAX_POSTS_IN_FLIGHT)));
                let Ok(permit) = Arc::clone(posts).acquire_owned().await else {
                    // Never closed; were it, the send would be refused
                    // rather than the server stopped.
                    return Err(RequestError::new(
                        ErrorCode::Unavailable,
                        "cannot send now; try again",
                    )
                    .about(&room, nonce.as_ref()));
                };
                let mentions = self
                    .context
                    .rooms
                    .mentioned_accounts(text.as_str())
                    .await
                    .map_err(|err| refusal(&err).about(&room, nonce.as_ref()))?;
                if handle
                    .post(self.client.clone(), text, nonce.clone(), mentions, permit)
                    .await
                    .is_err()
                {
                    // The room retired: it had removed this member first.
                    self.session.rooms.retain(|joined| joined.name != room);
                    return Err(no_longer_in(&room).about(&room, nonce.as_ref()));
                }
            }
            ClientFrame::Leave { room } => {
                let handle = self.session.joined(&room)?.clone();
                self.session.rooms.retain(|joined| joined.name != room);
                // A room that is gone has nothing left to leave.
                let _ = handle.leave(self.client.id()).await;
            }
            ClientFrame::Typing { room } => {
                self.session.joined(&room)?;
                let client = self.client.id();
                let now = Instant::now();
                if let Some(joined) = self
                    .session
                    .rooms
                    .iter_mut()
                    .find(|joined| joined.name == room)
                {
                    let throttled = joined
                        .typing_forwarded
                        .is_some_and(|last| now.duration_since(last) < TYPING_MIN_INTERVAL);
                    if !throttled {
                        joined.typing_forwarded = Some(now);
                        joined.handle.typing(client);
                    }
                }
            }
        }
        Ok(())
    }

    /// Joins the person to `room` as a member, as the rooms' rules allow
    /// ([`crate::rooms::Rooms::join_as`]: a new name makes a public room),
    /// and returns what the room must know of them.
    async fn admit(&self, room: &RoomName) -> Result<JoinGrant, RequestError> {
        let access = self
            .context
            .rooms
            .join_as(self.client.user_id(), self.client.credential(), room)
            .await
            .map_err(|err| refusal(&err).about(room, None))?;
        Ok(match access {
            Access::Member(record, member) => JoinGrant {
                muted_until: member.muted_until,
                archived: record.archived,
            },
            // An administrator passes without membership; the room's own
            // state still binds them.
            Access::Outsider(record) | Access::Banned(record) => JoinGrant {
                muted_until: None,
                archived: record.archived,
            },
            Access::NoRoom => JoinGrant::default(),
        })
    }

    /// Applies the rate limit of `kind` to a request about `room`. A client
    /// that keeps going past it is closed (close code 1008).
    fn check_rate(
        &mut self,
        kind: FrameKind,
        room: &RoomName,
        nonce: Option<&Nonce>,
    ) -> Result<(), RequestError> {
        let settings = &self.context.settings;
        let (limit, rate) = match kind {
            FrameKind::Join => (&mut self.session.join_limit, settings.join_rate()),
            _ => (&mut self.session.send_limit, settings.send_rate()),
        };
        match limit.check(rate, Instant::now().into_std()) {
            // Posts also draw on the budget all the account's connections share.
            Verdict::Allow
                if kind == FrameKind::Join
                    || self.context.account_allows_send(self.client.user_id()) =>
            {
                return Ok(())
            }
            Verdict::Allow => {}
            Verdict::Refuse => {}
            Verdict::Flooding => {
                event_in_span!(
                    &self.client,
                    Level::INFO,
                    kind = kind.label(),
                    "rate limit exceeded again and again; closing"
                );
                self.client.close(CloseReason::RateLimited);
            }
        }
        self.context.metrics.rate_limited(kind);
        let what = if kind == FrameKind::Join {
            "joining rooms"
        } else {
            "sending messages"
        };
        Err(RequestError::new(
            ErrorCode::RateLimited,
            format!("you are {what} too fast; wait a moment and try again"),
        )
        .about(room, nonce))
    }
}

fn frame_kind(frame: &ClientFrame) -> FrameKind {
    match frame {
        ClientFrame::Join { .. } => FrameKind::Join,
        ClientFrame::Send { .. } => FrameKind::Send,
        ClientFrame::Leave { .. } => FrameKind::Leave,
        ClientFrame::Typing { .. } => FrameKind::Typing,
    }
}
