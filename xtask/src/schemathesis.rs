//! The fuzzing step of `cargo xtask test`: schemathesis (from PyPI) sends
//! every operation of the server's OpenAPI document (`/api/openapi.json`)
//! a bounded number of generated requests, valid and invalid, and checks
//! every answer: no 5xx, and status, content type, headers and body as the
//! document says.
//!
//! Against a real release server on a free port, with a fresh SQLite
//! database in `<target>/tmp/schemathesis/` and an administrator made
//! before it starts (`chat-server admin create-user`, then
//! `admin create-token`): every request carries that administrator's API
//! token, and an allowed `Origin` and `Content-Type: application/json`,
//! so that requests get past the forgery check to the handlers (those
//! without a token, sign-in and sign-up, need the `Origin` too).
//!
//! schemathesis lives in a virtualenv of its own,
//! `<target>/schemathesis-venv`, made with `python3 -m venv` and filled by
//! pip when it lacks [`SCHEMATHESIS_VERSION`]; Debian's `python3-venv` is
//! installed first when `venv` is missing.

use super::{apt, output, step, Check, Result};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The schemathesis release the step installs (pip, from PyPI).
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Generated requests per operation and phase (`--max-examples`): about
/// 2,600 requests over the 48 operations (the rooms' among them), under
/// half a minute even on a debug server.
pub const EXAMPLES_PER_OPERATION: u32 = 30;
/// The seed of the generated requests, so that a failure in CI happens
/// again on a developer's machine (`CHAT_FUZZ_SEED` picks another).
pub const DEFAULT_SEED: u64 = 14;
/// Longest the fuzzing may run, all of it, before it is stopped and
/// counted a failure (it takes about half a minute here).
pub const FUZZ_TIMEOUT: Duration = Duration::from_secs(180);
/// Longest the server may take to answer `GET /healthz` after starting.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest one request may take (`--request-timeout`, seconds).
const REQUEST_TIMEOUT_SECS: &str = "10";
/// What every answer is checked for (schemathesis' names).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";
/// The phases run: the document's examples, the boundaries of every
/// schema (coverage), then random requests. Not the stateful phase: the
/// document declares no links between operations.
const PHASES: &str = "examples,coverage,fuzzing";
/// The operations that can end the fuzzer's own credential (revoking the
/// API token it uses, deactivating or demoting its administrator): they
/// run after all the others, one at a time, each with a token of its own,
/// so that what they end leaves the rest fuzzed with a working token.
/// Deactivating the administrator ends every token it has, so that one is
/// last.
const SELF_ENDING: [&str; 3] = ["revoke_my_token", "revoke_account_token", "update_account"];
/// The administrator every request comes from.
const ADMIN_USERNAME: &str = "fuzz-admin";
/// Its password: a throwaway account in a throwaway database.
const ADMIN_PASSWORD: &str = "fuzz-admin-password";

/// Fuzzes the release server `server`, with the virtualenv and the
/// database under `target`.
pub fn run(target: &Path, server: &Path) -> Result {
    let st = ensure_schemathesis(target)?;
    let dir = target.join("tmp").join("schemathesis");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|err| format!("cannot clear {}: {err}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot make {}: {err}", dir.display()))?;
    let db = dir.join("chat.db");
    make_admin(server, &db)?;
    // One token for the operations that cannot end it, and one for each
    // of those that can.
    let tokens = (0..=SELF_ENDING.len())
        .map(|n| make_token(server, &db, &format!("schemathesis-{n}")))
        .collect::<Result<Vec<_>>>()?;
    let port = free_port()?;
    let log = dir.join("server.log");
    let mut running = start_server(server, &db, port, &log)?;
    let mut fuzzed = wait_until_healthy(port, &mut running);
    if fuzzed.is_ok() {
        let deadline = Instant::now() + FUZZ_TIMEOUT;
        let rest: Vec<&str> = SELF_ENDING
            .iter()
            .flat_map(|operation| ["--exclude-operation-id", operation])
            .collect();
        fuzzed = fuzz(&st, &dir, port, &tokens[0], &rest, deadline);
        for (operation, token) in SELF_ENDING.iter().zip(&tokens[1..]) {
            let filter = ["--include-operation-id", operation];
            let alone = fuzz(&st, &dir, port, token, &filter, deadline);
            fuzzed = fuzzed.and(alone);
        }
    }
    let _ = running.kill();
    let _ = running.wait();
    fuzzed.map_err(|err| format!("{err} (the server's log: {})", log.display()))
}

