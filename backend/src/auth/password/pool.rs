//! The bounded pool that hashes and verifies passwords ([`PasswordHasher`]):
//! its own threads, under the lowest priority there is, a bounded queue,
//! and a rest after each hash [`HASHING_REST_FACTOR`] times as long as the
//! rooms held it up (at most [`MAX_HASHING_REST`]), so that a storm of
//! sign-ins takes only CPU the rooms leave, and less of it the busier they
//! are.

use super::{hash, verify, PoolError, DUMMY_HASH};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Most hashes the default pool runs at once, whatever the machine: each
/// takes a core and [`super::MEMORY_KIB`] of memory.
pub const MAX_HASHING_THREADS: usize = 4;

/// The niceness of the threads that hash passwords: the lowest there is
/// (Linux gives each thread its own). On Linux they are also under
/// `SCHED_IDLE`, which runs a thread only when no other wants the CPU and
/// lets any other preempt it at once: at nice 19 alone the scheduler still
/// gave hashes a slice beside a busy room (chat-bench's
/// `fanout-100k-sign-ins`, docs/BENCHMARKS.md). A hash then takes only the
/// CPU that the rooms leave, so a storm of sign-ins slows sign-ins down
/// (and fills the queue, refused with 503 past it), never the rooms.
pub const HASHING_NICE: i32 = 19;

/// Hashes that may wait for a place in the pool; one more is refused at
/// once with [`PoolError::Busy`] (the HTTP layer answers 503 with a
/// `Retry-After`). At tens of milliseconds a hash, the last in the queue
/// waits about a second on one thread; a waiting request holds only its
/// password and a small future.
pub const HASHING_QUEUE: usize = 32;

/// Hashes the default pool runs at once: the cores the machine has less
/// one, which the rooms keep, and at least 1 (so 1 on a 2-core machine),
/// at most [`MAX_HASHING_THREADS`].
pub fn default_hashing_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(1))
        .clamp(1, MAX_HASHING_THREADS)
}

/// Longest a hashing thread rests after a hash ([`rest_after`]). A hash
/// does not only take CPU time: it streams through [`super::MEMORY_KIB`]
/// of memory, which evicts what the rooms keep in the core's caches, so
/// their next messages take longer to deliver even though the hash gave
/// way to them at once (`SCHED_IDLE`). On a busy server the pool thus
/// slows down more than the idle CPU alone would make it: after each hash
/// its thread waits [`HASHING_REST_FACTOR`] times as long as others held
/// the hash up (its real time less its own CPU time), at most this long. On an idle server a hash is
/// not held up and the next follows at once. A caller never waits for the
/// rest of a hash before its own answer: only the next hash in the queue
/// does. chat-bench's `fanout-100k-sign-ins` measures it
/// (docs/BENCHMARKS.md).
pub const MAX_HASHING_REST: Duration = Duration::from_secs(1);

/// How many times as long as it was held up a hashing thread rests after
/// a hash ([`rest_after`]).
pub const HASHING_REST_FACTOR: u32 = 3;

/// How long a hashing thread rests after a hash that took `wall` of real
/// time and `cpu` of its own CPU time: [`HASHING_REST_FACTOR`] times the
/// time others held it up, at most `max` ([`MAX_HASHING_REST`] in the
/// server). While rooms take a share `r` of the core, a hash of CPU time
/// `c` takes `c / (1 - r)`, and then the pool's share of the core is
/// `(1 - r) / (1 + 3r)` rather than all of the `1 - r` left: all of it on
/// an idle server, a third at `r = 0.2`, a seventeenth at `r = 0.8`.
pub fn rest_after(wall: Duration, cpu: Duration, max: Duration) -> Duration {
    (wall.saturating_sub(cpu) * HASHING_REST_FACTOR).min(max)
}

/// The bounded pool that hashes and verifies passwords; cheap to clone
/// (clones share the pool).
///
/// At most `threads` hashes run at once, each on one of the pool's own
/// threads, which run at [`HASHING_NICE`], and at most `queue` more wait
/// for a turn, in order; any more are refused at once with [`PoolError::Busy`]. A caller
/// that gives up while waiting frees its place. One that gives up while its
/// hash runs does not: the hash runs to its end and keeps its place until
/// then, so the bound holds however requests are cancelled.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    inner: Arc<Pool>,
}

