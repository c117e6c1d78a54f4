//! rooms-200: a person in 200 rooms signs in and gets every room with
//! its unread and mention counts (the issue: "within 100 ms of server
//! time").
//!
//! Set-up, not timed, on one server (SQLite, as the other scenarios start
//! it): a person, [`READER`], with a password, made in the database before
//! the server starts (as fanout-100k-sign-ins makes its `signer`), and a
//! bot author, [`AUTHOR`], with an API token of the benchmark's file
//! ([`crate::bots`]). The reader signs in once and joins every room
//! (`POST /api/rooms/{room}/join`, which makes it, public, with the reader
//! as its owner and nothing unread); the author posts each room's first
//! messages (`POST /api/rooms/{room}/messages`, a nonce each), the reader
//! marks most rooms read up to the last of them (`POST
//! /api/rooms/{room}/read`), and the author posts the rest. Some messages
//! call `@reader` (and some only look as if they did: `reader@example.org`,
//! `@readers`), so that each room ends with a known number unread and a
//! known number of mentions among them ([`script`]).
//!
//! Each run, timed: [`RoomListPlan::sign_ins`] times in a row, a fresh
//! password sign-in (`POST /api/session` from the server's own origin, on
//! a new connection, as [`crate::signin`] does: one argon2id verification
//! on the server, tens of milliseconds of it), then `GET /api/rooms` with
//! the session cookie it set (another new connection). Each is timed on
//! the client, from connecting to the end of the answer: on loopback, the
//! server's time plus a round trip. Every list is checked ([`check_list`]):
//! each of the reader's rooms listed once, with exactly its expected
//! `unread` and `mentions`, and no other room as theirs; any difference is
//! a problem, which fails the scenario.

use super::context::{cpu_use, Context, Running, Store};
use super::Outcome;
use crate::bots;
use crate::figures::RunFigures;
use crate::http::{self, Answer, Credential};
use crate::server::Person;
use crate::signin::{self, SignInError, SIGN_IN_TIMEOUT};
use crate::stats::Latencies;
use common::api::RoomSummary;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The username of the person who signs in and lists their rooms.
pub const READER: &str = "reader";

/// The client name of the bot that posts (its account: [`bots::bot_for`]).
pub const AUTHOR: &str = "rooms-author";

/// Set-up requests in flight at once (rooms prepared side by side; each
/// room's own requests one after the other).
pub const SETUP_CONCURRENCY: usize = 8;

/// Longest one room list may take before the run fails.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// Problems kept word for word per run.
const PROBLEMS_KEPT: usize = 10;

/// Texts that call the reader, in turn: each must call [`READER`] by the
/// mention rule (`common::mention`; usernames ignore case).
const CALLING: [&str; 3] = [
    "@reader, a word for you",
    "a word for @Reader.",
    "see above (@reader)",
];

/// Texts that do not call the reader, in turn, though some look close.
const NOT_CALLING: [&str; 3] = [
    "mail reader@example.org",
    "@readers, all of you",
    "nothing for anyone",
];

/// The shape of rooms-200.
#[derive(Debug, Clone)]
pub struct RoomListPlan {
    /// Rooms the reader is in.
    pub rooms: usize,
    /// Sign-ins, each followed by a room list, per run.
    pub sign_ins: usize,
}

/// What happens in one room: the author's messages before the reader's
/// read marker and after it, each calling the reader or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomScript {
    /// Before the marker: whether each message calls the reader.
    pub before: Vec<bool>,
    /// Whether the reader marks the room read up to the last of `before`
    /// (if not, everything in the room is unread: they joined it empty).
    pub marks_read: bool,
    /// After the marker.
    pub after: Vec<bool>,
}

/// A room's counts as the reader's list must show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Messages after the reader's marker.
    pub unread: u64,
    /// Those that call the reader.
    pub mentions: u64,
}

impl RoomScript {
    /// The counts the room's row of the list must have.
    pub fn expected(&self) -> Expected {
        let unread: Vec<bool> = match self.marks_read {
            true => self.after.clone(),
            false => [self.before.as_slice(), &self.after].concat(),
        };
        Expected {
            unread: unread.len() as u64,
            mentions: unread.iter().filter(|calls| **calls).count() as u64,
        }
    }
}

