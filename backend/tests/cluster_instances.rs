//! Cluster mode as deployed: a real `redis-server` and two or three
//! `chat-server --cluster` instances on loopback ports.
//!
//! - An instance killed with SIGKILL in mid-stream (processes): its members
//!   reconnect to the other instances, join again with `since` and the same
//!   name, resend what they did not see confirmed with the same nonces, and
//!   every member of the room ends with the same messages, ids without gap
//!   or duplicate, nothing lost, each post stored once. Three instances,
//!   so the survivors share one order too.
//! - The members of an instance killed with SIGKILL disappear from the
//!   other instances' member lists within the documented time, and their
//!   names become free.
//! - A resend answered after the original already reached the rejoined
//!   member (in-process, made certain by holding the instances' bus back):
//!   the member gets it once.
//! - SIGTERM to an instance (processes): its clients are closed with 1001
//!   as in single-node mode and it exits cleanly; the other instance keeps
//!   serving the room, and a writer that moves there loses nothing.
//! - The limits and origin checks of single-node mode hold in cluster mode
//!   (in-process instances: the connection layer is the same code, the
//!   broker is real): an oversize message closes that connection with 1009,
//!   sends past the rate limit are refused and stored nowhere, a foreign
//!   Origin is refused at the handshake.

mod support;

use chat_server::cluster::presence::DEAD_MEMBERS_GONE_WITHIN;
use common::api::MessagePage;
use common::{ChatMessage, CloseCode, ServerFrame};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::broker::Broker;
use support::process::ServerProcess;
use support::resend::{text_of, ResendingWriter};
use support::{
    get_json, ids, metrics, stored_and_rate_limited, Client, Received, TempDb, TestServer,
    FRAME_TIMEOUT, QUIET_PERIOD,
};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The room of every test here.
const ROOM: &str = "lobby";

/// Messages each member posts in the SIGKILL test.
const PER_MEMBER: usize = 150;

/// Members in the SIGKILL test.
const MEMBERS: usize = 4;

/// Messages posted in the SIGKILL test, all members together.
const TOTAL: usize = MEMBERS * PER_MEMBER;

/// New messages a member sends in each round, before it reads for
/// [`ROUND`]: members post at the same time, as fast as the cluster takes.
const BATCH: usize = 3;

/// How long a member reads between two rounds of sending.
const ROUND: Duration = Duration::from_millis(10);

/// Deliveries (messages received, all members together) after which the
/// first instance is killed: a quarter of the whole stream.
const KILL_AFTER_DELIVERIES: usize = TOTAL * MEMBERS / 4;

/// Longest the stream of a test may take, reconnects included (once names
/// are unique across instances, the survivors refuse a dead instance's
/// names for a few seconds).
const STREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the test looks whether the stream has gone far enough.
const PROGRESS_POLL: Duration = Duration::from_millis(5);

/// How much longer than the server's own shutdown grace a SIGTERM may take
/// to end the process (as in the single-node test).
const EXIT_MARGIN: Duration = Duration::from_secs(2);

/// One member of the room in the SIGKILL test, as it ends.
struct Member {
    writer: ResendingWriter,
    /// Every message it received, in order: live, or in the history of a
    /// join.
    received: Vec<ChatMessage>,
    /// How many of its messages it had sent, and how many of those it had
    /// seen confirmed, when its connection died (if it did).
    cut: Option<(usize, usize)>,
}

