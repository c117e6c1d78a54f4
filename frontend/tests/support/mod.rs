//! What the browser tests run against: the real release `chat-server`
//! (with the web client embedded in it) as a child process on a free port
//! with its own database, Debian's headless Chromium driven over WebDriver
//! by a `chromedriver` of its own, and pages of the chat as a person sees
//! them.
//!
//! Nothing here is optional: without the release binary, Chromium or
//! chromedriver, a test fails and says what to do.

#![allow(dead_code)] // Each test file uses its own part of this module.

pub mod account_pages;
pub mod accounts;
pub mod axe;
pub mod emulation;
pub mod keyboard;
pub mod layout;
pub mod pages;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Longest a test waits for something a person would see happen.
pub const WAIT: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);
/// How long a test watches for something that must not happen (a second
/// copy of a message).
pub const QUIET: Duration = Duration::from_millis(1_500);

/// The Chromium flags of the team's guide: headless, and nothing that
/// reaches out to the network or needs a GPU or a sandbox.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("frontend/ is inside the workspace")
        .to_path_buf()
}

/// The release `chat-server`: `$CHAT_SERVER_BIN` (which `cargo xtask test`
/// sets after building it), else `target/release/chat-server`.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHAT_SERVER_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "CHAT_SERVER_BIN={} is not a file",
            path.display()
        );
        return path;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("release").join("chat-server");
    assert!(
        path.is_file(),
        "the browser tests need the release server with the web client in it, and {} is \
         missing: run `cargo xtask test`, or `trunk build --release` then \
         `cargo build --release -p backend`",
        path.display()
    );
    // A binary older than the built client embeds an older client.
    let built = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let index = workspace_root().join("dist").join("index.html");
    if let (Some(binary), Some(client)) = (built(&path), built(&index)) {
        assert!(
            binary >= client,
            "{} is older than dist/index.html, so it embeds an older web client: run \
             `cargo build --release -p backend` (or `cargo xtask test`)",
            path.display()
        );
    }
    path
}

