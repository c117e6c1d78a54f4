//! Exactly-once delivery from the client's view: a writer whose connection
//! is cut at random points reconnects, re-joins with `since` and resends
//! what it did not see confirmed, with the same nonces; an observer sees
//! every message once, in order, with no gap.

mod support;

use common::{ChatMessage, ServerFrame};
use std::time::Duration;
use support::resend::{text_of, ResendingWriter, Rng};
use support::{metrics, TempDb, TestServer};

/// Messages the writer must get across.
const MESSAGES: usize = 1_000;

#[tokio::test]
async fn a_writer_cut_off_at_random_points_is_seen_exactly_once_in_order() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut rng = Rng::from_env();
    let mut observer = server.connect_as("Observer").await;
    observer.join("lobby").await;
    let observing = tokio::spawn(async move {
        let mut seen: Vec<ChatMessage> = Vec::new();
        while seen.len() < MESSAGES {
            match observer.try_recv(Duration::from_secs(30)).await {
                Some(ServerFrame::Message(message)) => seen.push(message),
                Some(_) => {}
                None => break, // Nothing more comes: the checks below say what is missing.
            }
        }
        // Anything after the last expected message would be a duplicate.
        while let Some(frame) = observer.try_recv(Duration::from_millis(500)).await {
            if let ServerFrame::Message(message) = frame {
                seen.push(message);
            }
        }
        seen
    });

    let url = server.ws_url();
    let mut writer = ResendingWriter::new("lobby", "Writer", MESSAGES);
    while !writer.done() {
        let (mut client, _) = writer.reconnect(&url).await;
        // Cut at a random point: after sending a random number of frames,
        // having read a random number of the confirmations (often none, so
        // posts the server never read are lost with the socket).
        let sent = writer.send_some(&mut client, rng.between(1..=100)).await;
        // Half the time the cut comes at once, while the server is still
        // reading and storing what was just sent.
        let reads = if rng.between(0..=1) == 0 {
            0
        } else {
            rng.between(0..=sent)
        };
        writer
            .read_some(&mut client, reads, Duration::from_millis(500))
            .await;
        if writer.next_new == MESSAGES {
            // Everything is sent: read until all is confirmed or it breaks.
            writer
                .read_some(&mut client, MESSAGES, Duration::from_millis(500))
                .await;
        }
        drop(client); // No close handshake: the TCP connection just ends.
    }
    eprintln!(
        "{} connections, {} sends repeated",
        writer.connections, writer.resent
    );
    assert!(writer.connections > 10, "the connection was cut many times");

    let seen = observing.await.expect("the observer does not panic");
    let texts: Vec<String> = seen.iter().map(|m| m.text.to_string()).collect();
    let expected: Vec<String> = (0..MESSAGES).map(text_of).collect();
    assert_eq!(texts.len(), MESSAGES, "exactly {MESSAGES} messages seen");
    assert_eq!(texts, expected, "every message once, in order");
    let ids: Vec<u64> = seen.iter().map(|m| m.id).collect();
    let contiguous: Vec<u64> = (ids[0]..ids[0] + MESSAGES as u64).collect();
    assert_eq!(ids, contiguous, "ids without gaps");

    // The history agrees, and the repeats were recognised, not stored.
    let mut check = server.connect_as("Check").await;
    let joined = check.join_since("lobby", Some(0)).await;
    assert_eq!(joined.history.len(), MESSAGES);
    let counted = metrics(&server).await;
    assert_eq!(counted.value("chat_messages_stored_total"), MESSAGES as f64);
    eprintln!(
        "{} repeated sends recognised",
        counted.value("chat_duplicate_sends_total")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_repeated_send_is_answered_with_the_original_message() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let (mut ann, mut bob) = server.ann_and_bob_in_lobby().await;
    ann.say("lobby", "once", Some("n-1")).await;
    let original = ann.next_message().await;
    assert_eq!(bob.next_message().await, original);

    // Same name, same nonce, while still a member: the original's
    // broadcast reached Ann and was the answer; nothing is stored, and
    // nothing is sent again (every member gets every message once).
    ann.say("lobby", "once (resent)", Some("n-1")).await;
    ann.expect_silence().await;
    bob.expect_silence().await;

    // After a reconnect under the same name, too; the name is compared
    // by its key, so a change of case is the same author.
    drop(ann);
    assert_eq!(bob.expect_presence().await, ["Bob"]);
    let mut again = server.connect_as("ANN").await;
    again.join("lobby").await;
    again.say("lobby", "once", Some("n-1")).await;
    assert_eq!(again.next_message().await, original);
    bob.expect_presence().await;
    bob.expect_silence().await;

    // Another author may use the same nonce: it is a new message.
    bob.say("lobby", "mine", Some("n-1")).await;
    assert_eq!(bob.next_message().await.id, original.id + 1);
    server.stop().await;
}

#[tokio::test]
async fn nonces_are_remembered_across_a_restart() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    ann.say("lobby", "before the restart", Some("n-7")).await;
    let original = ann.next_message().await;
    server.stop().await;

    let server = TestServer::start(&db.path()).await;
    let mut ann = server.connect_as("Ann").await;
    ann.join_since("lobby", Some(0)).await;
    ann.say("lobby", "before the restart", Some("n-7")).await;
    assert_eq!(ann.next_message().await, original);
    ann.say("lobby", "after the restart", Some("n-8")).await;
    assert_eq!(ann.next_message().await.id, original.id + 1);
    server.stop().await;
}