#[tokio::test]
async fn members_of_an_instance_killed_with_sigkill_resume_elsewhere_with_no_gap_duplicate_or_loss()
{
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let a = ServerProcess::in_cluster(&broker, &[]);
    let b = ServerProcess::in_cluster(&broker, &[]);
    let c = ServerProcess::in_cluster(&broker, &[]);
    // Ann and Bob are on A; when it dies, the load balancer sends Ann to B
    // and Bob to C. Cid (on B) and Dee (on C) stay where they are.
    let plan = [
        ("Ann", &a, &b),
        ("Bob", &a, &c),
        ("Cid", &b, &b),
        ("Dee", &c, &c),
    ];
    let names = plan.map(|(name, ..)| name);
    // Everyone joins before anyone posts, so every history starts at id 1.
    let mut joined = Vec::new();
    for (name, home, fallback) in plan {
        let mut writer = ResendingWriter::new(ROOM, name, PER_MEMBER);
        let (client, history) = writer.reconnect(&home.ws_url()).await;
        assert!(history.is_empty(), "a new room");
        joined.push((writer, client, fallback.ws_url(), std::ptr::eq(home, &a)));
    }
    let deliveries = Arc::new(AtomicUsize::new(0));
    let sent_on_a = Arc::new(Notify::new());
    let members: Vec<_> = joined
        .into_iter()
        .map(|(writer, client, fallback, on_a)| {
            let deliveries = Arc::clone(&deliveries);
            let sent = on_a.then(|| Arc::clone(&sent_on_a));
            tokio::spawn(take_part(writer, client, fallback, deliveries, sent))
        })
        .collect();

    let deadline = Instant::now() + STREAM_TIMEOUT;
    while deliveries.load(Ordering::Relaxed) < KILL_AFTER_DELIVERIES {
        assert!(
            Instant::now() < deadline,
            "the stream stalled before the kill"
        );
        tokio::time::sleep(PROGRESS_POLL).await;
    }
    // Right after a member of A wrote a batch: posts in flight, some stored
    // and not yet confirmed, some not even read.
    tokio::time::timeout(STREAM_TIMEOUT, sent_on_a.notified())
        .await
        .expect("A's members still post");
    a.kill_9();
    let delivered_at_kill = deliveries.load(Ordering::Relaxed);
    let mut ended = Vec::new();
    for member in members {
        ended.push(member.await.expect("a member does not panic"));
    }
    eprintln!(
        "A killed after {delivered_at_kill} of {} deliveries; (sent, confirmed) when cut: \
         Ann {:?}, Bob {:?}; sends repeated: Ann {}, Bob {}",
        TOTAL * MEMBERS,
        ended[0].cut,
        ended[1].cut,
        ended[0].writer.resent,
        ended[1].writer.resent,
    );

    // The broker's log: every post stored once, ids without gap.
    let log: Vec<ChatMessage> = b.all_messages(ROOM).await.into_values().collect();
    assert_eq!(
        ids(&log),
        (1..=TOTAL as u64).collect::<Vec<_>>(),
        "one id per post, no gap"
    );
    let posts: BTreeSet<(String, String)> = log
        .iter()
        .map(|m| (m.name.to_string(), m.text.to_string()))
        .collect();
    let expected: BTreeSet<(String, String)> = names
        .iter()
        .flat_map(|name| (0..PER_MEMBER).map(|n| (name.to_string(), text_of(n))))
        .collect();
    assert_eq!(posts, expected, "every post of every member, each once");
    // Every member received exactly that, in that order: what one member
    // saw before the kill is there for all.
    for member in &ended {
        let name = &member.writer.name;
        let (firsts, _) = first_copies(&member.received);
        assert_eq!(ids(&firsts), ids(&log), "{name}: every id, in order");
        assert_eq!(firsts, log, "{name}: the same messages");
        assert!(member.writer.done(), "{name}: all its posts confirmed");
    }
    // Ann and Bob lost their instance in mid-stream and resumed elsewhere.
    for member in &ended[..2] {
        let name = &member.writer.name;
        assert_eq!(member.writer.connections, 2, "{name} reconnected once");
        let (sent, _) = member
            .cut
            .unwrap_or_else(|| panic!("{name} lost its connection"));
        assert!(sent < PER_MEMBER, "{name} was cut off before it sent all");
    }
    let in_flight: usize = ended[..2]
        .iter()
        .filter_map(|member| member.cut)
        .map(|(sent, confirmed)| sent - confirmed)
        .sum();
    assert!(
        in_flight > 0,
        "the kill caught posts of A's members in flight"
    );
    for member in &ended[2..] {
        assert_eq!(member.writer.connections, 1, "{}", member.writer.name);
    }
    // And nothing came twice. (Checked last: it fails now and then, see
    // `a_resend_answered_after_the_original_reached_the_member_comes_once`.)
    for member in &ended {
        let (_, again) = first_copies(&member.received);
        assert!(
            again.is_empty(),
            "{} got messages a second time: {again:?}",
            member.writer.name
        );
    }
}

