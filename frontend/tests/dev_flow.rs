//! The development flow as a developer runs it: `cargo xtask dev` (the
//! debug chat-server, then `trunk serve` with the repository's Trunk.toml
//! and its proxy for /api and /ws), and a person in real headless Chromium
//! on trunk's page only: the setup link the server printed, the first
//! administrator, a message, the session cookie's flags, a reload, signing
//! out, a wrong password in words, signing in again.
//!
//! Why through xtask: the issue asks that this flow keeps working, and what
//! breaks it is the glue (Trunk.toml's proxy entries, the origins and
//! public URL xtask gives the server), which the release-server tests never
//! run. The test runs the same `dev` code path with `--port`,
//! `--server-port` and `--dist`, so that it does not collide with a
//! developer's own `cargo xtask dev` on 8080/8081 nor write over the
//! release client in dist/ that the other browser tests' server embeds.

mod support;

use fantoccini::Locator;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{free_port, Driver, Page};
use tokio::process::{Child, Command};

/// Longest `cargo xtask dev` may take to build the debug server and have
/// trunk build the debug client and serve it: minutes on a 2-core machine
/// when nothing is built yet (about 40 s once both are).
const DEV_BUILD_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How often the start-up is looked at.
const POLL: Duration = Duration::from_millis(250);

/// The target directory this test was built in (`<target>/debug/deps/
/// dev_flow-…`): xtask builds the server and trunk the client there, so
/// that nothing is built twice.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf()
}

/// `cargo xtask dev` in a process group of its own (cargo, xtask,
/// chat-server and trunk), ended as a whole when the test ends, also when
/// it fails.
struct Dev {
    child: Child,
    /// Holds the database, the client trunk builds, and the output.
    dir: tempfile::TempDir,
    /// trunk's page: `http://127.0.0.1:<port>`.
    origin: String,
}

impl Dev {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (port, server_port) = (free_port(), free_port());
        assert_ne!(port, server_port);
        let root = support::workspace_root();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = std::fs::File::create(dir.path().join("stdout.log")).expect("a file");
        let err = std::fs::File::create(dir.path().join("stderr.log")).expect("a file");
        let child = Command::new(cargo)
            .args(["run", "--quiet", "--package", "xtask", "--", "dev"])
            .args(["--port", &port.to_string()])
            .args(["--server-port", &server_port.to_string()])
            .arg("--dist")
            .arg(dir.path().join("dist"))
            .args(["--", "--db"])
            .arg(dir.path().join("chat.db"))
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start cargo xtask dev");
        Self {
            child,
            dir,
            origin: format!("http://127.0.0.1:{port}"),
        }
    }

    fn output(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }

    /// What xtask, the server and trunk said (for a failure's message).
    fn said(&self) -> String {
        let err = self.output("stderr.log");
        let tail: Vec<&str> = err.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "\n--- stdout ---\n{}\n--- stderr (end) ---\n{}",
            self.output("stdout.log"),
            tail.join("\n")
        )
    }

    /// Waits, up to [`DEV_BUILD_TIMEOUT`], until `check` gives a value;
    /// fails at once when `cargo xtask dev` exits.
    async fn wait_for<T>(&mut self, what: &str, mut check: impl FnMut(&Self) -> Option<T>) -> T {
        let deadline = Instant::now() + DEV_BUILD_TIMEOUT;
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "cargo xtask dev exited with {status} before {what}{}",
                    self.said()
                );
            }
            assert!(
                Instant::now() < deadline,
                "waited {DEV_BUILD_TIMEOUT:?} for {what}{}",
                self.said()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The setup link the server printed on its first start.
    async fn setup_link(&mut self) -> String {
        self.wait_for("the setup link on standard output", |dev| {
            let out = dev.output("stdout.log");
            let line = out.lines().find(|line| line.starts_with("First start"))?;
            let link = line
                .split_whitespace()
                .find(|word| word.contains("#/setup/"))?;
            Some(link.trim_end_matches(['.', ',']).to_owned())
        })
        .await
    }

    /// Waits until trunk serves the page it built (it listens only once
    /// the first build is done).
    async fn wait_until_served(&mut self) {
        let page = self.origin.clone();
        self.wait_for("trunk serve to serve the client", move |_| {
            get_ok(&page).then_some(())
        })
        .await;
    }
}

