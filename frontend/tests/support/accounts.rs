//! Accounts for the browser tests, made as an operator and an
//! administrator make them: `chat-server admin create-user` on the test's
//! database before the server starts (the command cannot open a SQLite
//! file the running server holds), and the HTTP API of the running server
//! for what an administrator does later (invites, deactivating), over
//! plain HTTP/1.1 on a real TCP connection, with the session cookie and
//! the `Origin` a page of the server sends.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The password of every account the tests make (long enough for the
/// server's rules).
pub const PASSWORD: &str = "correct horse battery staple";

/// The username of the person the tests call `name` ("Ann" is `ann`).
pub fn username_of(name: &str) -> String {
    name.to_lowercase()
}

/// Makes the account `name` (username [`username_of`], display name
/// `name`, password [`PASSWORD`]) in the SQLite database `db`, as the
/// operator's shell does.
pub fn create_user(binary: &Path, dir: &Path, name: &str, admin: bool) {
    let username = username_of(name);
    let mut command = std::process::Command::new(binary);
    command
        .current_dir(dir)
        .args(["admin", "--db", "chat.db", "create-user"])
        .args(["--username", &username, "--display-name", name]);
    if admin {
        command.arg("--admin");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chat-server admin create-user");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{PASSWORD}").expect("give the password");
    }
    let out = child.wait_with_output().expect("wait for create-user");
    assert!(
        out.status.success(),
        "create-user {username} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An answer of the HTTP API.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `chat_session` cookie it set, as `chat_session=<value>`.
    pub cookie: Option<String>,
    /// The body, as JSON (`null` when empty or not JSON).
    pub body: Value,
}

/// One request to the server at `addr`, as a page of it would send it.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(cookie) = cookie {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {head:?}"));
    let cookie = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.eq_ignore_ascii_case("set-cookie") {
            return None;
        }
        let pair = value.trim().split(';').next()?.to_owned();
        pair.starts_with("chat_session=").then_some(pair)
    });
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body_text = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Answer {
        status,
        cookie,
        body: serde_json::from_str(&body_text).unwrap_or(Value::Null),
    }
}

/// The body of a chunked answer.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

/// Signs `name` in over HTTP; returns the session cookie.
pub async fn sign_in(addr: SocketAddr, name: &str) -> String {
    let body = json!({ "username": username_of(name), "password": PASSWORD });
    let answer = request(addr, "POST", "/api/session", None, Some(&body)).await;
    assert_eq!(answer.status, 200, "signing {name} in: {answer:?}");
    answer.cookie.expect("a session cookie")
}

/// The user id of the account of the session `cookie`.
pub async fn user_id(addr: SocketAddr, cookie: &str) -> u64 {
    let answer = request(addr, "GET", "/api/me", Some(cookie), None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["id"].as_u64().expect("an id")
}

/// A new invite link's token, made by the administrator of `cookie`.
pub async fn create_invite(addr: SocketAddr, cookie: &str) -> String {
    let body = json!({ "max_uses": 1 });
    let answer = request(
        addr,
        "POST",
        "/api/admin/invites",
        Some(cookie),
        Some(&body),
    )
    .await;
    assert_eq!(answer.status, 201, "creating an invite: {answer:?}");
    let link = answer.body["link"].as_str().expect("a link");
    link.rsplit_once("#/invite/")
        .map(|(_, token)| token.to_owned())
        .unwrap_or_else(|| panic!("an invite link: {link}"))
}

/// Deactivates the account `user` as the administrator of `cookie`.
pub async fn deactivate(addr: SocketAddr, cookie: &str, user: u64) {
    let body = json!({ "state": "deactivated" });
    let path = format!("/api/admin/accounts/{user}");
    let answer = request(addr, "PATCH", &path, Some(cookie), Some(&body)).await;
    assert_eq!(answer.status, 200, "deactivating {user}: {answer:?}");
}