/// The first copy of each message in `received`, in order, and the copies
/// of messages that had come before.
fn first_copies(received: &[ChatMessage]) -> (Vec<ChatMessage>, Vec<ChatMessage>) {
    let mut seen = BTreeSet::new();
    received
        .iter()
        .cloned()
        .partition(|message| seen.insert(message.id))
}

/// A member's part in the SIGKILL test: posts its messages [`BATCH`] at a
/// time and reads what comes between; when its connection dies it joins
/// again at `fallback` (with `since`) and resends what was not confirmed.
/// Ends once it has seen every message of the room (or after
/// [`STREAM_TIMEOUT`], leaving the checks to say what is missing), then
/// listens a little longer for anything that would come twice. `sent` is
/// told of each batch written.
async fn take_part(
    mut writer: ResendingWriter,
    mut client: Client,
    fallback: String,
    deliveries: Arc<AtomicUsize>,
    sent: Option<Arc<Notify>>,
) -> Member {
    let mut received: Vec<ChatMessage> = Vec::new();
    let mut cut = None;
    let deadline = Instant::now() + STREAM_TIMEOUT;
    while !(writer.done() && first_copies(&received).0.len() >= TOTAL) && Instant::now() < deadline
    {
        writer.send_new(&mut client, BATCH).await;
        if let Some(sent) = &sent {
            sent.notify_waiters();
        }
        let round_end = Instant::now() + ROUND;
        loop {
            let left = round_end.saturating_duration_since(Instant::now());
            match client.receive_within(left).await {
                Received::Frame(ServerFrame::Message(message)) => {
                    writer.saw(&message);
                    deliveries.fetch_add(1, Ordering::Relaxed);
                    received.push(message);
                }
                // Presence, typing, errors: nothing this test depends on.
                Received::Frame(_) => {}
                Received::Nothing => break,
                Received::Closed => {
                    cut = Some((writer.next_new, writer.confirmed.len()));
                    let (rejoined, missed) = writer.reconnect(&fallback).await;
                    deliveries.fetch_add(missed.len(), Ordering::Relaxed);
                    received.extend(missed);
                    client = rejoined;
                    writer.resend_unconfirmed(&mut client).await;
                    break;
                }
            }
        }
    }
    while let Some(frame) = client.try_recv_quietly(QUIET_PERIOD).await {
        if let ServerFrame::Message(message) = frame {
            received.push(message);
        }
    }
    Member {
        writer,
        received,
        cut,
    }
}

/// Messages the writer streams in the SIGTERM test.
const SENT: usize = 2_000;

/// Messages another instance's member sees before the writer's instance is
/// told to stop.
const TERMINATE_AFTER: usize = 200;