/// Room `room`'s script: 0 to 3 messages before the marker, 0 to 10 after
/// it, every third message calling the reader, and one room in five (of
/// those with messages before) never marked read; so the counts differ
/// from room to room, some rooms have nothing unread, and some have
/// mentions before the marker that must not count.
pub fn script(room: usize) -> RoomScript {
    let before = room % 4;
    let after = (room * 7) % 11;
    let calls = |k: usize| (room + k).is_multiple_of(3);
    RoomScript {
        before: (0..before).map(calls).collect(),
        marks_read: before > 0 && !room.is_multiple_of(5),
        after: (before..before + after).map(calls).collect(),
    }
}

/// The text of message `k` of room `room`, calling the reader or not.
pub fn text(room: usize, k: usize, calls: bool) -> String {
    let texts = if calls { &CALLING } else { &NOT_CALLING };
    format!("{} [{room}.{k}]", texts[(room + k) % texts.len()])
}

/// The caller's room list from the body of `GET /api/rooms`.
pub fn parse_list(body: &[u8]) -> Result<Vec<RoomSummary>, String> {
    serde_json::from_slice(body).map_err(|err| format!("the room list does not parse: {err}"))
}

/// How a room list differs from `expected` (each of the reader's rooms
/// and its counts): a room missing, listed twice, with other counts, or
/// listed as theirs without being one. Rooms listed without a membership
/// (public rooms they are not in) are not theirs and not checked. At most
/// `PROBLEMS_KEPT` in words, then how many in all.
pub fn check_list(expected: &HashMap<String, Expected>, listed: &[RoomSummary]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for summary in listed {
        let Some(membership) = &summary.membership else {
            continue;
        };
        let room = summary.room.as_str();
        let times = seen.entry(room).or_default();
        *times += 1;
        if *times == 2 {
            problems.push(format!("{room} is listed more than once"));
        }
        let found = Expected {
            unread: membership.unread,
            mentions: membership.mentions,
        };
        match expected.get(room) {
            None => problems.push(format!("{room} is listed as the reader's, but is not")),
            Some(want) if *want != found => problems.push(format!(
                "{room}: unread {} and mentions {}, expected {} and {}",
                found.unread, found.mentions, want.unread, want.mentions
            )),
            Some(_) => {}
        }
    }
    let mut missing: Vec<&str> = expected
        .keys()
        .map(String::as_str)
        .filter(|room| !seen.contains_key(room))
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        problems.push(format!(
            "{} of the reader's {} rooms are not listed, {} among them",
            missing.len(),
            expected.len(),
            missing[0]
        ));
    }
    if problems.len() > PROBLEMS_KEPT {
        let all = problems.len();
        problems.truncate(PROBLEMS_KEPT);
        problems.push(format!("... {all} differences in all"));
    }
    problems
}

/// Runs rooms-200.
pub async fn run(ctx: &Context, name: &str, plan: &RoomListPlan) -> Outcome {
    let mut outcome = Outcome::default();
    let person = match Person::random(READER) {
        Ok(person) => person,
        Err(err) => return outcome.failed(format!("a password: {err}")),
    };
    let server = match ctx.start_server_as(&[], Store::Own, Some(&person)) {
        Ok(server) => server,
        Err(err) => return outcome.failed(format!("server: {err}")),
    };
    outcome.server_args = server.args.clone();
    let rooms: Vec<String> = (0..plan.rooms)
        .map(|room| format!("{}-{name}-{room}", ctx.tag))
        .collect();
    let started = Instant::now();
    eprintln!(
        "  the reader joins {} rooms, the author posts in them",
        rooms.len()
    );
    let expected = match set_up(&server.url().authority, &person, &rooms).await {
        Ok(expected) => expected,
        Err(err) => {
            let log = server.log_tail();
            outcome.notes.extend(server.stop());
            return outcome.failed(format!("set-up: {err}\n--- server log ---\n{log}"));
        }
    };
    eprintln!("  set up in {:.1} s", started.elapsed().as_secs_f64());
    for run in 0..ctx.warmups + ctx.runs {
        let warmup = run < ctx.warmups;
        let (nth, of) = match warmup {
            true => (run + 1, ctx.warmups),
            false => (run - ctx.warmups + 1, ctx.runs),
        };
        let kind = if warmup { "warm-up" } else { "run" };
        eprintln!("  {name}: {kind} {nth}/{of}");
        let mut figures = run_once(ctx, &server, &person, &expected, plan.sign_ins).await;
        figures.warmup = warmup;
        let problems = !figures.problems.is_empty();
        outcome.runs.push(figures);
        if problems {
            break;
        }
    }
    outcome.notes.extend(server.stop());
    outcome
}