/// The `st` program of the virtualenv, installed first when it is not
/// [`SCHEMATHESIS_VERSION`].
fn ensure_schemathesis(target: &Path) -> Result<PathBuf> {
    let venv = target.join("schemathesis-venv");
    let st = venv.join("bin").join("st");
    let installed = output(Command::new(&st).arg("--version"))
        .is_ok_and(|version| version.trim().ends_with(SCHEMATHESIS_VERSION));
    if installed {
        return Ok(st);
    }
    step(&format!(
        "installing schemathesis {SCHEMATHESIS_VERSION} (pip, into {})",
        venv.display()
    ));
    let mut make_venv = Command::new("python3");
    make_venv.args(["-m", "venv", "--clear"]).arg(&venv);
    if make_venv.check().is_err() {
        // Debian's python3 comes without venv (and ensurepip).
        apt(&["update", "-qq"])?;
        apt(&[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "python3",
            "python3-venv",
        ])?;
        make_venv.check()?;
    }
    Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}"))
        .check()?;
    Ok(st)
}

/// Makes the administrator in `db` before the server opens it.
fn make_admin(server: &Path, db: &Path) -> Result {
    let mut create = Command::new(server)
        .arg("admin")
        .arg("--db")
        .arg(db)
        .args(["create-user", "--username", ADMIN_USERNAME])
        .args(["--display-name", "Fuzz admin", "--admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot run chat-server admin create-user: {err}"))?;
    if let Some(mut stdin) = create.stdin.take() {
        writeln!(stdin, "{ADMIN_PASSWORD}")
            .map_err(|err| format!("cannot give a password: {err}"))?;
    }
    let made = create
        .wait()
        .map_err(|err| format!("chat-server admin create-user: {err}"))?;
    if !made.success() {
        return Err(format!("chat-server admin create-user failed with {made}"));
    }
    Ok(())
}

/// A new API token of the administrator, named `name`, made in `db`
/// before the server opens it.
fn make_token(server: &Path, db: &Path, name: &str) -> Result<String> {
    let printed = output(Command::new(server).arg("admin").arg("--db").arg(db).args([
        "create-token",
        ADMIN_USERNAME,
        name,
    ]))?;
    printed
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "chat-server admin create-token printed no token".to_owned())
}

/// A port nobody listens on now (the server takes it a moment later).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|err| format!("cannot find a free port: {err}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|err| format!("cannot find a free port: {err}"))
}

fn start_server(server: &Path, db: &Path, port: u16, log: &Path) -> Result<Child> {
    let log = std::fs::File::create(log).map_err(|err| format!("cannot write the log: {err}"))?;
    let errors = log
        .try_clone()
        .map_err(|err| format!("cannot write the log: {err}"))?;
    Command::new(server)
        .arg("--db")
        .arg(db)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .stdout(log)
        .stderr(errors)
        .spawn()
        .map_err(|err| format!("cannot start {}: {err}", server.display()))
}

/// Waits until `GET /healthz` answers 200, or the server exits, or
/// [`START_TIMEOUT`] passes.
fn wait_until_healthy(port: u16, server: &mut Child) -> Result {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(format!("chat-server exited at start with {status}"));
        }
        if healthy(port) {
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!(
                "chat-server did not answer within {START_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// Runs schemathesis against the server on `port`, on the operations
/// `filter` selects, stopped at `deadline`.
fn fuzz(
    st: &Path,
    dir: &Path,
    port: u16,
    token: &str,
    filter: &[&str],
    deadline: Instant,
) -> Result {
    let base = format!("http://127.0.0.1:{port}");
    let seed = std::env::var("CHAT_FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_string());
    let mut command = Command::new(st);
    command
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--checks", CHECKS, "--phases", PHASES])
        .args(["--max-examples", &EXAMPLES_PER_OPERATION.to_string()])
        .args(["--seed", &seed, "--workers", "1"])
        .args(["--request-timeout", REQUEST_TIMEOUT_SECS])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--header")
        .arg(format!("Origin: {base}"))
        .args(["--header", "Content-Type: application/json"])
        .args(filter)
        // Whatever it keeps between runs (Hypothesis' examples) stays
        // beside the database, cleared with it.
        .current_dir(dir)
        .stdin(Stdio::null());
    let mut running = command
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", st.display()))?;
    loop {
        match running.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("schemathesis found failures ({status})")),
            Ok(None) if Instant::now() > deadline => {
                let _ = running.kill();
                let _ = running.wait();
                return Err(format!(
                    "schemathesis did not finish within {FUZZ_TIMEOUT:?}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(err) => return Err(format!("schemathesis: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each operation run apart is one the document has: a renamed one
    /// would be fuzzed with the rest and could end their token.
    #[test]
    fn the_operations_run_apart_are_in_the_document() {
        let handlers = [
            include_str!("../../backend/src/http/accounts/me.rs"),
            include_str!("../../backend/src/http/accounts/admin.rs"),
        ]
        .concat();
        for operation in SELF_ENDING {
            let id = format!("operation_id = \"{operation}\"");
            assert!(handlers.contains(&id), "no {id} in the handlers");
        }
    }
}
