//! The reader threads: [`READERS`] threads, each with a read-only
//! connection of its own (opened at its first read), take the reads from
//! one queue. WAL mode lets them run beside the writer without waiting
//! for it.
//!
//! A fixed set rather than Tokio's blocking pool: a storm of reads
//! (thousands of WebSockets authenticating at once) would there get a
//! thread, and a connection with its own page cache, for nearly every
//! read in flight, and the memory they leave behind stays with the
//! process. Here reads beyond [`READERS`] wait their turn in the queue.

use super::BUSY_TIMEOUT;
use crate::store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Reader threads, each with its read-only connection.
pub const READERS: usize = 2;

/// A read: it gets the thread's connection, or the error opening it.
type Job = Box<dyn FnOnce(Result<&Connection, StoreError>) + Send>;

/// The reader threads and their queue.
pub(super) struct Readers {
    /// `None` once closed: reads then fail as [`StoreError::closed`].
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Readers {
    /// Starts the threads for the database at `path`.
    pub(super) fn start(path: &Path) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = (0..READERS)
            .map(|index| {
                let jobs = Arc::clone(&jobs);
                let path = path.to_owned();
                std::thread::Builder::new()
                    .name(format!("sqlite-reader-{index}"))
                    .spawn(move || run(&path, &jobs))
                    .map_err(|err| StoreError::new(crate::store::ErrorKind::Open, err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            queue: Mutex::new(Some(queue)),
            threads: Mutex::new(threads),
        })
    }

    /// Runs `query` on a reader thread and waits for its answer.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move |conn| {
            let _ = done.send(conn.and_then(query));
        }))?;
        answer.await.map_err(|_| StoreError::closed())?
    }

    /// Runs `query` on a reader thread, blocking the calling thread until
    /// it answers (for opening the store, outside any runtime).
    pub(super) fn read_blocking<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, answer) = mpsc::channel();
        self.submit(Box::new(move |conn| {
            let _ = done.send(conn.and_then(query));
        }))?;
        answer.recv().map_err(|_| StoreError::closed())?
    }

    fn submit(&self, job: Job) -> Result<(), StoreError> {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match &*queue {
            Some(queue) => queue.send(job).map_err(|_| StoreError::closed()),
            None => Err(StoreError::closed()),
        }
    }

    /// Stops taking reads; the threads finish those queued, close their
    /// connections and end. Returns them, for the caller to join: once
    /// they have, the writer's connection is the last one, and its close
    /// can checkpoint and remove the WAL file (a read-only one cannot).
    pub(super) fn close(&self) -> Vec<JoinHandle<()>> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// One reader thread: takes reads until the queue closes.
fn run(path: &Path, jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut conn: Option<Connection> = None;
    loop {
        // The lock is held only while waiting for the next read: the
        // others wait for the lock instead, and one of them gets the next.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else {
            return;
        };
        if conn.is_none() {
            match open(path) {
                Ok(opened) => conn = Some(opened),
                Err(err) => {
                    job(Err(err));
                    continue;
                }
            }
        }
        if let Some(conn) = &conn {
            job(Ok(conn));
        }
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}