#[tokio::test]
async fn sigterm_closes_an_instances_clients_with_1001_and_another_instance_keeps_the_room() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let a = ServerProcess::in_cluster(&broker, &[]);
    let b = ServerProcess::in_cluster(&broker, &[]);
    let mut ann = ResendingWriter::new(ROOM, "Ann", SENT);
    let (mut ann_on_a, _) = ann.reconnect(&a.ws_url()).await;
    // An idle member of A, which must get the close frame (the writer may
    // get a reset instead: see the single-node SIGTERM test).
    let mut idle = a.connect_as("Idle").await;
    idle.join(ROOM).await;
    let mut bob = b.connect_as("Bob").await;
    bob.join(ROOM).await;

    let writing = tokio::spawn(async move {
        ann.send_new(&mut ann_on_a, SENT).await;
        (ann, ann_on_a)
    });
    let mut seen_by_bob = Vec::new();
    while seen_by_bob.len() < TERMINATE_AFTER {
        seen_by_bob.push(bob.next_message().await);
    }
    // Bob reads on while A stops and Ann moves: B closes a member that
    // stops reading while messages wait for it.
    let bob_reading = tokio::spawn(async move {
        while seen_by_bob.len() < SENT {
            seen_by_bob.push(bob.next_message().await);
        }
        expect_no_message(&mut bob).await;
        (bob, seen_by_bob)
    });
    let (status, took) = tokio::task::spawn_blocking(move || a.terminate())
        .await
        .expect("SIGTERM and wait");
    assert!(status.success(), "exit status {status}");
    assert!(
        took < chat_server::server::SHUTDOWN_GRACE + EXIT_MARGIN,
        "exited in {took:?}"
    );
    assert_eq!(
        idle.expect_close().await,
        (CloseCode::GoingAway.code(), "server shutting down".into())
    );

    // Ann reads what A confirmed before it closed, moves to B and resends
    // the rest with the same nonces.
    let (mut ann, mut ann_on_a) = writing.await.expect("the writer does not panic");
    ann.read_some(&mut ann_on_a, usize::MAX, QUIET_PERIOD).await;
    assert!(!ann.done(), "SIGTERM came before all was confirmed");
    let confirmed_on_a = ann.confirmed.len();
    let (mut ann_on_b, _) = ann.reconnect(&b.ws_url()).await;
    ann.resend_unconfirmed(&mut ann_on_b).await;
    let deadline = Instant::now() + STREAM_TIMEOUT;
    while !ann.done() {
        assert!(Instant::now() < deadline, "B confirms the resent messages");
        ann.read_some(&mut ann_on_b, 1, FRAME_TIMEOUT).await;
    }

    // B kept serving the room: Bob got every message once, ids without gap,
    // as the broker stored them.
    let (mut bob, seen_by_bob) = bob_reading.await.expect("Bob's reader does not panic");
    let texts: Vec<String> = seen_by_bob.iter().map(|m| m.text.to_string()).collect();
    let sent: Vec<String> = (0..SENT).map(text_of).collect();
    let mut sorted = texts.clone();
    sorted.sort_by_key(|text| text_number(text));
    assert_eq!(sorted, sent, "every message once");
    assert_eq!(ids(&seen_by_bob), (1..=SENT as u64).collect::<Vec<_>>());
    let log: Vec<ChatMessage> = b.all_messages(ROOM).await.into_values().collect();
    assert_eq!(log, seen_by_bob, "the broker's log");
    bob.say(ROOM, "still here", None).await;
    assert_eq!(bob.next_message().await.text.as_str(), "still here");
    eprintln!(
        "SIGTERM after Bob saw {TERMINATE_AFTER}: exit in {took:?}; {confirmed_on_a} of {SENT} \
         confirmed on A, {} sent again through B",
        ann.resent
    );
    // And in the order Ann sent them, as a single server stores one
    // connection's sends (checked last, as the other checks say more when
    // they fail). An instance's posts are stored by its one database
    // writer, in the order its rooms made them.
    let first_misplaced = texts.iter().zip(&sent).position(|(got, sent)| got != sent);
    assert_eq!(
        first_misplaced,
        None,
        "stored out of the order sent, from there on: {:?}",
        first_misplaced.map(|at| &texts[at..(at + 40).min(SENT)])
    );
}

/// The number of a message text made by [`text_of`].
fn text_number(text: &str) -> usize {
    text.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a numbered message")
}

/// Asserts that no chat message reaches `client` for a while.
async fn expect_no_message(client: &mut Client) {
    while let Some(frame) = client.try_recv(QUIET_PERIOD).await {
        assert!(
            !matches!(frame, ServerFrame::Message(_)),
            "expected no message, got {frame:?}"
        );
    }
}

