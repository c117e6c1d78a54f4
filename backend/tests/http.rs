//! The HTTP side: health, the web client (or the page saying how to build
//! it), and who may open a WebSocket.

mod support;

use support::{TempDb, TestServer};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test]
async fn healthz_answers_ok() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let response = reqwest::get(server.url("/healthz")).await.expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "ok\n");
    server.stop().await;
}

#[tokio::test]
async fn without_a_built_client_the_page_says_how_to_build_it() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let response = reqwest::get(server.url("/")).await.expect("GET");
    assert_eq!(response.status(), 503);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.expect("body");
    assert!(page.contains("cargo xtask run"), "{page}");
    assert!(page.contains("trunk build --release"), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn the_built_client_is_served_from_dist() {
    let db = TempDb::new();
    let dist = db.dir().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .expect("write");
    std::fs::write(dist.join("app.js"), "console.log(1)").expect("write");
    std::fs::write(db.dir().join("secret.txt"), "do not serve").expect("write");
    let server =
        TestServer::start_with(&db.path(), &["--dist", dist.to_str().expect("UTF-8")]).await;

    let index = reqwest::get(server.url("/")).await.expect("GET");
    assert_eq!(index.status(), 200);
    assert!(index
        .text()
        .await
        .expect("body")
        .contains("<title>chat</title>"));
    let script = reqwest::get(server.url("/app.js")).await.expect("GET");
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .contains("javascript"));
    // Sent over a raw socket: an HTTP client library would normalize the dots away.
    for path in [
        "/missing.js",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
    ] {
        let status = raw_get_status(&server, path).await;
        assert!(status == 404 || status == 400, "{path} gave {status}");
    }
    server.stop().await;
}

/// Sends `GET {path}` byte for byte and returns the response status.
async fn raw_get_status(server: &TestServer, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).expect("a status line");
    status.parse().expect("a numeric status")
}

#[tokio::test]
async fn a_plain_get_on_the_websocket_path_is_a_client_error() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path()).await;
    let response = reqwest::get(server.url("/ws")).await.expect("GET");
    assert!(response.status().is_client_error(), "{}", response.status());
    // And the server carries on.
    let mut client = server.connect_as("Ann").await;
    client.join("lobby").await;
    server.stop().await;
}

async fn handshake_with_origin(server: &TestServer, origin: &str) -> Result<u16, u16> {
    let bearer = server.bearer("Ann").await;
    let mut request = server.ws_url().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(origin).expect("header"));
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&bearer).expect("header"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => Ok(response.status().as_u16()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("unexpected handshake failure: {other}"),
    }
}

#[tokio::test]
async fn websockets_from_foreign_origins_are_refused() {
    let db = TempDb::new();
    let server =
        TestServer::start_with(&db.path(), &["--allowed-origin", "https://chat.example"]).await;
    let own = format!("http://{}", server.addr);
    assert_eq!(
        handshake_with_origin(&server, &own).await,
        Ok(101),
        "the server's own origin"
    );
    assert_eq!(
        handshake_with_origin(&server, "https://chat.example").await,
        Ok(101),
        "allowed"
    );
    assert_eq!(
        handshake_with_origin(&server, "https://evil.example").await,
        Err(403)
    );
    assert_eq!(
        handshake_with_origin(&server, "https://chat.example.evil").await,
        Err(403)
    );
    server.stop().await;
}
