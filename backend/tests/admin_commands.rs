//! `chat-server admin …` on a real database (a SQLite file, or PostgreSQL
//! with `CHAT_TEST_DB=postgres`), run as the binary is: what each command
//! prints, its one-line errors and exit status, and a server that then
//! serves the accounts they made.

mod support;

use serde_json::json;
use std::io::Write;
use std::process::{Output, Stdio};
use support::accounts::Api;
use support::process::{chat_server, ServerProcess};
use support::TempDb;

/// Runs `chat-server admin --db <db> <args>` with `stdin` as its input.
fn admin(db: &TempDb, args: &[&str], stdin: &str) -> Output {
    let mut child = chat_server()
        .arg("admin")
        .args(["--db", db.path().to_str().expect("UTF-8")])
        .args(["--public-url", "https://chat.example.com/"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chat-server admin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("it exits")
}

/// Standard output of a command that must succeed.
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The one line of standard error of a command that must fail.
fn fails(output: Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("chat-server: "), "{stderr}");
    stderr.trim_end().to_owned()
}

#[test]
fn users_are_created_listed_and_administered_from_the_shell() {
    let db = TempDb::new();
    let made = ok(admin(
        &db,
        &[
            "create-user",
            "--username",
            "Root",
            "--display-name",
            "Root",
            "--admin",
        ],
        "root-password\n",
    ));
    assert_eq!(made.trim(), "created person root (admin, id 1)");
    ok(admin(
        &db,
        &["create-user", "--username", "ann", "--display-name", "Ann"],
        "ann-password\n",
    ));
    let bot = ok(admin(
        &db,
        &[
            "create-user",
            "--username",
            "deploy",
            "--display-name",
            "Deploy",
            "--bot",
        ],
        "",
    ));
    assert!(bot.starts_with("created bot deploy (member"), "{bot}");
    let listed = ok(admin(&db, &["list-users"], ""));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines,
        [
            "1\troot\tadmin\tperson\tactive\tRoot",
            "2\tann\tmember\tperson\tactive\tAnn",
            "3\tdeploy\tmember\tbot\tactive\tDeploy",
        ]
    );
    assert_eq!(
        ok(admin(&db, &["set-role", "ann", "admin"], "")).trim(),
        "ann is now admin"
    );
    assert_eq!(
        ok(admin(&db, &["set-role", "ann", "member"], "")).trim(),
        "ann is now member"
    );
    assert_eq!(
        ok(admin(&db, &["deactivate", "ann"], "")).trim(),
        "ann is now deactivated"
    );
    assert_eq!(
        ok(admin(&db, &["reactivate", "ann"], "")).trim(),
        "ann is now active"
    );

    // The rules are the server's.
    let last = fails(admin(&db, &["deactivate", "root"], ""));
    assert!(last.contains("last active administrator"), "{last}");
    let taken = fails(admin(
        &db,
        &["create-user", "--username", "ANN", "--display-name", "Ann"],
        "ann-password\n",
    ));
    assert_eq!(taken, "chat-server: this username is taken");
    let short = fails(admin(
        &db,
        &["create-user", "--username", "bob", "--display-name", "Bob"],
        "short\n",
    ));
    assert!(short.contains("at least 8 characters"), "{short}");
    let no_password = fails(admin(
        &db,
        &["create-user", "--username", "bob", "--display-name", "Bob"],
        "",
    ));
    assert!(
        no_password.contains("no password on standard input"),
        "{no_password}"
    );
    let unknown = fails(admin(&db, &["deactivate", "nobody"], ""));
    assert_eq!(unknown, "chat-server: no such account");
    let reset_bot = fails(admin(&db, &["reset-password", "deploy"], ""));
    assert!(reset_bot.contains("bot"), "{reset_bot}");
    let usage = admin(&db, &["set-role", "ann", "owner"], "");
    assert_eq!(usage.status.code(), Some(2), "a usage error is clap's");
}

#[test]
fn links_and_tokens_printed_by_the_shell_work_on_the_server() {
    let db = TempDb::new();
    ok(admin(
        &db,
        &[
            "create-user",
            "--username",
            "root",
            "--display-name",
            "Root",
            "--admin",
        ],
        "root-password\n",
    ));
    ok(admin(
        &db,
        &[
            "create-user",
            "--username",
            "hook",
            "--display-name",
            "Hook",
            "--bot",
        ],
        "",
    ));
    let reset = ok(admin(&db, &["reset-password", "root"], ""));
    let reset = reset.trim();
    assert!(
        reset.starts_with("https://chat.example.com/#/reset/"),
        "{reset}"
    );
    let invite = ok(admin(
        &db,
        &["create-invite", "--expires-in", "7d", "--max-uses", "1"],
        "",
    ));
    let invite = invite.trim();
    assert!(
        invite.starts_with("https://chat.example.com/#/invite/"),
        "{invite}"
    );
    let token = ok(admin(&db, &["create-token", "hook", "ci"], ""));
    let token = token.trim().to_owned();
    assert!(token.starts_with("chat_"), "{token}");
    let zero = admin(&db, &["create-invite", "--max-uses", "0"], "");
    assert_eq!(zero.status.code(), Some(2), "a usage error is clap's");

    let server = ServerProcess::start_bare(&db.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let api = Api::new(server.addr);
        let me = api.with_bearer(&token).get("/api/me").await;
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.str("/username"), "hook");
        let token_of = |link: &str| link.rsplit('/').next().expect("a token").to_owned();
        let reset_token = token_of(reset);
        let reset = api
            .post(
                "/api/password-reset",
                &json!({"token": token_of(reset), "password": "a-new-root-password"}),
            )
            .await;
        assert_eq!(reset.status, 204, "{reset:?}");
        let root = api
            .sign_in("root", "a-new-root-password")
            .await
            .expect("signs in");
        // What the shell did is in the audit log, by nobody: the machine's
        // shell is no account. Neither the link nor the token is written.
        let audit = root.get("/api/admin/audit").await;
        let entries = audit.body["entries"].as_array().expect("entries");
        let actions: Vec<&str> = entries
            .iter()
            .rev()
            .map(|entry| entry["action"].as_str().expect("an action"))
            .collect();
        assert_eq!(
            actions,
            [
                "account.create",
                "account.create",
                "account.reset_link",
                "invite.create",
                "token.create"
            ]
        );
        assert!(
            entries.iter().all(|entry| entry["actor"].is_null()),
            "{entries:?}"
        );
        let text = audit.body.to_string();
        assert!(
            !text.contains(&token) && !text.contains(&reset_token),
            "{text}"
        );
        let signed_up = api
            .post(
                "/api/signup",
                &json!({
                    "invite": token_of(invite),
                    "username": "ann",
                    "display_name": "Ann",
                    "password": "ann-password",
                }),
            )
            .await;
        assert_eq!(signed_up.status, 200, "{signed_up:?}");
    });
    // An account exists: no setup link at start.
    assert!(server.printed_lines().is_empty());
    server.terminate();
}

#[test]
fn a_database_in_use_by_a_server_is_refused_in_one_line() {
    let db = TempDb::sqlite();
    let server = ServerProcess::start(&db.path());
    let refused = fails(admin(&db, &["list-users"], ""));
    assert!(refused.contains("another"), "{refused}");
    server.terminate();
}