/// A frame over the default `--max-message-bytes` (16 KiB).
fn oversize_send_frame() -> String {
    format!(
        r#"{{"type":"send","room":"{ROOM}","text":"{}"}}"#,
        "x".repeat(17 * 1024)
    )
}

#[tokio::test]
async fn an_oversize_message_closes_that_connection_with_1009_in_cluster_mode() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = (broker.instance(&[]).await, broker.instance(&[]).await);
    let mut ann = a.connect_as("Ann").await;
    ann.join(ROOM).await;
    let mut bob = b.connect_as("Bob").await;
    bob.join(ROOM).await;

    ann.send_text(&oversize_send_frame()).await;
    assert_eq!(
        ann.expect_close().await,
        (CloseCode::MessageTooBig.code(), "message too big".into())
    );
    let counted = metrics(&a).await;
    assert_eq!(
        counted.value(r#"chat_disconnects_total{reason="size"}"#),
        1.0
    );
    // Nothing was posted; the room goes on, on both instances.
    bob.say(ROOM, "still here", None).await;
    let message = bob.next_message().await;
    assert_eq!((message.id, message.text.as_str()), (1, "still here"));
    let mut cid = a.connect_as("Cid").await;
    let joined = cid.join(ROOM).await;
    assert_eq!(joined.history, [message]);
}

#[tokio::test]
async fn sends_past_the_rate_limit_are_refused_and_stored_nowhere_in_cluster_mode() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let a = broker
        .instance(&["--rate-limit-burst", "3", "--rate-limit-per-second", "2"])
        .await;
    let b = broker.instance(&[]).await;
    let mut ann = a.connect_as("Ann").await;
    ann.join(ROOM).await;
    for i in 0..5 {
        ann.say(ROOM, &format!("burst {i}"), Some(&format!("n{i}")))
            .await;
    }
    let (stored, refused) = stored_and_rate_limited(&mut ann, 5).await;
    assert_eq!(stored, ["burst 0", "burst 1", "burst 2"]);
    assert_eq!(refused, ["n3", "n4"]);
    let counted = metrics(&a).await;
    assert_eq!(
        counted.value(r#"chat_rate_limited_total{type="send"}"#),
        2.0
    );
    // The other instance has exactly what was accepted.
    let mut bob = b.connect_as("Bob").await;
    let joined = bob.join(ROOM).await;
    let texts: Vec<_> = joined.history.iter().map(|m| m.text.to_string()).collect();
    assert_eq!(texts, stored);
}

#[tokio::test]
async fn websockets_from_foreign_origins_are_refused_in_cluster_mode() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let flags = ["--allowed-origin", "https://chat.example"];
    for server in [broker.instance(&flags).await, broker.instance(&flags).await] {
        let url = server.ws_url();
        let bearer = server.bearer("Ann").await;
        let own = format!("http://{}", server.addr);
        for allowed in [own.as_str(), "https://chat.example"] {
            let headers = [("origin", allowed), ("authorization", bearer.as_str())];
            let connected = Client::try_connect(&url, &headers).await;
            assert!(connected.is_ok(), "{allowed} is allowed on {}", server.addr);
        }
        for refused in ["https://evil.example", "https://chat.example.evil", "null"] {
            let headers = [("origin", refused), ("authorization", bearer.as_str())];
            let (status, _) = Client::try_connect(&url, &headers)
                .await
                .err()
                .unwrap_or_else(|| panic!("{refused} must be refused by {}", server.addr));
            assert_eq!(status, 403, "{refused}");
        }
    }
}

/// How often a test looks whether the broker has stored a message.
const STORE_POLL: Duration = Duration::from_millis(10);