#[derive(Debug)]
struct Pool {
    /// One permit per hash that may run at once: as many as `threads`, so
    /// a job never waits for a thread.
    running: Arc<Semaphore>,
    /// Where the pool's threads take their jobs; they end when it closes
    /// (the pool is dropped).
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
    /// One permit per hash that may run or wait.
    admitted: Arc<Semaphore>,
    capacity: usize,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// A pool of [`default_hashing_threads`] threads and a queue of
    /// [`HASHING_QUEUE`], resting up to [`MAX_HASHING_REST`].
    pub fn new() -> Self {
        Self::with_limits(default_hashing_threads(), HASHING_QUEUE, MAX_HASHING_REST)
    }

    /// A pool that runs at most `threads` hashes at once (at least 1) with
    /// at most `queue` waiting, each thread resting up to `max_rest` after
    /// a hash ([`rest_after`]; `Duration::ZERO` for none).
    pub fn with_limits(threads: usize, queue: usize, max_rest: Duration) -> Self {
        let threads = threads.max(1);
        let capacity = threads + queue;
        let (jobs, taken) = std::sync::mpsc::channel::<Job>();
        let taken = Arc::new(std::sync::Mutex::new(taken));
        for n in 0..threads {
            let taken = Arc::clone(&taken);
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || hashing_thread(&taken, max_rest));
            if let Err(err) = spawned {
                // Fewer threads only means fewer hashes at once.
                tracing::error!(error = %err, "cannot start a password hashing thread");
            }
        }
        Self {
            inner: Arc::new(Pool {
                running: Arc::new(Semaphore::new(threads)),
                jobs: std::sync::Mutex::new(jobs),
                admitted: Arc::new(Semaphore::new(capacity)),
                capacity,
            }),
        }
    }

    /// Hashes `password` into a PHC string (see [`hash`]).
    pub async fn hash(&self, password: &str) -> Result<String, PoolError> {
        let password = password.to_owned();
        self.run(move || hash(&password)).await?
    }

    /// Whether `password` matches the stored `hash` (see [`verify`]).
    pub async fn verify(&self, hash: &str, password: &str) -> Result<bool, PoolError> {
        self.place()?.verify(hash, password).await
    }

    /// What a sign-in as a username that has no account does in place of
    /// [`PasswordHasher::verify`]: the same work, in the same pool, against
    /// a hash of today's parameters that no password matches. Always
    /// `Ok(false)` unless the pool refuses; the caller answers exactly as
    /// for a wrong password.
    pub async fn verify_unknown_user(&self, password: &str) -> Result<bool, PoolError> {
        self.place()?.verify_unknown_user(password).await
    }

    /// A place in the pool (running or waiting) for one verification to
    /// come, or [`PoolError::Busy`] at once. A sign-in takes it before it
    /// looks the account up, so that while the pool is full a refusal
    /// costs no read of the database: under a storm of sign-ins most are
    /// refused, and the rooms' server does that work too.
    pub fn place(&self) -> Result<Place, PoolError> {
        let admitted = Arc::clone(&self.inner.admitted)
            .try_acquire_owned()
            .map_err(|_| PoolError::Busy)?;
        Ok(Place {
            pool: self.clone(),
            admitted,
        })
    }

    /// Hashes running or waiting now.
    pub fn pending(&self) -> usize {
        self.inner.capacity - self.inner.admitted.available_permits()
    }

    /// Runs `work` on one of the pool's threads once the pool has a place
    /// for it, or refuses at once if even the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        self.place()?.run(work).await
    }
}

/// A place taken in the pool ([`PasswordHasher::place`]) for one
/// verification; dropped unused, it frees its place.
#[derive(Debug)]
pub struct Place {
    pool: PasswordHasher,
    admitted: tokio::sync::OwnedSemaphorePermit,
}

