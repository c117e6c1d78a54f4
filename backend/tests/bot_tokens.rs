//! `--bot-tokens FILE` on the binary, with a real database (a SQLite file,
//! or PostgreSQL with `CHAT_TEST_DB=postgres`): the tokens of the file
//! authenticate their bots over HTTP, a second start with the same file
//! changes nothing, and an invalid line stops the start with its number
//! and without showing a token.

mod support;

use chat_server::auth::Token;
use chat_server::store::accounts::BOT_TOKENS_PER_CALL;
use std::process::Stdio;
use std::time::Instant;
use support::accounts::Api;
use support::process::{chat_server, ServerProcess, START_TIMEOUT};
use support::TempDb;

/// Bots of the big file: more than two calls of the store, the last one
/// not full, so that chunking is seen to lose no line.
const MANY_BOTS: usize = 2 * BOT_TOKENS_PER_CALL + 7;

#[test]
fn tokens_of_the_file_authenticate_their_bots_and_a_second_start_changes_nothing() {
    let db = TempDb::new();
    let tokens: Vec<String> = (0..MANY_BOTS)
        .map(|_| Token::generate().encode_api())
        .collect();
    let mut text = String::from("# bots of the test\n\n");
    for (n, token) in tokens.iter().enumerate() {
        text.push_str(&format!("bot-{n:05} {token}\n"));
    }
    let file = db.dir().join("bots.txt");
    std::fs::write(&file, text).expect("write the file");
    let flags = ["--bot-tokens", file.to_str().expect("UTF-8")];
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    for start in ["first", "second"] {
        let server = ServerProcess::start_bare(&db.path(), &flags);
        runtime.block_on(async {
            let api = Api::new(server.addr);
            for n in [0, BOT_TOKENS_PER_CALL, MANY_BOTS - 1] {
                let me = api.with_bearer(&tokens[n]).get("/api/me").await;
                assert_eq!(me.status, 200, "{start} start, bot {n}: {me:?}");
                assert_eq!(me.str("/username"), format!("bot-{n:05}"));
                assert_eq!(me.str("/display_name"), format!("bot-{n:05}"));
                assert_eq!(me.str("/kind"), "bot");
                assert_eq!(me.str("/role"), "member");
            }
            let stranger = Token::generate().encode_api();
            let refused = api.with_bearer(&stranger).get("/api/me").await;
            assert_eq!(refused.status, 401, "{refused:?}");
        });
        let log = server.log_lines();
        let ready = log
            .iter()
            .find(|line| line.contains("bot tokens ready"))
            .unwrap_or_else(|| panic!("no line of the bot tokens: {log:#?}"));
        let made = if start == "first" { MANY_BOTS } else { 0 };
        assert!(
            ready.contains(&format!("accounts_created={made}"))
                && ready.contains(&format!("tokens_created={made}")),
            "{start} start: {ready}"
        );
        for token in &tokens {
            let secret = &token["chat_".len()..];
            assert!(
                !log.iter().any(|line| line.contains(secret)),
                "a token in the log"
            );
        }
        server.terminate();
    }
}

#[test]
fn an_invalid_line_stops_the_start_with_its_number_and_no_token() {
    let db = TempDb::new();
    let good = Token::generate().encode_api();
    let bad = format!("{}x", &good[..good.len() - 1]);
    let file = db.dir().join("bots.txt");
    let text = format!("# ok\nfirst {good}\n\nsecond {bad} extra\n");
    std::fs::write(&file, text).expect("write the file");
    let mut child = chat_server()
        .args(["--addr", "127.0.0.1:0", "--db"])
        .arg(db.path())
        .arg("--bot-tokens")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chat-server");
    // A server that starts serves until stopped: it must exit by itself.
    let started = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if started.elapsed() > START_TIMEOUT {
            child.kill().expect("kill");
            panic!("the server started despite an invalid line");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("exited");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    let last = stderr.lines().last().expect("an error line");
    assert!(last.starts_with("chat-server: "), "{stderr}");
    assert!(
        last.contains("bots.txt, line 4: expected `username token`"),
        "{last}"
    );
    for secret in [&good[5..], &bad[5..]] {
        assert!(!stderr.contains(secret), "a token in: {stderr}");
    }
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(!stdout.contains("setup"), "nothing was made: {stdout}");
}
