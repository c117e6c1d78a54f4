//! PostgreSQL going away: unreachable at start, the server exits with one
//! line; lost while the server runs, `/healthz` fails, posts are refused
//! with `unavailable` and their nonce, the log says so once, and once the
//! database is back the server stores again by itself, with nothing that
//! was acknowledged lost and nothing stored twice. A real PostgreSQL server
//! of the test's own is stopped and started under traffic.

mod support;

use common::{ErrorCode, ServerFrame};
use std::collections::BTreeMap;
use std::time::Duration;
use support::postgres::PgServer;
use support::process::{chat_server, ServerProcess};
use support::resend::{nonce_of, text_of};

/// Longest the server may take to notice that the database is back.
const RECOVERY_PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn an_unreachable_database_at_start_is_one_clear_line_and_exit_status_1() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://chat:s3cret@127.0.0.1:{port}/chat");
    let output = chat_server()
        .args(["--addr", "127.0.0.1:0", "--db", &url])
        .output()
        .expect("runs chat-server");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("chat-server:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("cannot open database"), "{stderr}");
    assert!(
        errors[0].contains(&format!("127.0.0.1:{port}/chat")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cret"),
        "the password is never shown: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Posts `n` with its nonce and returns what the server answered: the
/// stored message's id, or the error's code (with the nonce checked).
async fn post(client: &mut support::Client, n: usize) -> Result<u64, ErrorCode> {
    client.say("lobby", &text_of(n), Some(&nonce_of(n))).await;
    loop {
        match client.recv().await {
            ServerFrame::Message(message)
                if message.nonce.as_ref().map(|n| n.as_str()) == Some(nonce_of(n).as_str()) =>
            {
                return Ok(message.id)
            }
            ServerFrame::Error(error) => {
                assert_eq!(
                    error.nonce.map(String::from),
                    Some(nonce_of(n)),
                    "an error names the post it is about"
                );
                return Err(error.code);
            }
            _ => {}
        }
    }
}

async fn healthz(server: &ServerProcess) -> u16 {
    reqwest::get(server.url("/healthz"))
        .await
        .map_or(0, |response| response.status().as_u16())
}

#[tokio::test]
async fn a_database_lost_under_traffic_refuses_posts_then_recovers_by_itself() {
    let pg = PgServer::start_private().await;
    let database = pg.fresh_database().await;
    let server = ServerProcess::start(std::path::Path::new(database.url()));
    let mut ann = server.connect_as("Ann").await;
    ann.join("lobby").await;
    let mut stored = BTreeMap::new();
    for n in 0..5 {
        stored.insert(post(&mut ann, n).await.expect("stored"), n);
    }
    assert_eq!(healthz(&server).await, 200);

    pg.stop().await;
    // Posts go on while the database is gone: each is refused with its
    // nonce, none is reported stored.
    let mut refused = Vec::new();
    for n in 5..15 {
        match post(&mut ann, n).await {
            Ok(id) => {
                stored.insert(id, n);
            }
            Err(code) => {
                assert_eq!(code, ErrorCode::Unavailable);
                refused.push(n);
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "posts are refused while the database is gone"
    );
    assert_ne!(
        healthz(&server).await,
        200,
        "/healthz fails without the database"
    );

    pg.start().await;
    let deadline = tokio::time::Instant::now() + RECOVERY_PATIENCE;
    while healthz(&server).await != 200 {
        assert!(tokio::time::Instant::now() < deadline, "/healthz recovers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The client resends what was refused, with the same nonces, and the
    // server stores it now; then it carries on.
    for n in refused.iter().copied().chain(15..20) {
        let id = loop {
            match post(&mut ann, n).await {
                Ok(id) => break id,
                Err(code) => {
                    assert_eq!(code, ErrorCode::Unavailable);
                    assert!(tokio::time::Instant::now() < deadline, "posts recover");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        stored.insert(id, n);
    }

    // Everything acknowledged is in the history, once, in the order of
    // its ids.
    let history = server.all_messages("lobby").await;
    let texts: BTreeMap<u64, String> = history
        .iter()
        .map(|(id, message)| (*id, message.text.as_str().to_owned()))
        .collect();
    let expected: BTreeMap<u64, String> = stored.iter().map(|(id, n)| (*id, text_of(*n))).collect();
    assert_eq!(texts, expected);
    assert_eq!(stored.len(), 20, "every post was stored in the end");

    let outage_lines = server
        .log_lines()
        .into_iter()
        .filter(|line| line.contains("the database cannot be reached"))
        .count();
    assert_eq!(outage_lines, 1, "the outage is logged once");
    assert!(
        server
            .log_lines()
            .iter()
            .any(|line| line.contains("the database is reachable again")),
        "and its end"
    );
}