impl Place {
    /// [`PasswordHasher::verify`] in this place.
    pub async fn verify(self, hash: &str, password: &str) -> Result<bool, PoolError> {
        let (hash, password) = (hash.to_owned(), password.to_owned());
        self.run(move || verify(&hash, &password)).await
    }

    /// [`PasswordHasher::verify_unknown_user`] in this place.
    pub async fn verify_unknown_user(self, password: &str) -> Result<bool, PoolError> {
        let password = password.to_owned();
        self.run(move || {
            // Run the real verification, then discard its answer: nothing
            // matches a random output, and nobody may sign in this way.
            let _ = verify(&DUMMY_HASH, &password);
            false
        })
        .await
    }

    /// Runs `work` on one of the pool's threads once one is free: waits
    /// its turn in the place it holds.
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let Self { pool, admitted } = self;
        let running = Arc::clone(&pool.inner.running)
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Failed("the password pool is closed".to_owned()))?;
        // Both permits move into the job, so they are released when the
        // hash ends, not when the caller stops waiting for it.
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let result = work();
            drop((running, admitted));
            let _ = done.send(result);
        });
        let sent = pool
            .inner
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job);
        if sent.is_err() {
            return Err(PoolError::Failed(
                "no password hashing thread runs".to_owned(),
            ));
        }
        result
            .await
            .map_err(|_| PoolError::Failed("the password hashing thread failed".to_owned()))
    }
}

/// A hash or verification for one of the pool's threads.
type Job = Box<dyn FnOnce() + Send>;

/// One of the pool's threads: lowers its own priority, then runs jobs
/// until the pool is gone, resting after each ([`rest_after`]).
fn hashing_thread(jobs: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>, max_rest: Duration) {
    lower_priority();
    loop {
        let job = jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok(job) = job else { return };
        let (started, cpu_before) = (Instant::now(), thread_cpu_time());
        // A job that panics (it cannot: hashing returns errors) would end
        // only this thread; its caller hears `Failed`.
        job();
        if let (Some(before), Some(after)) = (cpu_before, thread_cpu_time()) {
            let rest = rest_after(started.elapsed(), after.saturating_sub(before), max_rest);
            if !rest.is_zero() {
                std::thread::sleep(rest);
            }
        }
    }
}

