//! The deployment artifact: the release `chat-server` alone, started in a
//! directory that holds nothing else, serves the whole web client from
//! inside itself, compressed and with the right caching.

mod support;

use std::collections::HashMap;
use support::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response read off the socket, as sent.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// `GET {path}` over a raw socket (so that nothing normalizes the path),
/// with extra request headers.
async fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        server.addr
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("the end of the headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[tokio::test]
async fn the_binary_alone_serves_the_whole_client_compressed_and_cached() {
    let server = Server::start_empty(&[]).await;
    let entries: Vec<String> = std::fs::read_dir(server.dir.path())
        .expect("list the directory")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        entries.iter().all(|name| name.starts_with("chat.db")
            || name == "server.log"
            || name == "stdout.log"),
        "the server runs from a directory with nothing but its database: {entries:?}"
    );

    // index.html: not cached without asking, compressed, with a validator.
    let index = get(&server, "/", &[("Accept-Encoding", "gzip, deflate, br")]).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert_eq!(index.header("content-encoding"), Some("br"));
    assert_eq!(index.header("vary"), Some("accept-encoding"));
    let etag = index.header("etag").expect("an ETag").to_owned();
    let again = get(
        &server,
        "/",
        &[
            ("Accept-Encoding", "gzip, deflate, br"),
            ("If-None-Match", &etag),
        ],
    )
    .await;
    assert_eq!(
        again.status, 304,
        "an unchanged index.html is not sent again"
    );
    assert!(again.body.is_empty());

    // The page names its hashed script and WebAssembly.
    let plain = get(&server, "/index.html", &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    let page = String::from_utf8(plain.body).expect("UTF-8");
    let find = |suffix: &str| {
        page.split(['"', '\''])
            .find(|part| part.starts_with('/') && part.ends_with(suffix))
            .unwrap_or_else(|| panic!("index.html names no {suffix} file: {page}"))
            .to_owned()
    };
    let script = find(".js");
    let wasm = find("_bg.wasm");
    let style = find(".css");

    for (path, content_type) in [
        (&script, "text/javascript; charset=utf-8"),
        (&wasm, "application/wasm"),
        (&style, "text/css; charset=utf-8"),
    ] {
        let brotli = get(&server, path, &[("Accept-Encoding", "br, gzip")]).await;
        assert_eq!(brotli.status, 200, "{path}");
        assert_eq!(brotli.header("content-type"), Some(content_type), "{path}");
        assert_eq!(
            brotli.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        assert_eq!(brotli.header("content-encoding"), Some("br"), "{path}");
        let gzip = get(&server, path, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(gzip.header("content-encoding"), Some("gzip"), "{path}");
        assert!(
            gzip.body.starts_with(&[0x1f, 0x8b]),
            "{path}: a gzip stream"
        );
        let identity = get(&server, path, &[]).await;
        assert_eq!(identity.header("content-encoding"), None, "{path}");
        assert!(
            brotli.body.len() < identity.body.len() && gzip.body.len() < identity.body.len(),
            "{path}: compressed forms are smaller"
        );
        if path.ends_with(".wasm") {
            assert!(identity.body.starts_with(b"\0asm"), "a WebAssembly module");
        }
    }

    // Nothing else: no directory walking, no other files.
    for path in [
        "/missing.js",
        "/../chat.db",
        "/%2e%2e/chat.db",
        "/..%2fchat.db",
        "/chat.db",
        "/server.log",
    ] {
        let answer = get(&server, path, &[]).await;
        assert!(
            answer.status == 404 || answer.status == 400,
            "{path} gave {}",
            answer.status
        );
    }
    // The API and the WebSocket path are the server's, not the client's:
    // the room list asks for a caller rather than serving the page.
    assert_eq!(get(&server, "/api/rooms", &[]).await.status, 401);
    assert_eq!(get(&server, "/healthz", &[]).await.status, 200);
}