fn tool(env: &str, default: &str, install: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} is missing: {install} (or set {env})",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something accepts TCP connections on `addr`.
async fn wait_for_port(addr: SocketAddr, what: &str, process: &mut Child) {
    let deadline = Instant::now() + WAIT;
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        if let Ok(Some(status)) = process.try_wait() {
            panic!("{what} exited with {status} before it listened on {addr}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {addr} within {WAIT:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The people of [`Server::start`]: Ann (an administrator), Bob, Cy and
/// Di, each signing in with the username of their name in lower case and
/// [`accounts::PASSWORD`].
pub const PEOPLE: [&str; 4] = ["Ann", "Bob", "Cy", "Di"];

/// The release chat-server, run as a person would run it: from a directory
/// that holds nothing but its database, with no `--dist`.
pub struct Server {
    child: Option<Child>,
    /// Flags given to every start, besides the address and the database.
    flags: Vec<String>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its working directory, holding `chat.db`; removed at the end.
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server on a free port with a database holding the
    /// accounts of [`PEOPLE`].
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Server::start`] with these flags too (on every restart as well).
    pub async fn start_with(flags: &[&str]) -> Self {
        Self::start_with_people(flags, &PEOPLE).await
    }

    /// A first start: no account at all, so the server prints its setup
    /// link ([`Server::setup_token`]).
    pub async fn start_empty(flags: &[&str]) -> Self {
        Self::start_with_people(flags, &[]).await
    }

    /// The server with these flags and the accounts of `people` (the
    /// first one an administrator), made with `chat-server admin
    /// create-user` before it starts.
    pub async fn start_with_people(flags: &[&str], people: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut server = Self {
            child: None,
            flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
            addr,
            dir,
        };
        for (index, name) in people.iter().enumerate() {
            accounts::create_user(&server_binary(), server.dir.path(), name, index == 0);
        }
        server.restart().await;
        server.assert_client_embedded().await;
        server
    }

    /// Fails the test at once, saying why, when the binary serves the
    /// "not built" page instead of the client (it was built before the
    /// client was).
    async fn assert_client_embedded(&self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{} embeds no web client (it was built before `trunk build --release`): rebuild it \
             with `cargo build --release -p backend`, or run `cargo xtask test`",
            server_binary().display()
        );
    }

    /// Starts it again (after [`Server::stop`]) on the same port and database.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("a log file");
        // Standard output carries what the operator is meant to read: the
        // setup link of a first start.
        let out = std::fs::File::create(self.dir.path().join("stdout.log")).expect("a file");
        let mut child = Command::new(server_binary())
            .args(["--addr", &self.addr.to_string(), "--db", "chat.db"])
            .args(&self.flags)
            .current_dir(self.dir.path())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start chat-server");
        wait_for_port(self.addr, "chat-server", &mut child).await;
        self.child = Some(child);
    }

    /// Stops it the way a service manager does (SIGTERM) and waits until it
    /// has exited.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        let pid = child.id().expect("a running child has a pid");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let exit = tokio::time::timeout(WAIT, child.wait())
            .await
            .expect("the server stops within the wait")
            .expect("wait for the server");
        assert!(
            exit.success(),
            "chat-server exited with {exit}: {}",
            self.log()
        );
    }

    /// The page of a room.
    pub fn room_url(&self, room: &str) -> String {
        format!("http://{}/#/r/{room}", self.addr)
    }

    /// The token of the setup link a first start printed on standard
    /// output (`First start: open http://…/#/setup/<token> …`).
    pub async fn setup_token(&self) -> String {
        let path = self.dir.path().join("stdout.log");
        eventually("the setup link on standard output", || async {
            let out = std::fs::read_to_string(&path).ok()?;
            let line = out.lines().find(|line| line.starts_with("First start"))?;
            let (_, rest) = line.split_once("#/setup/")?;
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            (!token.is_empty()).then_some(token)
        })
        .await
    }

    /// The page of the setup link.
    pub async fn setup_url(&self) -> String {
        format!("http://{}/#/setup/{}", self.addr, self.setup_token().await)
    }

    /// Runs `chat-server admin <args>` on the database, as an operator's
    /// shell does; only while the server is stopped (SQLite is then free).
    pub fn admin(&self, args: &[&str]) {
        assert!(self.child.is_none(), "stop the server first");
        let out = std::process::Command::new(server_binary())
            .current_dir(self.dir.path())
            .args(["admin", "--db", "chat.db"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run chat-server admin");
        assert!(
            out.status.success(),
            "chat-server admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Signs `name` in over HTTP (as a script would): the session cookie.
    pub async fn session_of(&self, name: &str) -> String {
        accounts::sign_in(self.addr, name).await
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// A chromedriver of this test process, on a free port. When it is
/// dropped, also when a test fails, its sessions are ended (which makes it
/// quit their Chromium) and it is killed.
pub struct Driver {
    child: Child,
    port: u16,
    url: String,
    /// The sessions opened, ended when the driver goes (a failed test ends
    /// none itself): ending a session is what makes chromedriver stop its
    /// Chromium, which runs in a process group of its own.
    sessions: std::sync::Mutex<Vec<String>>,
}

impl Driver {
    /// Starts chromedriver.
    pub async fn start() -> Self {
        let chromedriver = tool(
            "CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "run `cargo xtask setup` (it installs Debian's chromium and chromium-driver)",
        );
        // Checked here so that a missing browser is named, not a session error.
        tool(
            "CHROMIUM",
            "/usr/bin/chromium",
            "run `cargo xtask setup` (it installs Debian's chromium and chromium-driver)",
        );
        let port = free_port();
        let mut child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            "chromedriver",
            &mut child,
        )
        .await;
        Self {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            sessions: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A new browser with a profile of its own (its own local storage), as
    /// another person on another machine would have.
    pub async fn browser(&self, width: u32, height: u32) -> Client {
        self.browser_with_prefs(width, height, json!({})).await
    }

    /// [`Driver::browser`] with these Chromium preferences (the settings a
    /// person makes in the browser, such as its default font size).
    pub async fn browser_with_prefs(&self, width: u32, height: u32, prefs: Value) -> Client {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut args: Vec<String> = CHROMIUM_FLAGS
            .iter()
            .map(|flag| (*flag).to_owned())
            .collect();
        args.push(format!("--window-size={width},{height}"));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args, "prefs": prefs },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("a Chromium session from {}: {err}", self.url));
        if let Ok(Some(session)) = client.session_id().await {
            self.sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(session);
        }
        client
    }

    /// Ends a session with a plain blocking request, as `Drop` cannot wait
    /// for a future.
    fn end_session(&self, session: &str) {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return;
        }
        // Read the answer (chromedriver answers once Chromium has quit),
        // but not until the connection closes: chromedriver keeps it open.
        let mut answer = Vec::new();
        let mut chunk = [0; 1024];
        while let Ok(read) = stream.read(&mut chunk) {
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..read]);
            if response_complete(&answer) {
                break;
            }
        }
    }
}

/// Whether `answer` holds a whole HTTP response: its headers and as many
/// bytes of body as its `Content-Length` says.
fn response_complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() >= end + 4 + length
}

impl Drop for Driver {
    fn drop(&mut self) {
        let sessions = std::mem::take(
            &mut *self
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for session in sessions {
            self.end_session(&session);
        }
        // chromedriver itself goes with `kill_on_drop`.
    }
}

/// Polls `check` until it gives a value, or fails the test after [`WAIT`]
/// saying what it waited for.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// One person's chat page.
#[derive(Clone)]
pub struct Page {
    /// The browser.
    pub client: Client,
    /// Who uses it.
    pub name: String,
}

/// Key codes of the WebDriver protocol.
pub mod keys {
    /// Enter.
    pub const ENTER: &str = "\u{E007}";
    /// Shift (held until [`RELEASE`]).
    pub const SHIFT: &str = "\u{E008}";
    /// Releases held modifier keys.
    pub const RELEASE: &str = "\u{E000}";
}

impl Page {
    /// Opens `room` in a new browser and signs in there as `name` (one
    /// of [`PEOPLE`]) with the sign-in page a visitor sees; returns once
    /// the room is connected.
    pub async fn join(driver: &Driver, server: &Server, name: &str, room: &str) -> Self {
        Self::join_sized(driver, server, name, room, 1280, 880).await
    }

    /// Opens `room` in a new desktop browser at the sign-in page, for
    /// `name` to sign in.
    pub async fn first_visit(driver: &Driver, server: &Server, name: &str, room: &str) -> Self {
        let (width, height) = emulation::DESKTOP;
        Self::open_sized(driver, server, name, room, width, height).await
    }

    /// Opens `room` in a new browser of this size at the sign-in page.
    pub async fn open_sized(
        driver: &Driver,
        server: &Server,
        name: &str,
        room: &str,
        width: u32,
        height: u32,
    ) -> Self {
        let client = driver.browser(width, height).await;
        client
            .goto(&server.room_url(room))
            .await
            .expect("open the page");
        let page = Self {
            client,
            name: name.to_owned(),
        };
        page.wait_for("#username").await;
        page
    }

    /// [`Page::join`] in a window of this size.
    pub async fn join_sized(
        driver: &Driver,
        server: &Server,
        name: &str,
        room: &str,
        width: u32,
        height: u32,
    ) -> Self {
        let page = Self::open_sized(driver, server, name, room, width, height).await;
        page.sign_in().await;
        page
    }

    /// Fills the sign-in page with this page's person's username and
    /// password and presses Enter; waits until the chat is connected.
    pub async fn sign_in(&self) {
        self.sign_in_with(&accounts::username_of(&self.name), accounts::PASSWORD)
            .await;
        self.wait_for("textarea[aria-label='Message']").await;
        self.wait_until_connected().await;
    }

    /// Types `username` and `password` into the sign-in page and presses
    /// Enter.
    pub async fn sign_in_with(&self, username: &str, password: &str) {
        let field = self.wait_for("#username").await;
        field.clear().await.expect("clear the username");
        field.send_keys(username).await.expect("type the username");
        let field = self.find("#password").await;
        field.clear().await.expect("clear the password");
        field.send_keys(password).await.expect("type the password");
        field.send_keys(keys::ENTER).await.expect("press Enter");
    }

    /// The element matching `css`, waiting for it to appear.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{}: waited for {css}: {err}", self.name))
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_for_gone(&self, css: &str) {
        let what = format!("{}: {css} to go", self.name);
        eventually(&what, || async {
            self.client
                .find(Locator::Css(css))
                .await
                .is_err()
                .then_some(())
        })
        .await;
    }

    /// The element matching `css`, which must be there now.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{}: no {css}: {err}", self.name))
    }

    /// Runs `script` in the page and returns its JSON result.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("{}: running {script}: {err}", self.name))
    }

    /// Types `text` into the message box and presses Enter.
    pub async fn send(&self, text: &str) {
        let field = self.find("textarea[aria-label='Message']").await;
        field.send_keys(text).await.expect("type the message");
        field.send_keys(keys::ENTER).await.expect("press Enter");
    }

    /// The text of every message in the list, in order, pending ones too.
    pub async fn messages(&self) -> Vec<String> {
        let texts = self
            .eval(
                "return Array.from(document.querySelectorAll('[role=log] .msg-text'))\
                 .map(e => e.textContent)",
            )
            .await;
        serde_json::from_value(texts).expect("a list of strings")
    }

    /// How many messages of the list have exactly this text.
    pub async fn count(&self, text: &str) -> usize {
        self.messages().await.iter().filter(|m| *m == text).count()
    }

    /// Waits until a message with exactly this text is in the list.
    pub async fn wait_for_message(&self, text: &str) {
        let what = format!("{} to see the message {text:?}", self.name);
        eventually(&what, || async {
            self.messages()
                .await
                .iter()
                .any(|m| m == text)
                .then_some(())
        })
        .await;
    }

    /// The words of the connection status (`role="status"`).
    pub async fn status(&self) -> String {
        let status = self.eval(
            "const s = document.querySelector('[role=status]'); return s ? s.textContent : ''",
        );
        status.await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the status says `words`.
    pub async fn wait_for_status(&self, words: &str) {
        let what = format!("{}'s status to say {words:?}", self.name);
        eventually(&what, || async {
            self.status().await.contains(words).then_some(())
        })
        .await;
    }

    /// Waits until the page is connected.
    pub async fn wait_until_connected(&self) {
        self.wait_for_status("Connected").await;
    }

    /// The accessible name and role Chromium computes for the element
    /// matching `css`, as assistive technology gets them.
    pub async fn accessibility(&self, css: &str) -> (String, String) {
        let element = self.find(css).await;
        let id = element.element_id().to_string();
        let ask = |what: &'static str| Computed {
            element: id.clone(),
            what,
        };
        let label = self.client.issue_cmd(ask("computedlabel")).await;
        let role = self.client.issue_cmd(ask("computedrole")).await;
        let text = |value: Result<Value, fantoccini::error::CmdError>| {
            value
                .unwrap_or_else(|err| panic!("{}: computing for {css}: {err}", self.name))
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        (text(label), text(role))
    }

    /// Saves a PNG of the page.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("take a screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the screenshot's directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// WebDriver's "Get Computed Label" and "Get Computed Role".
#[derive(Debug)]
struct Computed {
    element: String,
    what: &'static str,
}

impl WebDriverCompatibleCommand for Computed {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!(
            "session/{session}/element/{}/{}",
            self.element, self.what
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::GET, None)
    }
}