/// The reader joins every room and the author posts in it, as each room's
/// [`script`] says; returns each room's expected counts.
async fn set_up(
    authority: &str,
    person: &Person,
    rooms: &[String],
) -> Result<HashMap<String, Expected>, String> {
    let cookie = signin::sign_in(authority, person)
        .await
        .map_err(|err| format!("the reader's first sign-in: {}", sign_in_error(err)))?;
    let author = bots::bot_for(AUTHOR).map_err(|err| err.to_string())?;
    let (cookie, token) = (cookie.as_str(), author.token.as_str());
    stream::iter(rooms.iter().enumerate())
        .map(|(index, room)| async move {
            let script = script(index);
            prepare_room(authority, cookie, token, room, index, &script)
                .await
                .map_err(|err| format!("room {room}: {err}"))?;
            Ok::<_, String>((room.clone(), script.expected()))
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// One room: the reader joins it, the author posts the messages before the
/// marker, the reader marks them read (if the script says so), the author
/// posts the rest.
async fn prepare_room(
    authority: &str,
    cookie: &str,
    token: &str,
    room: &str,
    index: usize,
    script: &RoomScript,
) -> Result<(), String> {
    let as_reader = Credential::Cookie(cookie);
    let join = format!("/api/rooms/{room}/join");
    expect(
        http::request(authority, "POST", &join, as_reader, None).await?,
        200,
        "the join",
    )?;
    let post = |k: usize, calls: bool| async move {
        let body = serde_json::json!({
            "text": text(index, k, calls),
            "nonce": format!("{room}-{k}"),
        })
        .to_string();
        let path = format!("/api/rooms/{room}/messages");
        let posted = expect(
            http::request(
                authority,
                "POST",
                &path,
                Credential::Bearer(token),
                Some(&body),
            )
            .await?,
            201,
            "a post",
        )?;
        serde_json::from_slice::<serde_json::Value>(&posted.body)
            .ok()
            .and_then(|posted| posted["id"].as_u64())
            .ok_or_else(|| format!("a post answered {:?}", posted.text()))
    };
    let mut last_id = None;
    for (k, calls) in script.before.iter().enumerate() {
        last_id = Some(post(k, *calls).await?);
    }
    if script.marks_read {
        let up_to = last_id.ok_or("nothing to mark read")?;
        let body = serde_json::json!({ "up_to": up_to }).to_string();
        let read = format!("/api/rooms/{room}/read");
        expect(
            http::request(authority, "POST", &read, as_reader, Some(&body)).await?,
            200,
            "marking read",
        )?;
    }
    for (k, calls) in script.after.iter().enumerate() {
        post(script.before.len() + k, *calls).await?;
    }
    Ok(())
}

/// `answer` if its status is `status`, else what `what` was answered.
fn expect(answer: Answer, status: u16, what: &str) -> Result<Answer, String> {
    if answer.status == status {
        return Ok(answer);
    }
    let mut body = answer.text();
    body.truncate(200);
    Err(format!(
        "{what} answered {:?}: {body}",
        answer.status_line()
    ))
}

/// A failed sign-in in words.
fn sign_in_error(err: SignInError) -> String {
    match err {
        SignInError::Refused => "503: the server's hashing pool was full".into(),
        SignInError::Failed(why) => why,
    }
}

/// One sign-in and the room list after it: their times and the list.
struct Timed {
    sign_in: Duration,
    list: Duration,
    rooms: Vec<RoomSummary>,
}

/// Signs the reader in and lists their rooms with the new session.
async fn sign_in_and_list(authority: &str, person: &Person) -> Result<Timed, String> {
    let start = Instant::now();
    let cookie = tokio::time::timeout(SIGN_IN_TIMEOUT, signin::sign_in(authority, person))
        .await
        .map_err(|_| format!("no sign-in within {SIGN_IN_TIMEOUT:?}"))?
        .map_err(|err| format!("sign-in: {}", sign_in_error(err)))?;
    let signed_in = Instant::now();
    let answer = tokio::time::timeout(
        LIST_TIMEOUT,
        http::request(
            authority,
            "GET",
            "/api/rooms",
            Credential::Cookie(&cookie),
            None,
        ),
    )
    .await
    .map_err(|_| format!("no room list within {LIST_TIMEOUT:?}"))??;
    let listed = Instant::now();
    let answer = expect(answer, 200, "the room list")?;
    Ok(Timed {
        sign_in: signed_in - start,
        list: listed - signed_in,
        rooms: parse_list(&answer.body)?,
    })
}

/// One run: `sign_ins` sign-ins and lists, one after the other.
async fn run_once(
    ctx: &Context,
    server: &Running,
    person: &Person,
    expected: &HashMap<String, Expected>,
    sign_ins: usize,
) -> RunFigures {
    let authority = &server.url().authority;
    let (mut signing, mut listing, mut both) =
        (Latencies::new(), Latencies::new(), Latencies::new());
    let mut problems = Vec::new();
    let mut rooms_listed = None;
    let before = server.sample();
    for n in 0..sign_ins {
        let timed = match sign_in_and_list(authority, person).await {
            Ok(timed) => timed,
            Err(err) => {
                problems.push(format!("sign-in and list {n}: {err}"));
                break;
            }
        };
        let nanos = |time: Duration| time.as_nanos() as u64;
        signing.record_ns(nanos(timed.sign_in));
        listing.record_ns(nanos(timed.list));
        both.record_ns(nanos(timed.sign_in + timed.list));
        let differences = check_list(expected, &timed.rooms);
        if !differences.is_empty() {
            problems.extend(differences.into_iter().map(|d| format!("list {n}: {d}")));
            break;
        }
        rooms_listed = Some(expected.len() as u64);
    }
    let after = server.sample();
    let used = cpu_use(&before, &after, ctx.ticks_per_s, server.cpus);
    let (signing, listing, both) = (signing.summary(), listing.summary(), both.summary());
    RunFigures {
        sign_in_p50_ms: signing.map(|l| l.p50_ms),
        sign_in_p99_ms: signing.map(|l| l.p99_ms),
        room_list_p50_ms: listing.map(|l| l.p50_ms),
        room_list_p99_ms: listing.map(|l| l.p99_ms),
        sign_in_and_list_p50_ms: both.map(|l| l.p50_ms),
        sign_in_and_list_p99_ms: both.map(|l| l.p99_ms),
        rooms_listed,
        server_cpu_s: used.server.seconds,
        server_cpu_utilisation: used.server.utilisation,
        generator_cpu_utilisation: used.generator_utilisation,
        problems,
        ..RunFigures::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::api::rooms::Membership;
    use common::RoomName;

    #[test]
    fn only_messages_after_the_marker_count_and_only_calls_among_them() {
        let marked = RoomScript {
            before: vec![true, false],
            marks_read: true,
            after: vec![false, true, true],
        };
        assert_eq!(
            marked.expected(),
            Expected {
                unread: 3,
                mentions: 2
            }
        );
        let unmarked = RoomScript {
            marks_read: false,
            ..marked.clone()
        };
        assert_eq!(
            unmarked.expected(),
            Expected {
                unread: 5,
                mentions: 3
            }
        );
    }

    #[test]
    fn the_scripts_vary_from_room_to_room() {
        // Room 7: 3 before (7, 8, 9: 9 calls), marked read; 5 after
        // (10..15: 12 calls). Room 5: 1 before (5), never marked read
        // (one room in five); 2 after (6 calls, 7 does not).
        assert_eq!(
            script(7),
            RoomScript {
                before: vec![false, false, true],
                marks_read: true,
                after: vec![false, false, true, false, false],
            }
        );
        assert_eq!(
            script(5).expected(),
            Expected {
                unread: 3,
                mentions: 1
            }
        );
        let all: Vec<Expected> = (0..200).map(|room| script(room).expected()).collect();
        let total = |pick: fn(&Expected) -> u64| all.iter().map(pick).sum::<u64>();
        assert_eq!((total(|e| e.unread), total(|e| e.mentions)), (1_057, 350));
        assert!(
            all.iter().any(|e| e.unread == 0),
            "some rooms have nothing unread"
        );
        assert!(all.iter().any(|e| e.unread > 0 && e.mentions == 0));
        assert!(all.iter().any(|e| e.mentions >= 3));
        // Mentions before the marker, which must not count.
        assert!((0..200).any(|room| {
            let script = script(room);
            script.marks_read && script.before.contains(&true)
        }));
    }

    #[test]
    fn the_texts_call_the_reader_exactly_when_the_script_says() {
        for room in 0..6 {
            for k in 0..6 {
                for calls in [true, false] {
                    let text = text(room, k, calls);
                    let called = common::mention::mentioned(&text)
                        .iter()
                        .any(|name| name.as_str().eq_ignore_ascii_case(READER));
                    assert_eq!(called, calls, "{text:?}");
                }
            }
        }
    }

    fn listed(room: &str, unread: u64, mentions: u64) -> RoomSummary {
        RoomSummary {
            membership: Some(Membership {
                role: common::RoomRole::Owner,
                last_read: 0,
                unread,
                mentions,
                muted_until: None,
            }),
            ..RoomSummary::bare(RoomName::parse(room).expect("a room name"), 0, unread)
        }
    }

    #[test]
    fn a_list_must_have_each_room_once_with_its_counts() {
        let expected: HashMap<String, Expected> = [
            (
                "a".to_string(),
                Expected {
                    unread: 2,
                    mentions: 1,
                },
            ),
            (
                "b".to_string(),
                Expected {
                    unread: 0,
                    mentions: 0,
                },
            ),
        ]
        .into();
        let public = RoomSummary::bare(RoomName::parse("lobby").expect("a name"), 3, 9);
        let good = [listed("b", 0, 0), public.clone(), listed("a", 2, 1)];
        assert_eq!(check_list(&expected, &good), Vec::<String>::new());
        let wrong = check_list(&expected, &[listed("a", 2, 0), listed("b", 0, 0)]);
        assert_eq!(wrong, ["a: unread 2 and mentions 0, expected 2 and 1"]);
        let missing = check_list(&expected, &[listed("a", 2, 1)]);
        assert_eq!(
            missing,
            ["1 of the reader's 2 rooms are not listed, b among them"]
        );
        let twice = check_list(
            &expected,
            &[listed("a", 2, 1), listed("a", 2, 1), listed("b", 0, 0)],
        );
        assert_eq!(twice, ["a is listed more than once"]);
        let stranger = check_list(
            &expected,
            &[listed("a", 2, 1), listed("b", 0, 0), listed("c", 0, 0)],
        );
        assert_eq!(stranger, ["c is listed as the reader's, but is not"]);
        let many: Vec<RoomSummary> = (0..30).map(|n| listed(&format!("x{n}"), 0, 0)).collect();
        let problems = check_list(&HashMap::new(), &many);
        assert_eq!(problems.len(), PROBLEMS_KEPT + 1);
        assert_eq!(
            problems.last().map(String::as_str),
            Some("... 30 differences in all")
        );
    }

    #[test]
    fn the_list_is_read_as_the_server_writes_it() {
        let body = br#"[{"room":"team","members":2,"last_id":9,"kind":"private","title":"The team","topic":"Plans","membership":{"role":"owner","last_read":7,"unread":2,"mentions":1}},
 {"room":"lobby","members":0,"last_id":40,"kind":"public"}]"#;
        let list = parse_list(body).expect("parses");
        assert_eq!(list.len(), 2);
        let membership = list[0].membership.as_ref().expect("the caller's");
        assert_eq!((membership.unread, membership.mentions), (2, 1));
        assert!(list[1].membership.is_none());
        assert!(parse_list(b"{\"code\":\"unauthenticated\"}").is_err());
    }
}
