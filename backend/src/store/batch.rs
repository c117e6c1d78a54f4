//! What the backends' writers share: the requests in their queue, and how
//! a batch is gathered from it (group commit). Each writer (SQLite's
//! thread, PostgreSQL's task) commits a batch in one transaction.

use super::{Draft, Posted, StoreError, MAX_WRITE_BATCH};
use std::sync::{Mutex, PoisonError};
use tokio::sync::oneshot;

/// Where a post's outcome goes.
pub(crate) type Done = oneshot::Sender<Result<Posted, StoreError>>;

/// What a writer is asked to do, in order.
pub(crate) enum WriteRequest {
    /// Store a message, and answer once it is committed.
    Post {
        /// The message.
        draft: Draft,
        /// Its answer.
        done: Done,
    },
    /// Commit what came before and stop; answered when done.
    Close {
        /// The answer.
        done: oneshot::Sender<()>,
    },
}

/// Gathers into `batch`, from `first` and whatever `next` has waiting
/// (without waiting for more), posts up to [`MAX_WRITE_BATCH`]; stops at a
/// close, whose answer it returns.
pub(crate) fn gather(
    first: WriteRequest,
    batch: &mut Vec<(Draft, Done)>,
    mut next: impl FnMut() -> Option<WriteRequest>,
) -> Option<oneshot::Sender<()>> {
    let mut request = Some(first);
    while let Some(current) = request.take() {
        match current {
            WriteRequest::Post { draft, done } => batch.push((draft, done)),
            WriteRequest::Close { done } => return Some(done),
        }
        if batch.len() < MAX_WRITE_BATCH {
            request = next();
        }
    }
    None
}

/// Whether a store's writer (SQLite's thread, PostgreSQL's task) is still
/// running: without it a store serves history but stores nothing, so it
/// is not healthy. `None` once the store was closed.
pub(crate) fn writer_running<H>(
    writer: &Mutex<Option<H>>,
    is_finished: impl Fn(&H) -> bool,
) -> bool {
    writer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_some_and(|writer| !is_finished(writer))
}
