//! What the backends' writers share: the requests in their queue, and how
//! a batch is gathered from it (group commit). Each writer (SQLite's
//! thread, PostgreSQL's task) commits a batch in one transaction.
//!
//! A writer may also take jobs (`J`): other writes that must go through
//! it, in queue order (SQLite's account writes, which only its connection
//! may make). A job ends the batch before it: the posts queued earlier are
//! committed, then the job runs alone.

use super::{Draft, Posted, StoreError, MAX_WRITE_BATCH};
use std::convert::Infallible;
use std::sync::{Mutex, PoisonError};
use tokio::sync::oneshot;

/// Where a post's outcome goes.
pub(crate) type Done = oneshot::Sender<Result<Posted, StoreError>>;

/// What a writer is asked to do, in order; `J` is the writer's kind of
/// job (none for PostgreSQL's).
pub(crate) enum WriteRequest<J = Infallible> {
    /// Store a message, and answer once it is committed.
    Post {
        /// The message.
        draft: Draft,
        /// Its answer.
        done: Done,
    },
    /// Run this job after the posts queued before it are committed.
    Job(J),
    /// Commit what came before and stop; answered when done.
    Close {
        /// The answer.
        done: oneshot::Sender<()>,
    },
}

/// What ended a batch before it was full, to be done once it is committed.
pub(crate) enum Then<J> {
    /// Run this job.
    Job(J),
    /// Stop, and answer here.
    Close(oneshot::Sender<()>),
}

/// Gathers into `batch`, from `first` and whatever `next` has waiting
/// (without waiting for more), posts up to [`MAX_WRITE_BATCH`]; stops at a
/// job or a close, which it returns.
pub(crate) fn gather<J>(
    first: WriteRequest<J>,
    batch: &mut Vec<(Draft, Done)>,
    mut next: impl FnMut() -> Option<WriteRequest<J>>,
) -> Option<Then<J>> {
    let mut request = Some(first);
    while let Some(current) = request.take() {
        match current {
            WriteRequest::Post { draft, done } => batch.push((draft, done)),
            WriteRequest::Job(job) => return Some(Then::Job(job)),
            WriteRequest::Close { done } => return Some(Then::Close(done)),
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
