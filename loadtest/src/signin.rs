//! Password sign-ins beside a scenario's load (`fanout-100k-sign-ins`):
//! real `POST /api/session` requests with a real person's password, each
//! on a new TCP connection as a browser's first request would be, on an
//! open-loop schedule, so that the server's password hashing (argon2id on
//! its bounded pool) runs beside the rooms it must not delay.
//!
//! The person is made before the server starts, with `chat-server admin
//! create-user` on its database ([`Person`], made by [`crate::server`]). Each
//! answer is checked (`200` and a session cookie). A `503` is the server
//! shedding load it cannot hash in time (its hashing pool and queue are
//! full: `MAX_HASHING_THREADS` and `HASHING_QUEUE` of the server's
//! `auth::password`), as designed, so it is counted as *refused*, not as a
//! failure; any other answer is a failure of the run.

use crate::http::{self, Answer};
use crate::pacing::Schedule;
use crate::stats::Latencies;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::spawn_local;

/// A person's account, with a password, that a scenario signs in as
/// ([`crate::signin`]).
#[derive(Clone)]
pub struct Person {
    /// Its username.
    pub username: String,
    /// Its password: random, never printed.
    pub password: String,
}

impl Person {
    /// `username` with a random password.
    pub fn random(username: &str) -> std::io::Result<Self> {
        use std::io::Read as _;
        let mut bytes = [0u8; 18];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Self {
            username: username.to_owned(),
            password: crate::bots::base64url(&bytes),
        })
    }
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Longest one sign-in may take before it counts as failed.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(10);

/// The name of the server's session cookie.
pub const SESSION_COOKIE: &str = "chat_session";

/// What the sign-ins of a run did.
#[derive(Debug, Default)]
pub struct SignIns {
    /// Sign-ins answered with a session.
    pub ok: u64,
    /// Sign-ins the server refused with `503` (its hashing pool was full).
    pub refused: u64,
    /// Sign-ins that failed otherwise.
    pub failed: u64,
    /// The first reasons, word for word.
    pub reasons: Vec<String>,
    /// Time from sending to the answer of each successful one.
    pub latencies: Latencies,
}

/// Reasons kept per run.
const REASONS_KEPT: usize = 5;

/// Signs `person` in at `authority` (`host:port`) `per_s` times a second
/// from `start` for `length`, or until `stop`; each sign-in runs on its
/// own task, so a slow answer never holds the schedule back.
pub async fn run(
    authority: String,
    person: Person,
    per_s: f64,
    start: Instant,
    length: Duration,
    stop: Arc<AtomicBool>,
) -> SignIns {
    let schedule = Schedule::shared(per_s, 1, 0, length);
    let tally = Rc::new(RefCell::new(SignIns::default()));
    let (authority, person) = (Rc::new(authority), Rc::new(person));
    let mut tasks = Vec::new();
    for n in 0..schedule.count() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        tokio::time::sleep_until((start + schedule.due(n)).into()).await;
        let (authority, person, tally) =
            (Rc::clone(&authority), Rc::clone(&person), Rc::clone(&tally));
        tasks.push(spawn_local(async move {
            let sent = Instant::now();
            let answer = tokio::time::timeout(SIGN_IN_TIMEOUT, sign_in(&authority, &person)).await;
            let mut tally = tally.borrow_mut();
            match answer {
                Ok(Ok(_session)) => {
                    tally.ok += 1;
                    tally.latencies.record_ns(sent.elapsed().as_nanos() as u64);
                }
                Ok(Err(SignInError::Refused)) => tally.refused += 1,
                Ok(Err(SignInError::Failed(reason))) => tally.fail(reason),
                Err(_) => tally.fail(format!("no answer within {SIGN_IN_TIMEOUT:?}")),
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    Rc::try_unwrap(tally).map_or_else(|_| SignIns::default(), RefCell::into_inner)
}

/// [`run`] on a thread of its own, with a runtime of its own: its
/// connections, requests and answers never hold up the generator's thread
/// that reads and timestamps the room's deliveries (on that thread, they
/// delayed the timestamps they were meant to leave alone). The thread
/// inherits the caller's CPU (the generator's). The answer comes when the
/// last sign-in has been answered or has timed out.
pub fn spawn(
    authority: String,
    person: Person,
    per_s: f64,
    start: Instant,
    length: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<tokio::sync::oneshot::Receiver<SignIns>> {
    let (done, tally) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sign-ins".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let tally = match runtime {
                Ok(runtime) => tokio::task::LocalSet::new()
                    .block_on(&runtime, run(authority, person, per_s, start, length, stop)),
                Err(err) => {
                    let mut tally = SignIns::default();
                    tally.fail(format!("a runtime for the sign-ins: {err}"));
                    tally
                }
            };
            let _ = done.send(tally);
        })?;
    Ok(tally)
}

impl SignIns {
    fn fail(&mut self, reason: String) {
        self.failed += 1;
        if self.reasons.len() < REASONS_KEPT {
            self.reasons.push(reason);
        }
    }
}

/// One sign-in: `POST /api/session` with the person's username and
/// password, from the server's own origin (as its web client would send
/// it), on a new connection; the session cookie (`chat_session=…`) of a
/// `200` answer.
pub async fn sign_in(authority: &str, person: &Person) -> Result<String, SignInError> {
    let body = serde_json::json!({
        "username": person.username,
        "password": person.password,
    })
    .to_string();
    let answer = http::request(
        authority,
        "POST",
        "/api/session",
        http::Credential::None,
        Some(&body),
    )
    .await
    .map_err(SignInError::Failed)?;
    check_answer(&answer)
}

/// Why a sign-in gave no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    /// `503`: the server's hashing pool was full.
    Refused,
    /// Anything else, in words (never the cookie: it is a secret).
    Failed(String),
}

/// The session cookie of a `200` answer that sets it.
pub fn check_answer(answer: &Answer) -> Result<String, SignInError> {
    match answer.status {
        200 => {}
        503 => return Err(SignInError::Refused),
        _ => {
            return Err(SignInError::Failed(format!(
                "answered {:?}",
                answer.status_line()
            )))
        }
    }
    answer
        .cookie(SESSION_COOKIE)
        .ok_or_else(|| SignInError::Failed("200 without a session cookie".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_with_a_cookie_is_a_sign_in() {
        let check = |raw: &str| check_answer(&http::parse_answer(raw.as_bytes()).expect("parsed"));
        let ok = "HTTP/1.1 200 OK\r\nset-cookie: chat_session=abc; HttpOnly\r\n\r\n{}";
        assert_eq!(check(ok), Ok("chat_session=abc".to_string()));
        let no_cookie = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{}";
        assert!(check(no_cookie).is_err());
        let throttled = "HTTP/1.1 429 Too Many Requests\r\n\r\n";
        let err = check(throttled).expect_err("throttled");
        assert!(
            matches!(&err, SignInError::Failed(why) if why.contains("429")),
            "{err:?}"
        );
        let busy = "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\r\n";
        assert_eq!(check(busy), Err(SignInError::Refused));
        let other = "HTTP/1.1 200 OK\r\nset-cookie: theme=dark\r\n\r\n{}";
        assert!(check(other).is_err(), "another cookie is no session");
    }
}
