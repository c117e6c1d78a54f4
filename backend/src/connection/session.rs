//! What a client asks of the server, and the per-connection limits on it.

use super::reader::{FrameReader, ReadError};
use super::{ConnectionSettings, Heard};
use crate::hub::client::{ClientHandle, CloseReason, Disconnect, QueuedBytes};
use crate::hub::room::RoomHandle;
use crate::hub::Hub;
use crate::limits::{RateLimit, Verdict, JOINS_PER_SECOND, JOIN_BURST_EXTRA, TYPING_MIN_INTERVAL};
use crate::metrics::{FrameKind, Metrics};
use crate::websocket::{DecodeError, Incoming, OutgoingFrame};
use common::{ClientFrame, ErrorCode, Nonce, RequestError, RoomName, ServerFrame};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, timeout, Instant};

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
    handle: RoomHandle,
    /// When the last typing notice for this room was forwarded.
    typing_forwarded: Option<Instant>,
}

/// What the connection knows of itself: its handle, the rooms it joined
/// and its limits.
pub(super) struct Session {
    client: ClientHandle,
    queued: Arc<QueuedBytes>,
    /// One permit per post on its way to the database and back.
    posts: Arc<Semaphore>,
    hub: Hub,
    metrics: Metrics,
    settings: ConnectionSettings,
    heard: Arc<Heard>,
    rooms: HashMap<RoomName, JoinedRoom>,
    /// Whether the client has joined a room at least once (the join
    /// timeout applies until it has).
    ever_joined: bool,
    send_limit: RateLimit,
    join_limit: RateLimit,
}

/// Why the reader stopped reading.
enum ReadEnd {
    /// The client closed, or the connection broke or was closed by the server.
    Done,
    /// Nothing arrived for the idle timeout.
    Idle,
    /// No room was joined within the join timeout.
    NeverJoined,
}

impl Session {
    pub(super) fn new(
        client: ClientHandle,
        queued: Arc<QueuedBytes>,
        hub: Hub,
        metrics: Metrics,
        settings: ConnectionSettings,
        heard: Arc<Heard>,
    ) -> Self {
        let now = Instant::now().into_std();
        Self {
            client,
            queued,
            posts: Arc::new(Semaphore::new(MAX_POSTS_IN_FLIGHT)),
            hub,
            metrics,
            settings,
            heard,
            rooms: HashMap::new(),
            ever_joined: false,
            send_limit: RateLimit::new(
                settings.rate_limit_burst,
                settings.rate_limit_per_second,
                now,
            ),
            join_limit: RateLimit::new(
                u32::try_from(settings.max_rooms)
                    .unwrap_or(u32::MAX)
                    .saturating_add(JOIN_BURST_EXTRA),
                JOINS_PER_SECOND,
                now,
            ),
        }
    }

    /// Reads and carries out the client's requests until the connection
    /// ends, for whatever reason.
    pub(super) async fn read_requests(
        &mut self,
        reader: &mut FrameReader,
        disconnect: &Disconnect,
    ) {
        let resume_at = self.queued.limit() * PAUSE_READING_PERCENT / 100;
        let join_deadline = Instant::now() + self.settings.join_timeout;
        let idle_timeout = self.settings.idle_timeout;
        loop {
            // Flow control: a client that posts faster than it reads what
            // its rooms send back waits here, and TCP pushes back on it,
            // before its own queue can overflow. Time spent waiting here
            // is not idle time: the client is silent only once we listen.
            let queued = &self.queued;
            let message = tokio::select! {
                () = disconnect.requested() => Err(ReadEnd::Done),
                () = sleep_until(join_deadline), if !self.ever_joined => Err(ReadEnd::NeverJoined),
                message = async {
                    queued.wait_until_at_most(resume_at).await;
                    timeout(idle_timeout, reader.next()).await.map_err(|_| ReadEnd::Idle)
                } => message,
            };
            let message = match message {
                Ok(Ok(Some(message))) => message,
                Ok(Ok(None)) | Err(ReadEnd::Done) => return,
                Ok(Err(ReadError::Io(err))) => {
                    tracing::debug!(error = %err, "read failed");
                    return;
                }
                Ok(Err(ReadError::Decode(err))) => {
                    tracing::debug!(error = %err, "closing: the client broke the protocol");
                    self.client.close(match err {
                        DecodeError::TooBig { .. } => CloseReason::MessageTooBig,
                        DecodeError::InvalidUtf8 => CloseReason::InvalidUtf8,
                        DecodeError::Protocol(_) => CloseReason::ProtocolError,
                    });
                    return;
                }
                Err(ReadEnd::Idle) => {
                    tracing::debug!(?idle_timeout, "idle: closing");
                    self.client.close(CloseReason::IdleTimeout);
                    return;
                }
                Err(ReadEnd::NeverJoined) => {
                    self.client.close(CloseReason::JoinTimeout);
                    return;
                }
            };
            match message {
                // Boxed: handling a request (a join waits on its room) takes
                // far more state than waiting for one, and an idle
                // connection should not carry that state all the time.
                Incoming::Text(text) => Box::pin(self.handle_text(&text)).await,
                Incoming::Binary => {
                    self.metrics.frame_received(FrameKind::Invalid);
                    self.reply_error(RequestError::new(
                        ErrorCode::Unsupported,
                        "binary frames are not supported; send JSON in text frames",
                    ));
                }
                // Answered through the queue, in order with the rest.
                Incoming::Ping(payload) => {
                    self.client.deliver(OutgoingFrame::pong(&payload));
                }
                Incoming::Pong(payload) => self.heard.pong(&payload),
                Incoming::Close(code) => {
                    self.heard.closed_by_client(code);
                    return;
                }
            }
        }
    }

