//! Cluster mode: several servers share rooms through a real Redis server
//! (`--cluster`). Members on different instances chat as on one server,
//! see one member list, and cannot take each other's names.

mod support;

use common::api::{MessagePage, RoomSummary};
use common::{ErrorCode, ErrorFrame, ServerFrame};
use std::collections::BTreeSet;
use std::time::Duration;
use support::broker::Broker;
use support::{
    get_json, ids, post_at_once, Client, TempDb, TestServer, QUIET_PERIOD, UNLIMITED_RATE,
};

/// Two servers on the same broker.
async fn two_instances(broker: &Broker) -> (TestServer, TestServer) {
    (broker.instance(&[]).await, broker.instance(&[]).await)
}

/// Ann on instance `a` and then Bob on `b`, both joined to the lobby.
async fn ann_on_a_and_bob_on_b(a: &TestServer, b: &TestServer) -> (Client, Client) {
    let mut ann = a.connect_as("Ann").await;
    ann.join("lobby").await;
    let mut bob = b.connect_as("Bob").await;
    bob.join("lobby").await;
    (ann, bob)
}

/// Asserts that no chat message reaches `client` for a while (presence
/// changes may).
async fn expect_no_message(client: &mut Client) {
    while let Some(frame) = client.try_recv(QUIET_PERIOD).await {
        assert!(
            !matches!(frame, ServerFrame::Message(_)),
            "expected no message, got {frame:?}"
        );
    }
}

#[tokio::test]
async fn members_on_two_instances_see_every_message_in_one_order() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let (mut ann, mut bob) = ann_on_a_and_bob_on_b(&a, &b).await;

    // Both post at once, so the broker interleaves them.
    const EACH: usize = 50;
    let (seen_by_ann, seen_by_bob) = post_at_once(&mut ann, &mut bob, "lobby", EACH).await;
    let expected: Vec<u64> = (1..=2 * EACH as u64).collect();
    assert_eq!(
        ids(&seen_by_ann),
        expected,
        "ids increase by one, with no gap"
    );
    assert_eq!(seen_by_ann, seen_by_bob, "both instances deliver one order");
    let texts: BTreeSet<&str> = seen_by_ann.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len(), 2 * EACH, "every message arrives once");
    // Each author's own messages keep the order they were sent in.
    let anns: Vec<&str> = seen_by_ann
        .iter()
        .filter(|m| m.name.as_str() == "Ann")
        .map(|m| m.text.as_str())
        .collect();
    let sent: Vec<String> = (0..EACH).map(|i| format!("ann {i}")).collect();
    assert_eq!(anns, sent);
    ann.expect_silence().await;
    bob.expect_silence().await;
}

#[tokio::test]
async fn history_since_and_the_history_route_work_from_any_instance() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let mut ann = a.connect_as("Ann").await;
    ann.join("lobby").await;
    for i in 0..5 {
        ann.say("lobby", &format!("m{i}"), None).await;
    }
    for _ in 0..5 {
        ann.next_message().await;
    }

    // The room list of the other instance, which has no member of the
    // room, counts Ann there.
    let rooms: Vec<RoomSummary> = get_json(b.url("/api/rooms")).await;
    let lobby = rooms.iter().find(|room| room.room.as_str() == "lobby");
    assert_eq!(lobby.map(|room| (room.members, room.last_id)), Some((1, 5)));

    // A first join on the other instance gets the history from the broker.
    let mut bob = b.connect_as("Bob").await;
    let joined = bob.join("lobby").await;
    assert_eq!(ids(&joined.history), [1, 2, 3, 4, 5]);

    // A resume with `since` gets exactly what came after.
    let mut cid = b.connect_as("Cid").await;
    let joined = cid.join_since("lobby", Some(3)).await;
    assert_eq!(ids(&joined.history), [4, 5]);

    // The history route answers the same from either instance.
    for server in [&a, &b] {
        let page: MessagePage = get_json(server.url("/api/rooms/lobby/messages?before=5")).await;
        assert_eq!(ids(&page.messages), [1, 2, 3, 4], "from {}", server.addr);
    }

    // A message posted on B after the room started on A reaches A.
    bob.say("lobby", "from b", None).await;
    let message = ann.next_message().await;
    assert_eq!((message.id, message.text.as_str()), (6, "from b"));
}