/// The messages of `room` that `server` reads from the broker (its history
/// route), once there are `count` of them.
async fn wait_until_stored(server: &TestServer, count: usize) -> Vec<ChatMessage> {
    let deadline = Instant::now() + FRAME_TIMEOUT;
    loop {
        let page: MessagePage = get_json(server.url(&format!("/api/rooms/{ROOM}/messages"))).await;
        if page.messages.len() >= count {
            return page.messages;
        }
        assert!(Instant::now() < deadline, "the broker stores the message");
        tokio::time::sleep(STORE_POLL).await;
    }
}

/// What SIGKILL test runs hit now and then, made certain: a member that
/// joined an instance before that instance heard of the member's own last
/// message gets it from the broadcast, and then once more as the answer to
/// its resend (the recipe of docs/PROTOCOL.md: re-join with `since`,
/// resend what is unconfirmed). The protocol promises each message once.
#[tokio::test]
async fn a_resend_answered_after_the_original_reached_the_member_comes_once() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = (broker.instance(&[]).await, broker.instance(&[]).await);
    let mut bob = b.connect_as("Bob").await;
    bob.join(ROOM).await;
    let mut ann = ResendingWriter::new(ROOM, "Ann", 1);
    let (mut ann_on_a, _) = ann.reconnect(&a.ws_url()).await;

    // The instances hear of no publication for a while: Ann's post is
    // stored, but neither A nor B passes it on.
    broker.cut_subscriptions();
    ann.send_new(&mut ann_on_a, 1).await;
    let stored = wait_until_stored(&b, 1).await;
    // Ann loses A before any confirmation and joins B, which has not heard
    // of her message yet (the same as B's bus lagging behind the broker).
    drop(ann_on_a);
    let (mut ann_on_b, history) = ann.reconnect(&b.ws_url()).await;
    assert!(history.is_empty(), "B had not passed the message on yet");

    // B hears of it and sends it to its members, Ann too; Ann has not read
    // it yet when she resends what she saw no confirmation of.
    broker.allow_subscriptions();
    let original = loop {
        match bob.recv().await {
            ServerFrame::Message(message) => break message,
            // Ann arriving; "lost the connection to the cluster".
            ServerFrame::Presence { .. } | ServerFrame::Error(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    };
    assert_eq!(stored, std::slice::from_ref(&original));
    assert_eq!(ann.resend_unconfirmed(&mut ann_on_b).await, 1);
    let mut to_ann = Vec::new();
    while let Some(frame) = ann_on_b.try_recv(QUIET_PERIOD).await {
        if let ServerFrame::Message(message) = frame {
            to_ann.push(message);
        }
    }
    assert_eq!(to_ann, [original], "Ann gets her message once");
}

/// Slack over [`DEAD_MEMBERS_GONE_WITHIN`] for a busy test machine.
const REAP_SLACK: Duration = Duration::from_secs(4);

#[tokio::test]
async fn the_members_of_a_killed_instance_disappear_from_the_others_lists() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let a = ServerProcess::in_cluster(&broker, &[]);
    let b = broker.instance(&[]).await;
    let mut ann = a.connect_as("Ann").await;
    ann.join(ROOM).await;
    let mut bob = b.connect_as("Bob").await;
    let joined = bob.join(ROOM).await;
    let listed: BTreeSet<&str> = joined.members.iter().map(String::as_str).collect();
    assert_eq!(listed, BTreeSet::from(["Ann", "Bob"]));

    a.kill_9();
    let killed = Instant::now();
    let deadline = killed + DEAD_MEMBERS_GONE_WITHIN + REAP_SLACK;
    while bob.members_of(ROOM) != ["Bob"] {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            bob.try_recv(left).await.is_some(),
            "Ann still listed {:?} after the kill",
            killed.elapsed()
        );
    }
    println!(
        "Ann left Bob's list {:?} after A was killed",
        killed.elapsed()
    );
    // Her name is free: she can come back through B.
    let mut ann = b.connect_as("Ann").await;
    let joined = ann.join(ROOM).await;
    let listed: BTreeSet<&str> = joined.members.iter().map(String::as_str).collect();
    assert_eq!(listed, BTreeSet::from(["Ann", "Bob"]));
}