    async fn handle_text(&mut self, text: &str) {
        match ClientFrame::decode(text) {
            Ok(frame) => {
                self.metrics.frame_received(frame_kind(&frame));
                if let Err(err) = self.handle_frame(frame).await {
                    self.reply_error(err);
                }
            }
            Err(err) => {
                self.metrics.frame_received(FrameKind::Invalid);
                self.reply_error(err);
            }
        }
    }

    async fn handle_frame(&mut self, frame: ClientFrame) -> Result<(), RequestError> {
        match frame {
            ClientFrame::Join { room, name, since } => {
                if self.rooms.contains_key(&room) {
                    return Err(already_joined(&room));
                }
                if self.rooms.len() >= self.settings.max_rooms {
                    return Err(RequestError::new(
                        ErrorCode::TooManyRooms,
                        format!(
                            "you are in {} rooms, the most allowed; leave one first",
                            self.settings.max_rooms
                        ),
                    )
                    .about(&room, None));
                }
                self.check_rate(FrameKind::Join, &room, None)?;
                let handle = self.hub.join(&room, &self.client, &name, since).await?;
                self.ever_joined = true;
                self.rooms.insert(
                    room,
                    JoinedRoom {
                        handle,
                        typing_forwarded: None,
                    },
                );
            }
            ClientFrame::Send { room, text, nonce } => {
                let handle = self
                    .joined(&room)
                    .map_err(|err| err.about(&room, nonce.as_ref()))?
                    .clone();
                self.check_rate(FrameKind::Send, &room, nonce.as_ref())?;
                // Waits while this connection has its most posts on their way.
                let Ok(permit) = Arc::clone(&self.posts).acquire_owned().await else {
                    return Err(room_gone(&room).about(&room, nonce.as_ref()));
                };
                if handle
                    .post(self.client.id(), text, nonce.clone(), permit)
                    .await
                    .is_err()
                {
                    return Err(room_gone(&room).about(&room, nonce.as_ref()));
                }
            }
            ClientFrame::Leave { room } => {
                let handle = self.joined(&room)?.clone();
                self.rooms.remove(&room);
                // A room that is gone has nothing left to leave.
                let _ = handle.leave(self.client.id()).await;
            }
            ClientFrame::Typing { room } => {
                self.joined(&room)?;
                let client = self.client.id();
                let now = Instant::now();
                if let Some(joined) = self.rooms.get_mut(&room) {
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

    /// Applies the rate limit of `kind` to a request about `room`. A client
    /// that keeps going past it is closed (close code 1008).
    fn check_rate(
        &mut self,
        kind: FrameKind,
        room: &RoomName,
        nonce: Option<&Nonce>,
    ) -> Result<(), RequestError> {
        let limit = match kind {
            FrameKind::Join => &mut self.join_limit,
            _ => &mut self.send_limit,
        };
        match limit.check(Instant::now().into_std()) {
            Verdict::Allow => return Ok(()),
            Verdict::Refuse => {}
            Verdict::Flooding => {
                tracing::info!(
                    kind = kind.label(),
                    "rate limit exceeded again and again; closing"
                );
                self.client.close(CloseReason::RateLimited);
            }
        }
        self.metrics.rate_limited(kind);
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

    fn joined(&self, room: &RoomName) -> Result<&RoomHandle, RequestError> {
        self.rooms
            .get(room)
            .map(|joined| &joined.handle)
            .ok_or_else(|| {
                RequestError::new(ErrorCode::NotJoined, "you have not joined this room")
                    .about(room, None)
            })
    }

    fn reply_error(&self, err: RequestError) {
        tracing::debug!(code = %err.code, "request failed");
        self.client
            .deliver(OutgoingFrame::text(&ServerFrame::from(err).encode()));
    }

    pub(super) async fn leave_all(&mut self) {
        for (_, joined) in self.rooms.drain() {
            let _ = joined.handle.leave(self.client.id()).await;
        }
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

fn already_joined(room: &RoomName) -> RequestError {
    RequestError::new(ErrorCode::AlreadyJoined, "you are already in this room").about(room, None)
}

fn room_gone(room: &RoomName) -> RequestError {
    RequestError::new(
        ErrorCode::Unavailable,
        "the room is not available; join it again",
    )
    .about(room, None)
}