#[tokio::test]
async fn a_nonce_sent_again_through_another_instance_is_stored_once() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let mut watcher = a.connect_as("Watcher").await;
    watcher.join("lobby").await;

    let mut ann = a.connect_as("Ann").await;
    ann.join("lobby").await;
    ann.say("lobby", "once", Some("n-1")).await;
    let original = ann.next_message().await;
    assert_eq!(watcher.next_message().await, original);
    drop(ann);

    // Ann's client did not see the confirmation, reconnects elsewhere and
    // sends the same message again.
    let mut ann = b.connect_as("Ann").await;
    let joined = ann.join_since("lobby", Some(original.id)).await;
    assert!(joined.history.is_empty());
    ann.say("lobby", "once", Some("n-1")).await;
    assert_eq!(
        ann.next_message().await,
        original,
        "answered with the original"
    );
    expect_no_message(&mut watcher).await;

    ann.say("lobby", "twice", Some("n-2")).await;
    assert_eq!(ann.next_message().await.id, original.id + 1);
    assert_eq!(watcher.next_message().await.id, original.id + 1);
}

#[tokio::test]
async fn the_broker_going_away_is_reported_and_recovered_from() {
    let dir = TempDb::new();
    let mut broker = Broker::start(dir.dir());
    let port = broker.port();
    let (a, b) = two_instances(&broker).await;
    let (mut ann, mut bob) = ann_on_a_and_bob_on_b(&a, &b).await;
    ann.say("lobby", "before", None).await;
    assert_eq!(bob.next_message().await.id, 1);
    assert_eq!(ann.next_message().await.id, 1);

    broker.kill();
    // Members are told, in words.
    let error = expect_error_frame(&mut bob).await;
    assert_eq!(error.code, ErrorCode::Unavailable);
    assert!(error.message.contains("cluster"), "{}", error.message);
    // Health checks fail on both instances.
    for server in [&a, &b] {
        let status = reqwest::get(server.url("/healthz"))
            .await
            .expect("GET")
            .status();
        assert_eq!(status, 503, "/healthz of {}", server.addr);
    }
    let notice = expect_error_frame(&mut ann).await;
    assert_eq!(notice.code, ErrorCode::Unavailable);
    // A post meanwhile is stored (the database is there) and reaches the
    // members of its instance; those of the other instance get it once
    // the broker is back. The client, unsure, sends it again with its
    // nonce: it is stored once.
    ann.say("lobby", "during", Some("d-1")).await;

    // The broker comes back (with its data, from its append-only file):
    // both instances recover by themselves.
    let _broker = Broker::start_on(dir.dir(), port);
    let deadline = tokio::time::Instant::now() + RECOVERY_TIMEOUT;
    for server in [&a, &b] {
        loop {
            let status = reqwest::get(server.url("/healthz"))
                .await
                .expect("GET")
                .status();
            if status == 200 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "/healthz recovers");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    // The subscription may come back a moment after the commands do.
    tokio::time::sleep(bus_reconnect_margin()).await;
    ann.say("lobby", "during", Some("d-1")).await;
    let to_bob = bob.next_message().await;
    assert_eq!((to_bob.id, to_bob.text.as_str()), (2, "during"));
    expect_no_message(&mut bob).await;
    // Ann may first hear that her first attempt failed.
    let to_ann = loop {
        match ann.recv().await {
            ServerFrame::Message(message) => break message,
            ServerFrame::Error(error) => assert_eq!(error.code, ErrorCode::Unavailable),
            _ => {}
        }
    };
    assert_eq!(to_ann, to_bob);
}

/// Longest the instances may take to notice the broker is back.
const RECOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// How long after the broker answers again its subscriptions are surely
/// back: the longest pause between the bus' attempts, plus one attempt.
fn bus_reconnect_margin() -> std::time::Duration {
    chat_server::cluster::bus::RECONNECT_MAX_DELAY + chat_server::cluster::bus::BROKER_TIMEOUT
}

/// The next `error` frame, skipping presence and typing.
async fn expect_error_frame(client: &mut Client) -> ErrorFrame {
    loop {
        match client.recv().await {
            ServerFrame::Error(error) => return error,
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => continue,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

/// Longest a presence change may take to reach another instance's members
/// (a broker round trip and a room's gathering, with slack for a busy
/// machine).
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads `client`'s frames until it lists exactly `expected` as the members
/// of `room` (in any order); fails the test after [`PRESENCE_TIMEOUT`].
async fn await_members(client: &mut Client, room: &str, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|name| (*name).to_owned()).collect();
    let deadline = tokio::time::Instant::now() + PRESENCE_TIMEOUT;
    loop {
        let listed: BTreeSet<String> = client.members_of(room).into_iter().collect();
        if listed == expected {
            return;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            client.try_recv(left).await.is_some(),
            "{room} lists {listed:?}, never {expected:?}"
        );
    }
}

/// Reads whatever reaches `clients` for `period` (they answer the server's
/// pings while reading; one that stops reading while frames wait is
/// disconnected as stalled).
async fn keep_reading(clients: &mut [&mut Client], period: Duration) {
    let deadline = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < deadline {
        for client in clients.iter_mut() {
            let _ = client.try_recv(Duration::from_millis(10)).await;
        }
    }
}

/// Runs `command` on the broker until it answers `expected` (as
/// [`Broker::command`] gives it), while `clients` keep reading; fails the
/// test, saying `what` was awaited, after [`RECOVERY_TIMEOUT`].
async fn await_broker(
    broker: &Broker,
    command: &str,
    expected: &str,
    clients: &mut [&mut Client],
    what: &str,
) {
    let deadline = tokio::time::Instant::now() + RECOVERY_TIMEOUT;
    while broker.command(command) != expected {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        if clients.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else {
            keep_reading(clients, Duration::from_millis(50)).await;
        }
    }
}

/// The names a `joined` frame listed, in any order.
fn set(names: &[String]) -> BTreeSet<&str> {
    names.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn member_lists_merge_across_instances_and_list_each_person_once() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let (mut ann, bob) = ann_on_a_and_bob_on_b(&a, &b).await;
    let listed = bob.members_of("lobby");
    assert_eq!(set(&listed), BTreeSet::from(["Ann", "Bob"]));
    await_members(&mut ann, "lobby", &["Ann", "Bob"]).await;

    // Bob in a second tab, on the other instance: still one Bob.
    let mut second_bob = a.connect_as("Bob").await;
    let joined = second_bob.join("lobby").await;
    assert_eq!(set(&joined.members), BTreeSet::from(["Ann", "Bob"]));
    let mut cid = a.connect_as("Cid").await;
    cid.join("lobby").await;
    await_members(&mut ann, "lobby", &["Ann", "Bob", "Cid"]).await;
    assert_eq!(
        ann.members_of("lobby").len(),
        3,
        "{:?}",
        ann.members_of("lobby")
    );

    // Bob closes one tab: he stays; he closes the other: he is gone.
    drop(bob);
    cid.say("lobby", "still here?", None).await;
    assert_eq!(ann.next_message().await.text.as_str(), "still here?");
    assert_eq!(
        set(&ann.members_of("lobby")),
        BTreeSet::from(["Ann", "Bob", "Cid"])
    );
    drop(second_bob);
    await_members(&mut ann, "lobby", &["Ann", "Cid"]).await;
    let mut new_bob = b.connect_as("Bob").await;
    let joined = new_bob.join("lobby").await;
    assert_eq!(set(&joined.members), BTreeSet::from(["Ann", "Bob", "Cid"]));
}

#[tokio::test]
async fn the_room_list_shows_rooms_without_messages_on_every_instance() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let mut ann = a.connect_as("Ann").await;
    ann.join("quiet").await;
    let mut bob = a.connect_as("Bob").await;
    bob.join("quiet").await;
    let mut cid = b.connect_as("Cid").await;
    cid.join("busy").await;
    cid.say("busy", "hello", None).await;
    cid.next_message().await;

    // Either instance lists the room with messages first, then the quiet
    // one, each with the members of both instances.
    let listed = |rooms: Vec<RoomSummary>| -> Vec<(String, u32, u64)> {
        rooms
            .into_iter()
            .map(|room| (room.room.as_str().to_owned(), room.members, room.last_id))
            .collect()
    };
    let expected = vec![("busy".to_owned(), 1, 1), ("quiet".to_owned(), 2, 0)];
    for server in [&a, &b] {
        let rooms: Vec<RoomSummary> = get_json(server.url("/api/rooms")).await;
        assert_eq!(listed(rooms), expected, "from {}", server.addr);
    }

    // A quiet room whose members went offline stays (joining is lasting),
    // with nobody in it now.
    drop((ann, bob));
    let emptied = vec![("busy".to_owned(), 1, 1), ("quiet".to_owned(), 0, 0)];
    let deadline = tokio::time::Instant::now() + PRESENCE_TIMEOUT;
    loop {
        let rooms: Vec<RoomSummary> = get_json(b.url("/api/rooms")).await;
        if listed(rooms) == emptied {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the empty quiet room is listed with nobody in it"
        );
        keep_reading(&mut [&mut cid], Duration::from_millis(50)).await;
    }
    assert_eq!(broker.command("ZCARD chat:occupied"), ":1");
}

/// Quiet rooms in the test below: more than one page (100) of the room
/// list script's walk.
const QUIET_ROOMS: usize = 250;

/// Connections that hold the quiet rooms between them, each in every
/// `HOLDERS`-th room (fewer than `--max-rooms-per-connection` each).
const HOLDERS: usize = 10;

#[tokio::test]
async fn the_room_list_walks_and_prunes_many_quiet_rooms() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let a = broker.instance(&UNLIMITED_RATE).await;
    let b = broker.instance(&[]).await;
    let name = |index: usize| format!("q{index:03}");
    let mut holders = Vec::new();
    for holder in 0..HOLDERS {
        let mut client = a.connect().await;
        for room in (holder..QUIET_ROOMS).step_by(HOLDERS) {
            client.join(&name(room)).await;
        }
        holders.push(client);
    }
    // Every other holder leaves: emptied rooms lie between occupied ones.
    let mut kept = Vec::new();
    for (holder, client) in holders.into_iter().enumerate() {
        if holder % 2 == 0 {
            drop(client);
        } else {
            kept.push(client);
        }
    }
    let (occupied, emptied): (Vec<usize>, Vec<usize>) =
        (0..QUIET_ROOMS).partition(|room| room % HOLDERS % 2 == 1);
    // Once the broker has released every name of the emptied rooms, one
    // listing walks past them all.
    let members_keys: Vec<String> = emptied
        .iter()
        .map(|&room| format!("chat:{{{}}}:members", name(room)))
        .collect();
    let released = format!("EXISTS {}", members_keys.join(" "));
    await_broker(&broker, &released, ":0", &mut [], "the names are released").await;
    // Every room stays listed (joining is lasting); the emptied ones with
    // nobody in them now.
    let rooms: Vec<RoomSummary> = get_json(b.url("/api/rooms")).await;
    let listed: BTreeSet<(String, u32)> = rooms
        .into_iter()
        .map(|room| (room.room.as_str().to_owned(), room.members))
        .collect();
    let expected: BTreeSet<(String, u32)> = occupied
        .iter()
        .map(|&room| (name(room), 1))
        .chain(emptied.iter().map(|&room| (name(room), 0)))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        broker.command("ZCARD chat:occupied"),
        format!(":{}", occupied.len())
    );
    drop(kept);
}