/// The CPU time the calling thread has used, where the system tells it
/// (`CLOCK_THREAD_CPUTIME_ID`); without it a thread never rests.
fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let secs = u64::try_from(now.tv_sec).ok()?;
        let nanos = u32::try_from(now.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Puts the calling thread under `SCHED_IDLE` at [`HASHING_NICE`]: on
/// Linux both name the calling thread alone. Elsewhere the threads keep
/// the process's priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let native = thread_priority::thread_native_id();
        if let Err(err) =
            thread_priority::set_thread_priority_and_policy(native, ThreadPriority::Min, idle)
        {
            tracing::warn!(error = %err, "cannot put a password hashing thread under SCHED_IDLE");
        }
        // After the policy, which sets the niceness too.
        if let Err(err) = rustix::process::setpriority_process(None, HASHING_NICE) {
            tracing::warn!(error = %err, "cannot lower the priority of a password hashing thread");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::costs;
    use super::super::{ITERATIONS, MEMORY_KIB, PARALLELISM};
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    /// Pools in tests do not rest: their work is made to wait.
    const NO_REST: Duration = Duration::ZERO;

    #[test]
    fn the_default_pool_leaves_a_core_to_the_rooms() {
        let threads = default_hashing_threads();
        assert!((1..=MAX_HASHING_THREADS).contains(&threads));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(
            threads == 1 || threads < cores,
            "{threads} of {cores} cores"
        );
    }

    /// The niceness of the calling thread.
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        rustix::process::getpriority_process(None).expect("the thread's priority")
    }

    /// The scheduling policy of the calling thread.
    #[cfg(target_os = "linux")]
    fn own_policy() -> thread_priority::ThreadSchedulePolicy {
        thread_priority::thread_schedule_policy().expect("the thread's policy")
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_at_the_lowest_priority_and_the_callers_keep_theirs() {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        let pool = PasswordHasher::with_limits(1, 0, NO_REST);
        let before = (own_nice(), own_policy());
        let (nice, policy) = pool.run(|| (own_nice(), own_policy())).await.expect("runs");
        assert_eq!(nice, HASHING_NICE);
        assert_eq!(
            policy,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!((own_nice(), own_policy()), before);
    }

    #[tokio::test]
    async fn the_pool_hashes_and_verifies() {
        let pool = PasswordHasher::with_limits(1, 4, NO_REST);
        let hash = pool.hash("pa55word").await.expect("hashing");
        assert_eq!(costs(&hash), (MEMORY_KIB, ITERATIONS, PARALLELISM));
        assert_eq!(pool.verify(&hash, "pa55word").await, Ok(true));
        assert_eq!(pool.verify(&hash, "password").await, Ok(false));
        assert_eq!(pool.pending(), 0);
    }

    #[tokio::test]
    async fn an_unknown_user_never_signs_in() {
        let pool = PasswordHasher::with_limits(1, 0, NO_REST);
        assert_eq!(pool.verify_unknown_user("").await, Ok(false));
        assert_eq!(pool.verify_unknown_user("hunter2").await, Ok(false));
    }

    /// Waits (in real time, briefly) until `pool` holds `n` requests.
    async fn until_pending(pool: &PasswordHasher, n: usize) {
        for _ in 0..1000 {
            if pool.pending() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the pool holds {} requests, not {n}", pool.pending());
    }

    /// Work for the pool that holds its place until the returned sender
    /// sends or is dropped, and counts itself in `started` when it runs.
    fn gated(started: &Arc<AtomicUsize>) -> (mpsc::Sender<()>, impl FnOnce() + Send + 'static) {
        let (open, gate) = mpsc::channel::<()>();
        let started = Arc::clone(started);
        let work = move || {
            started.fetch_add(1, Ordering::SeqCst);
            let _ = gate.recv();
        };
        (open, work)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = PasswordHasher::with_limits(1, 1, NO_REST);
        let started = Arc::new(AtomicUsize::new(0));
        let (open_first, first) = gated(&started);
        let (open_second, second) = gated(&started);
        let first = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(first).await }
        });
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(second).await }
        });
        until_pending(&pool, 2).await;
        // Every kind of request is refused alike, the dummy one too.
        assert_eq!(pool.hash("third").await, Err(PoolError::Busy));
        assert_eq!(pool.verify(&DUMMY_HASH, "x").await, Err(PoolError::Busy));
        assert_eq!(pool.verify_unknown_user("x").await, Err(PoolError::Busy));
        assert_eq!(pool.pending(), 2);
        drop((open_first, open_second));
        assert_eq!(first.await.expect("task"), Ok(()));
        assert_eq!(second.await.expect("task"), Ok(()));
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert_eq!(pool.pending(), 0);
        assert_eq!(pool.verify_unknown_user("x").await, Ok(false));
    }

    #[tokio::test]
    async fn no_more_than_the_pools_threads_run_at_once() {
        let pool = PasswordHasher::with_limits(2, 8, NO_REST);
        let started = Arc::new(AtomicUsize::new(0));
        let mut gates = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (open, work) = gated(&started);
            gates.push(open);
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move { pool.run(work).await }));
        }
        until_pending(&pool, 5).await;
        for _ in 0..100 {
            if started.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Give a third a chance to start, were the bound broken.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), 2);
        // Each one that ends lets exactly one more in.
        gates.remove(0);
        for _ in 0..100 {
            if started.load(Ordering::SeqCst) == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), 3);
        drop(gates);
        for task in tasks {
            assert_eq!(task.await.expect("task"), Ok(()));
        }
        assert_eq!(started.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn the_unknown_user_path_takes_a_place_in_the_pool() {
        // The dummy verification is real work in the same pool: while it
        // runs, a pool of one with no queue has no place for anyone else.
        let pool = PasswordHasher::with_limits(1, 0, NO_REST);
        let dummy = tokio::spawn({
            let pool = pool.clone();
            async move { pool.verify_unknown_user("guess").await }
        });
        until_pending(&pool, 1).await;
        assert_eq!(pool.hash("other").await, Err(PoolError::Busy));
        assert_eq!(dummy.await.expect("task"), Ok(false));
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_waiting_frees_its_place_but_not_a_running_one() {
        let pool = PasswordHasher::with_limits(1, 1, NO_REST);
        let started = Arc::new(AtomicUsize::new(0));
        let (open, work) = gated(&started);
        let running = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(work).await }
        });
        until_pending(&pool, 1).await;
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move { pool.hash("second").await }
        });
        until_pending(&pool, 2).await;
        waiting.abort();
        assert!(waiting.await.expect_err("aborted").is_cancelled());
        assert_eq!(pool.pending(), 1);
        // The running work goes on without its caller, and keeps its place.
        running.abort();
        assert!(running.await.expect_err("aborted").is_cancelled());
        assert_eq!(pool.pending(), 1);
        drop(open);
        until_pending(&pool, 0).await;
        assert_eq!(started.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_thread_rests_as_long_as_its_hash_was_held_up_and_no_longer_than_the_cap() {
        let ms = Duration::from_millis;
        // Not held up (an idle server): no rest.
        assert_eq!(rest_after(ms(30), ms(30), MAX_HASHING_REST), Duration::ZERO);
        // A CPU clock a little ahead of the wall clock: still none.
        assert_eq!(rest_after(ms(30), ms(31), MAX_HASHING_REST), Duration::ZERO);
        // The rooms took 120 of 150 ms: the thread rests three times that.
        assert_eq!(rest_after(ms(150), ms(30), MAX_HASHING_REST), ms(360));
        // Never longer than the cap.
        assert_eq!(
            rest_after(ms(9000), ms(30), MAX_HASHING_REST),
            MAX_HASHING_REST
        );
        assert_eq!(rest_after(ms(150), ms(30), NO_REST), Duration::ZERO);
    }

    #[test]
    fn the_thread_cpu_clock_counts_work_and_not_sleep() {
        let before = thread_cpu_time().expect("a thread CPU clock on this system");
        std::thread::sleep(Duration::from_millis(50));
        let slept = thread_cpu_time().expect("clock").saturating_sub(before);
        assert!(slept < Duration::from_millis(25), "{slept:?} of CPU asleep");
        let start = thread_cpu_time().expect("clock");
        let mut x = 0_u64;
        while thread_cpu_time().expect("clock").saturating_sub(start) < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(x > 0);
    }

    #[tokio::test]
    async fn after_work_that_was_held_up_the_next_waits_its_rest() {
        // Work that sleeps 200 ms uses almost no CPU: for the pool it was
        // held up for all of it, so the thread rests (here: the cap)
        // before it takes the next.
        let cap = Duration::from_millis(150);
        let pool = PasswordHasher::with_limits(1, 1, cap);
        let first = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(|| {
                    std::thread::sleep(Duration::from_millis(200));
                    Instant::now()
                })
                .await
            }
        });
        until_pending(&pool, 1).await;
        let second = pool.run(Instant::now).await.expect("runs");
        let first = first.await.expect("task").expect("runs");
        let gap = second.duration_since(first);
        assert!(
            gap >= Duration::from_millis(140),
            "the next began {gap:?} after"
        );
    }

    #[tokio::test]
    async fn a_place_taken_first_holds_its_place_until_used_or_dropped() {
        let pool = PasswordHasher::with_limits(1, 0, NO_REST);
        let place = pool.place().expect("a place");
        assert_eq!(pool.pending(), 1);
        // Full: a second is refused at once, by every way in.
        assert!(matches!(pool.place(), Err(PoolError::Busy)));
        assert_eq!(pool.verify_unknown_user("x").await, Err(PoolError::Busy));
        drop(place);
        assert_eq!(pool.pending(), 0);
        let hash = pool.hash("pa55word").await.expect("hashing");
        let place = pool.place().expect("a place");
        assert_eq!(place.verify(&hash, "pa55word").await, Ok(true));
        assert_eq!(pool.pending(), 0);
        let place = pool.place().expect("a place");
        assert_eq!(place.verify_unknown_user("pa55word").await, Ok(false));
    }
}
