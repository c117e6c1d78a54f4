//! One WebSocket connection: reads the client's frames and carries them out
//! through the hub, and writes the frames queued for it.
//!
//! The connection is two tasks. The reader (this task) decodes frames and
//! talks to rooms; the writer drains the client's bounded outgoing queue
//! into the socket. Rooms never wait for either: they put frames in the
//! queue without blocking, and a client whose queue is full is closed as a
//! slow consumer (see [`ClientHandle::deliver`]).

use crate::hub::client::{
    next_client_id, ClientHandle, CloseReason, Disconnect, EncodedFrame, QueuedBytes,
};
use crate::hub::room::RoomHandle;
use crate::hub::Hub;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use common::{ClientFrame, ErrorCode, RequestError, RoomName, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Longest one write to the socket (of up to [`WRITE_BURST`] frames) may
/// take before the client is considered stuck and disconnected (close code 1011).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

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
}

/// Serves one upgraded WebSocket until either side closes it or the server
/// shuts down (`shutdown` is cancelled).
pub async fn serve(
    socket: WebSocket,
    peer: SocketAddr,
    hub: Hub,
    settings: ConnectionSettings,
    shutdown: CancellationToken,
) {
    let id = next_client_id();
    let span = tracing::info_span!("connection", client = id, %peer);
    async move {
        tracing::debug!("connected");
        let (sink, stream) = socket.split();
        let (outbound, queue) = mpsc::unbounded_channel();
        let queued = QueuedBytes::new(settings.client_queue_bytes);
        let disconnect = Disconnect::child_of(&shutdown);
        let client = ClientHandle::new(id, outbound, Arc::clone(&queued), disconnect.clone());
        let writer = write_frames(sink, queue, Arc::clone(&queued), disconnect.clone());
        let writer = tokio::spawn(writer.in_current_span());

        let posts = Arc::new(Semaphore::new(MAX_POSTS_IN_FLIGHT));
        let mut session = Session {
            client,
            queued,
            posts,
            hub,
            rooms: HashMap::new(),
        };
        session.read_frames(stream, &disconnect).await;
        session.leave_all().await;

        // The reader is done, so is the connection: stop the writer too.
        // (A reason set earlier, such as a shutdown, wins.)
        disconnect.close(CloseReason::ClientClosed);
        let _ = writer.await;
        tracing::debug!(reason = ?disconnect.reason(), "disconnected");
    }
    .instrument(span)
    .await;
}

/// What the connection knows of itself: its handle and the rooms it joined.
struct Session {
    client: ClientHandle,
    queued: Arc<QueuedBytes>,
    /// One permit per post on its way to the database and back.
    posts: Arc<Semaphore>,
    hub: Hub,
    rooms: HashMap<RoomName, RoomHandle>,
}

impl Session {
    async fn read_frames(&mut self, mut stream: SplitStream<WebSocket>, disconnect: &Disconnect) {
        let resume_at = self.queued.limit() * PAUSE_READING_PERCENT / 100;
        loop {
            // Flow control: a client that posts faster than it reads what
            // its rooms send back waits here, and TCP pushes back on it,
            // before its own queue can overflow.
            let message = tokio::select! {
                () = disconnect.requested() => return,
                message = async {
                    self.queued.wait_until_at_most(resume_at).await;
                    stream.next().await
                } => message,
            };
            match message {
                Some(Ok(Message::Text(text))) => self.handle_text(text.as_str()).await,
                Some(Ok(Message::Binary(_))) => self.reply_error(RequestError::new(
                    ErrorCode::Unsupported,
                    "binary frames are not supported; send JSON in text frames",
                )),
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => return,
                Some(Err(err)) => {
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
                if let Err(err) = self.handle_frame(frame).await {
                    self.reply_error(err);
                }
            }
            Err(err) => self.reply_error(err),
        }
    }

    async fn handle_frame(&mut self, frame: ClientFrame) -> Result<(), RequestError> {
        match frame {
            ClientFrame::Join { room, name, since } => {
                if self.rooms.contains_key(&room) {
                    return Err(already_joined(&room));
                }
                let handle = self.hub.join(&room, &self.client, &name, since).await?;
                self.rooms.insert(room, handle);
            }
            ClientFrame::Send { room, text, nonce } => {
                let handle = self
                    .joined(&room)
                    .map_err(|err| err.about(&room, nonce.as_ref()))?;
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
            ClientFrame::Typing { room } => self.joined(&room)?.typing(self.client.id()),
        }
        Ok(())
    }

    fn joined(&self, room: &RoomName) -> Result<&RoomHandle, RequestError> {
        self.rooms.get(room).ok_or_else(|| {
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
        for (_, handle) in self.rooms.drain() {
            let _ = handle.leave(self.client.id()).await;
        }
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

/// The writer task: sends queued frames until the connection should close,
/// then sends the close frame that says why.
async fn write_frames(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::UnboundedReceiver<EncodedFrame>,
    queued: Arc<QueuedBytes>,
    disconnect: Disconnect,
) {
    let mut frames = Vec::with_capacity(WRITE_BURST);
    loop {
        let received = tokio::select! {
            biased;
            () = disconnect.requested() => break,
            received = queue.recv_many(&mut frames, WRITE_BURST) => received,
        };
        if received == 0 {
            break; // Every handle is gone.
        }
        // Everything queued goes out in one flush.
        let bytes = frames.iter().map(|frame| frame.as_str().len()).sum();
        let write = async {
            for frame in frames.drain(..) {
                sink.feed(Message::Text(frame)).await?;
            }
            sink.flush().await
        };
        let written = tokio::select! {
            () = disconnect.requested() => break,
            written = timeout(WRITE_TIMEOUT, write) => written,
        };
        queued.release(bytes);
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                // The socket is broken: end the whole connection, so the
                // reader stops too and the rooms let the client go.
                tracing::debug!(error = %err, "write failed");
                disconnect.close(CloseReason::ClientClosed);
                break;
            }
            Err(_) => {
                tracing::info!("write timed out; disconnecting");
                disconnect.close(CloseReason::WriteTimeout);
                break;
            }
        }
    }
    if let Some(reason) = disconnect
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