#[tokio::test]
async fn an_instance_that_shuts_down_takes_its_members_with_it() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let (mut ann, _bob) = ann_on_a_and_bob_on_b(&a, &b).await;
    let mut cid = b.connect_as("Cid").await;
    cid.join("lobby").await;
    await_members(&mut ann, "lobby", &["Ann", "Bob", "Cid"]).await;

    b.stop().await;
    await_members(&mut ann, "lobby", &["Ann"]).await;
    assert_eq!(broker.command("HLEN chat:{lobby}:members"), ":1");
    // Bob, reconnecting to the instance that is left, gets his name back.
    let mut bob = a.connect_as("Bob").await;
    let joined = bob.join("lobby").await;
    assert_eq!(set(&joined.members), BTreeSet::from(["Ann", "Bob"]));
}

#[tokio::test]
async fn instances_register_their_members_again_with_a_broker_that_lost_its_data() {
    let dir = TempDb::new();
    let mut broker = Broker::start(dir.dir());
    let port = broker.port();
    let (a, b) = two_instances(&broker).await;
    let (mut ann, mut bob) = ann_on_a_and_bob_on_b(&a, &b).await;
    await_members(&mut ann, "lobby", &["Ann", "Bob"]).await;
    for text in ["one", "two", "three"] {
        ann.say("lobby", text, None).await;
        ann.next_message().await;
        bob.next_message().await;
    }

    // The broker comes back empty (a new machine, no persistence).
    broker.kill();
    let empty = TempDb::new();
    let broker = Broker::start_on(empty.dir(), port);
    await_broker(
        &broker,
        "HLEN chat:{lobby}:members",
        ":2",
        &mut [&mut ann, &mut bob],
        "the instances register their members again",
    )
    .await;
    // Lists are whole again.
    let mut cid = b.connect_as("Cid").await;
    let joined = cid.join("lobby").await;
    assert_eq!(set(&joined.members), BTreeSet::from(["Ann", "Bob", "Cid"]));
    await_members(&mut ann, "lobby", &["Ann", "Bob", "Cid"]).await;

    // Numbering goes on after what the instances have seen, rather than
    // from 1 again (which every instance would drop as already seen).
    keep_reading(&mut [&mut ann, &mut bob, &mut cid], bus_reconnect_margin()).await;
    bob.say("lobby", "after", None).await;
    for client in [&mut ann, &mut bob, &mut cid] {
        let message = client.next_message().await;
        assert_eq!((message.id, message.text.as_str()), (4, "after"));
    }
}

/// Times a member leaves and joins again at once in the test below: each
/// retires the room on its instance and starts it again, racing the old
/// room's unsubscription with the new room's subscription.
const RESTARTS: usize = 30;

#[tokio::test]
async fn a_room_that_retires_and_starts_again_at_once_keeps_hearing_the_others() {
    let dir = TempDb::new();
    let broker = Broker::start(dir.dir());
    let (a, b) = two_instances(&broker).await;
    let mut ann = a.connect_as("Ann").await;
    ann.join("lobby").await;
    for round in 0..RESTARTS {
        // The leaving member is B's only one: its leaving retires B's room.
        let mut leaving = b.connect_as(&format!("Bob {round}")).await;
        leaving.join("lobby").await;
        drop(leaving);
        let mut bob = b.connect_as(&format!("Cid {round}")).await;
        bob.join("lobby").await;
        ann.say("lobby", &format!("round {round}"), None).await;
        let message = bob.next_message().await;
        assert_eq!(message.text.as_str(), format!("round {round}"));
    }
}
