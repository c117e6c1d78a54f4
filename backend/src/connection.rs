//! One WebSocket connection: reads the client's frames and carries them out
//! through the hub, and writes the frames queued for it.
//!
//! The connection is two tasks. The reader (this task) decodes frames and
//! talks to rooms; the writer drains the client's bounded outgoing queue
//! into the socket. Rooms never wait for either: they put frames in the
//! queue without blocking, and a client whose queue is full is closed as a
//! slow consumer (see [`ClientHandle::deliver`]).
//!
//! Limits enforced here (see [`ConnectionSettings`] and [`crate::limits`]):
//! a rate limit on `send` and on `join`, a cap on rooms, a throttle on
//! typing notices, a join timeout for connections that never join, and
//! heartbeats: the writer pings, the reader closes a connection that has
//! sent nothing for the idle timeout.

use crate::config::Config;
use crate::hub::client::{
    next_client_id, ClientHandle, CloseReason, Disconnect, EncodedFrame, QueuedBytes,
};
use crate::hub::room::RoomHandle;
use crate::hub::Hub;
use crate::limits::{
    AdmissionTicket, RateLimit, Verdict, JOINS_PER_SECOND, JOIN_BURST_EXTRA, TYPING_MIN_INTERVAL,
};
use crate::metrics::{FrameKind, Metrics};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use common::{ClientFrame, ErrorCode, Nonce, RequestError, RoomName, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{sleep_until, timeout, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Most queued frames the writer takes at once and sends with one flush.
pub const WRITE_BURST: usize = 64;

/// A connection reads its client's next request only while at most this
/// share (in percent) of the client's outgoing queue is in use.
pub const PAUSE_READING_PERCENT: usize = 50;

/// Most messages one connection may have on their way to the database and
/// back; its next `send` waits (and so does its socket) until one is done.
/// With [`PAUSE_READING_PERCENT`] this keeps a client that posts faster than
/// it reads from overflowing its own queue with its echoes.
pub const MAX_POSTS_IN_FLIGHT: usize = 64;

/// Longest the server tries to deliver its close frame when it ends a
/// connection. A slow consumer gets it once it reads what is already on its
/// way; one that reads nothing at all is dropped after this.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// Per-connection settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// Capacity of the client's outgoing queue, in bytes.
    pub client_queue_bytes: usize,
    /// Messages the client may post in a burst.
    pub rate_limit_burst: u32,
    /// Messages per second the client may post after its burst.
    pub rate_limit_per_second: f64,
    /// Rooms the client may be in at once.
    pub max_rooms: usize,
    /// How often the server pings the client.
    pub ping_interval: Duration,
    /// How long the client may send nothing before it is closed.
    pub idle_timeout: Duration,
    /// How long a new client may stay without joining a room.
    pub join_timeout: Duration,
    /// Longest one write to the socket (of up to [`WRITE_BURST`] frames)
    /// may take before the client is considered stuck (close code 1011).
    pub write_timeout: Duration,
}

impl From<&Config> for ConnectionSettings {
    fn from(config: &Config) -> Self {
        Self {
            client_queue_bytes: config.client_queue_bytes,
            rate_limit_burst: config.rate_limit_burst,
            rate_limit_per_second: config.rate_limit_per_second,
            max_rooms: config.max_rooms_per_connection,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            join_timeout: config.join_timeout,
            write_timeout: config.write_timeout,
        }
    }
}

/// What every connection shares with the rest of the server.
#[derive(Clone)]
pub struct ConnectionContext {
    /// The room hub.
    pub hub: Hub,
    /// The server's metrics.
    pub metrics: Metrics,
    /// The limits and timeouts.
    pub settings: ConnectionSettings,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
}

/// Serves one upgraded WebSocket until either side closes it or the server
/// shuts down. `ticket` counts the connection against the server's caps
/// until it ends.
pub async fn serve(
    socket: WebSocket,
    peer: SocketAddr,
    ticket: AdmissionTicket,
    context: ConnectionContext,
) {
    let id = next_client_id();
    let span = tracing::info_span!("connection", client = id, %peer);
    async move {
        tracing::debug!("connected");
        let ConnectionContext {
            hub,
            metrics,
            settings,
            shutdown,
        } = context;
        metrics.connection_opened();
        let (sink, stream) = socket.split();
        let (outbound, queue) = mpsc::unbounded_channel();
        let queued = QueuedBytes::new(settings.client_queue_bytes);
        let disconnect = Disconnect::child_of(&shutdown);
        let client = ClientHandle::new(id, outbound, Arc::clone(&queued), disconnect.clone());
        let writer = Writer {
            queue,
            queued: Arc::clone(&queued),
            disconnect: disconnect.clone(),
            ping_interval: settings.ping_interval,
            write_timeout: settings.write_timeout,
        };
        let writer = tokio::spawn(writer.run(sink).in_current_span());

        let now = Instant::now();
        let mut session = Session {
            client,
            queued,
            posts: Arc::new(Semaphore::new(MAX_POSTS_IN_FLIGHT)),
            hub,
            metrics: metrics.clone(),
            settings,
            rooms: HashMap::new(),
            ever_joined: false,
            send_limit: RateLimit::new(
                settings.rate_limit_burst,
                settings.rate_limit_per_second,
                now.into_std(),
            ),
            join_limit: RateLimit::new(
                u32::try_from(settings.max_rooms)
                    .unwrap_or(u32::MAX)
                    .saturating_add(JOIN_BURST_EXTRA),
                JOINS_PER_SECOND,
                now.into_std(),
            ),
        };
        session.read_frames(stream, &disconnect).await;
        session.leave_all().await;

        // The reader is done, so is the connection: stop the writer too.
        // (A reason set earlier, such as a shutdown, wins.)
        disconnect.close(CloseReason::ClientClosed);
        let _ = writer.await;
        let reason = disconnect.reason().unwrap_or(CloseReason::ClientClosed);
        metrics.connection_closed(reason.label());
        drop(ticket);
        tracing::debug!(reason = reason.label(), "disconnected");
    }
    .instrument(span)
    .await;
}

/// A room this connection is in.
struct JoinedRoom {
    handle: RoomHandle,
    /// When the last typing notice for this room was forwarded.
    typing_forwarded: Option<Instant>,
}

/// What the connection knows of itself: its handle, the rooms it joined
/// and its limits.
struct Session {
    client: ClientHandle,
    queued: Arc<QueuedBytes>,
    /// One permit per post on its way to the database and back.
    posts: Arc<Semaphore>,
    hub: Hub,
    metrics: Metrics,
    settings: ConnectionSettings,
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
    async fn read_frames(&mut self, mut stream: SplitStream<WebSocket>, disconnect: &Disconnect) {
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
                    timeout(idle_timeout, stream.next()).await.map_err(|_| ReadEnd::Idle)
                } => message,
            };
            let message = match message {
                Ok(Some(message)) => message,
                Ok(None) | Err(ReadEnd::Done) => return,
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
                Ok(Message::Text(text)) => Box::pin(self.handle_text(text.as_str())).await,
                Ok(Message::Binary(_)) => {
                    self.metrics.frame_received(FrameKind::Invalid);
                    self.reply_error(RequestError::new(
                        ErrorCode::Unsupported,
                        "binary frames are not supported; send JSON in text frames",
                    ));
                }
                // Pings are answered by the WebSocket layer itself; pongs
                // (to the writer's pings) only show the client is alive.
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                Ok(Message::Close(_)) => return,
                Err(err) => {
                    if is_message_too_big(&err) {
                        self.client.close(CloseReason::MessageTooBig);
                    }
                    tracing::debug!(error = %err, "read failed");
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
            .deliver(EncodedFrame::from(ServerFrame::from(err).encode()));
    }

    async fn leave_all(&mut self) {
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

fn is_message_too_big(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(tungstenite::Error::Capacity(_)) = current.downcast_ref::<tungstenite::Error>()
        {
            return true;
        }
        source = current.source();
    }
    false
}

/// The writer task's state: the client's queue, and its timers.
struct Writer {
    queue: mpsc::UnboundedReceiver<EncodedFrame>,
    queued: Arc<QueuedBytes>,
    disconnect: Disconnect,
    ping_interval: Duration,
    write_timeout: Duration,
}

impl Writer {
    /// Sends queued frames, and a ping every `ping_interval`, until the
    /// connection should close; then sends the close frame that says why.
    async fn run(mut self, mut sink: SplitSink<WebSocket, Message>) {
        let mut frames = Vec::with_capacity(WRITE_BURST);
        let mut pings =
            tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        // A ping that is late (the socket was busy) is not worth two.
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let ping = tokio::select! {
                biased;
                () = self.disconnect.requested() => break,
                received = self.queue.recv_many(&mut frames, WRITE_BURST) => {
                    if received == 0 {
                        break; // Every handle is gone.
                    }
                    false
                }
                _ = pings.tick() => true,
            };
            // Everything queued goes out in one flush.
            let bytes = frames.iter().map(|frame| frame.as_str().len()).sum();
            let write = async {
                if ping {
                    sink.feed(Message::Ping(Default::default())).await?;
                }
                for frame in frames.drain(..) {
                    sink.feed(Message::Text(frame)).await?;
                }
                sink.flush().await
            };
            let written = tokio::select! {
                () = self.disconnect.requested() => break,
                written = timeout(self.write_timeout, write) => written,
            };
            self.queued.release(bytes);
            match written {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    // The socket is broken: end the whole connection, so the
                    // reader stops too and the rooms let the client go.
                    tracing::debug!(error = %err, "write failed");
                    self.disconnect.close(CloseReason::ClientClosed);
                    break;
                }
                Err(_) => {
                    tracing::info!("write timed out; disconnecting");
                    self.disconnect.close(CloseReason::WriteTimeout);
                    break;
                }
            }
        }
        if let Some(reason) = self
            .disconnect
            .reason()
            .filter(|&r| r != CloseReason::ClientClosed)
        {
            let close = Message::Close(Some(CloseFrame {
                code: reason.code(),
                reason: reason.text().into(),
            }));
            let _ = timeout(CLOSE_TIMEOUT, sink.send(close)).await;
        }
        let _ = timeout(CLOSE_TIMEOUT, sink.close()).await;
    }
}