/// Whether `GET <origin>/` answers 200 with trunk's page.
fn get_ok(origin: &str) -> bool {
    use std::io::{Read, Write};
    let Some(addr) = origin.strip_prefix("http://") else {
        return false;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}

impl Drop for Dev {
    fn drop(&mut self) {
        // The whole group: chat-server and trunk are xtask's children,
        // which `kill_on_drop` of cargo alone would leave running.
        if let Some(pid) = self.child.id() {
            // `--` first: procps' kill takes `-TERM -<pgid>` without it
            // as no group at all (and says nothing).
            let _ = std::process::Command::new("kill")
                .args(["-s", "TERM", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// Whether the chat (its message box) is on the page now.
async fn in_the_chat(page: &Page) -> bool {
    page.client
        .find(Locator::Css("textarea[aria-label='Message']"))
        .await
        .is_ok()
}

#[tokio::test]
async fn cargo_xtask_dev_serves_the_chat_with_sign_in_through_trunks_proxy() {
    let mut dev = Dev::start().await;
    let link = dev.setup_link().await;
    // xtask hands the server trunk's origin as its public URL: the link
    // opens trunk's page, not the backend's.
    assert!(
        link.starts_with(&format!("{}/#/setup/", dev.origin)),
        "the setup link {link} should open trunk's page {}",
        dev.origin
    );
    dev.wait_until_served().await;
    assert!(
        Path::new(&dev.dir.path().join("dist").join("index.html")).is_file(),
        "trunk wrote the client to --dist"
    );

    let driver = Driver::start().await;
    let (width, height) = support::emulation::DESKTOP;
    let client = driver.browser(width, height).await;
    client.goto(&link).await.expect("open the setup link");
    let ann = Page {
        client,
        name: "Ann".to_owned(),
    };
    // The setup goes to /api/setup through trunk's proxy, and signs in.
    ann.fill_new_account("Ann").await;
    ann.wait_for("textarea[aria-label='Message']").await;
    // The WebSocket, through the proxy's /ws entry (the server checks the
    // Origin the proxy passes on).
    ann.wait_until_connected().await;
    let me = ann
        .find(".me-name strong")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(me, "Ann");
    ann.send("hello through trunk").await;
    ann.wait_for_message("hello through trunk").await;

    // The session cookie, set on trunk's origin through the proxy.
    let cookie = ann
        .client
        .get_named_cookie("chat_session")
        .await
        .expect("a chat_session cookie on trunk's page");
    assert_eq!(cookie.http_only(), Some(true), "HttpOnly: {cookie}");
    assert_eq!(
        format!("{:?}", cookie.same_site()),
        "Some(Lax)",
        "SameSite=Lax: {cookie}"
    );
    assert!(
        ann.eval("return document.cookie").await.as_str() == Some(""),
        "scripts cannot read the session"
    );

    // A reload keeps the person signed in, and the message is still there.
    ann.client.refresh().await.expect("reload");
    ann.wait_for("textarea[aria-label='Message']").await;
    ann.wait_until_connected().await;
    ann.wait_for_message("hello through trunk").await;

    // Signing out.
    ann.wait_for("#sign-out")
        .await
        .click()
        .await
        .expect("sign out");
    ann.wait_for("#username").await;
    assert!(!in_the_chat(&ann).await, "signed out");

    // A wrong password gets words.
    ann.sign_in_with("ann", "not the password").await;
    assert_eq!(ann.form_alert().await, "Wrong username or password.");
    assert!(!in_the_chat(&ann).await, "a wrong password lets no one in");

    // The right one works again.
    ann.sign_in().await;
    ann.wait_for_message("hello through trunk").await;
    ann.close().await;
}
