//! The instance's one way to post to the broker, in order.
//!
//! One connection's posts must be stored in the order they were sent, as a
//! single server stores them. Posts sent as separate commands do not keep
//! it: the connection to the broker queues commands in a bounded channel,
//! and once it is full a command made later can find room before an
//! earlier one that waited (and `EVALSHA`'s retry after `NOSCRIPT` would
//! reorder them too). So every post of the instance goes through one task,
//! in the order the rooms made them: it sends what has gathered as one
//! pipeline (one write, executed by the broker in order), waits for the
//! answers, and sends the next.

use super::keys::{self, RoomKeys};
use super::scripts;
use super::store::{unix_millis, Draft, Posted, NONCES_FORGOTTEN_PER_POST};
use crate::hub::room::nonces::window_ms;
use crate::store::{StoreError, StoreFuture};
use common::Nonce;
use redis::aio::ConnectionManager;
use redis::{ErrorKind, ServerErrorKind, Value};
use std::num::NonZeroU64;
use std::sync::LazyLock;
use tokio::sync::{mpsc, oneshot};

/// Most posts one pipeline carries; more wait for the next. Bounds how
/// long one pipeline keeps the broker from everything else.
pub const POSTS_PER_PIPELINE: usize = 256;

/// The post script, sent by its hash (loaded when the broker lacks it).
static POST_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(scripts::POST));

/// A post waiting for its pipeline, and where its answer goes.
struct Pending {
    draft: Draft,
    answer: oneshot::Sender<Result<Posted, StoreError>>,
}

/// The way to the instance's posting task. Cheap to clone.
#[derive(Clone)]
pub(super) struct Poster {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Poster {
    /// Starts the posting task; it ends when every `Poster` is dropped.
    /// Each room's log keeps at least `keep` of its newest messages, and
    /// older ones are trimmed; `None` keeps them all.
    pub(super) fn start(connection: ConnectionManager, keep: Option<NonZeroU64>) -> Self {
        // Unbounded: posts are bounded upstream (a room takes no more
        // commands past `MAX_PENDING_WRITES` posts on their way).
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(connection, pending, keep));
        Self { queue }
    }

    /// Queues `draft` behind every post made before it; the future brings
    /// the broker's answer.
    pub(super) fn post(&self, draft: Draft) -> StoreFuture<Posted> {
        let (answer, answered) = oneshot::channel();
        // Queued now, not when the future is first polled: the order of
        // the calls is the order of the posts.
        let queued = self.queue.send(Pending { draft, answer });
        Box::pin(async move {
            queued.map_err(|_| StoreError::broker("the posting task has stopped"))?;
            answered
                .await
                .unwrap_or_else(|_| Err(StoreError::broker("the posting task has stopped")))
        })
    }
}

async fn run(
    mut connection: ConnectionManager,
    mut queue: mpsc::UnboundedReceiver<Pending>,
    keep: Option<NonZeroU64>,
) {
    let keep = keep.map_or(0, NonZeroU64::get);
    let mut batch = Vec::with_capacity(POSTS_PER_PIPELINE);
    while queue.recv_many(&mut batch, POSTS_PER_PIPELINE).await > 0 {
        let replies = send(&mut connection, &batch, keep).await;
        match replies {
            Ok(replies) if replies.len() == batch.len() => {
                for (pending, reply) in batch.drain(..).zip(replies) {
                    let posted = posted_from_reply(&pending.draft, reply);
                    let _ = pending.answer.send(posted);
                }
            }
            Ok(replies) => {
                let error = format!("{} answers to {} posts", replies.len(), batch.len());
                fail_all(&mut batch, &error);
            }
            Err(err) => fail_all(&mut batch, &err.to_string()),
        }
    }
}

/// Sends `batch` as one pipeline; loads the script first if the broker
/// does not know it (then nothing of the pipeline ran, and it is sent again).
async fn send(
    connection: &mut ConnectionManager,
    batch: &[Pending],
    keep: u64,
) -> redis::RedisResult<Vec<Value>> {
    let mut pipeline = redis::pipe();
    for pending in batch {
        pipeline.add_command(post_command(&pending.draft, keep));
    }
    match pipeline.query_async(connection).await {
        Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            POST_SCRIPT.prepare_invoke().load_async(connection).await?;
            pipeline.query_async(connection).await
        }
        result => result,
    }
}

fn fail_all(batch: &mut Vec<Pending>, error: &str) {
    for pending in batch.drain(..) {
        let _ = pending
            .answer
            .send(Err(StoreError::broker(error.to_owned())));
    }
}

/// The `EVALSHA` of one post (see `scripts::POST` for its keys and
/// arguments), in a room whose log keeps `keep` messages (0: all).
fn post_command(draft: &Draft, keep: u64) -> redis::Cmd {
    let keys = RoomKeys::new(&draft.room);
    let mut command = redis::cmd("EVALSHA");
    command
        .arg(POST_SCRIPT.get_hash())
        .arg(5)
        .arg(&keys.meta)
        .arg(&keys.log)
        .arg(&keys.nonces)
        .arg(&keys.nonce_times)
        .arg(keys::ROOMS)
        .arg(draft.room.as_str())
        .arg(draft.name.as_str())
        .arg(draft.name.uniqueness_key())
        .arg(draft.text.as_str())
        .arg(draft.nonce.as_ref().map_or("", Nonce::as_str))
        .arg(unix_millis())
        .arg(window_ms())
        .arg(&keys.channel)
        .arg(NONCES_FORGOTTEN_PER_POST)
        .arg(draft.known)
        .arg(keep);
    command
}

/// What the broker did with `draft`, from the script's reply.
fn posted_from_reply(draft: &Draft, reply: Value) -> Result<Posted, StoreError> {
    let reply: Vec<u64> = redis::from_redis_value(reply)
        .map_err(|err| StoreError::corrupt(format!("a reply to a post: {err}")))?;
    match reply.as_slice() {
        [1, id, _, renumbered] => {
            if *renumbered == 1 {
                tracing::error!(
                    room = %draft.room,
                    known = draft.known,
                    "the cluster broker had lost this room's messages (was it restarted without its data?); numbering continues after the newest id this instance knows"
                );
            }
            Ok(Posted::New(*id))
        }
        [0, id, ..] => Ok(Posted::Repeat(*id)),
        other => Err(StoreError::corrupt(format!(
            "unexpected reply to a post: {other:?}"
        ))),
    }
}
