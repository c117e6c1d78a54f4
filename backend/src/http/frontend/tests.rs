//! The embedded client's answers, from a table of assets like the one
//! `build.rs` generates.

use super::*;
use axum::body::to_bytes;

static TEST_ASSETS: &[Asset] = &[
    Asset {
        path: "/app-1a2b3c4d5e6f7a8b.js",
        content_type: "text/javascript; charset=utf-8",
        etag: "\"js-etag\"",
        identity: b"console.log('plain')",
        gzip: Some(b"GZIP-BYTES"),
        brotli: Some(b"BROTLI-BYTES"),
    },
    Asset {
        path: "/app-1a2b3c4d5e6f7a8b_bg.wasm",
        content_type: "application/wasm",
        etag: "\"wasm-etag\"",
        identity: b"\0asm",
        gzip: Some(b"GZ-WASM"),
        brotli: None,
    },
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        etag: "\"index-etag\"",
        identity: b"<!doctype html><title>chat</title>",
        gzip: None,
        brotli: None,
    },
];

fn request(path: &str, headers: &[(&'static str, &'static str)]) -> Response {
    request_with(&Method::GET, path, headers)
}

fn request_with(method: &Method, path: &str, headers: &[(&'static str, &'static str)]) -> Response {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, HeaderValue::from_static(value));
    }
    serve_embedded(TEST_ASSETS, method, path, &map)
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

async fn body(response: Response) -> Vec<u8> {
    to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("read body")
        .to_vec()
}

#[test]
fn the_test_table_is_sorted_like_the_generated_one() {
    assert!(TEST_ASSETS
        .windows(2)
        .all(|pair| pair[0].path < pair[1].path));
}

#[tokio::test]
async fn the_root_is_index_html_revalidated_every_time() {
    let response = request("/", &[("accept-encoding", "gzip, br")]);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&response, "cache-control"), Some(CACHE_REVALIDATE));
    assert_eq!(header(&response, "content-encoding"), None, "none stored");
    assert_eq!(header(&response, "etag"), Some("\"index-etag\""));
    assert_eq!(body(response).await, b"<!doctype html><title>chat</title>");
}

#[tokio::test]
async fn hashed_files_are_immutable_and_sent_in_the_best_accepted_encoding() {
    let js = "/app-1a2b3c4d5e6f7a8b.js";
    let brotli = request(js, &[("accept-encoding", "gzip, deflate, br, zstd")]);
    assert_eq!(header(&brotli, "cache-control"), Some(CACHE_IMMUTABLE));
    assert_eq!(header(&brotli, "content-encoding"), Some("br"));
    assert_eq!(header(&brotli, "vary"), Some("accept-encoding"));
    assert_eq!(header(&brotli, "etag"), Some("\"js-etag-br\""));
    assert_eq!(header(&brotli, "x-content-type-options"), Some("nosniff"));
    assert_eq!(body(brotli).await, b"BROTLI-BYTES");

    let gzip = request(js, &[("accept-encoding", "gzip;q=0.8, br;q=0")]);
    assert_eq!(header(&gzip, "content-encoding"), Some("gzip"));
    assert_eq!(header(&gzip, "etag"), Some("\"js-etag-gzip\""));
    assert_eq!(body(gzip).await, b"GZIP-BYTES");

    let plain = request(js, &[]);
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(
        header(&plain, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(body(plain).await, b"console.log('plain')");

    let any = request(js, &[("accept-encoding", "*")]);
    assert_eq!(header(&any, "content-encoding"), Some("br"));
    let refused = request(js, &[("accept-encoding", "identity, *;q=0")]);
    assert_eq!(header(&refused, "content-encoding"), None);

    let wasm = request(
        "/app-1a2b3c4d5e6f7a8b_bg.wasm",
        &[("accept-encoding", "br, gzip")],
    );
    assert_eq!(header(&wasm, "content-type"), Some("application/wasm"));
    assert_eq!(
        header(&wasm, "content-encoding"),
        Some("gzip"),
        "no brotli stored"
    );
}

#[tokio::test]
async fn an_unchanged_file_is_a_304() {
    let not_modified = request(
        "/index.html",
        &[("if-none-match", "\"other\", \"index-etag\"")],
    );
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&not_modified, "etag"), Some("\"index-etag\""));
    assert_eq!(
        header(&not_modified, "cache-control"),
        Some(CACHE_REVALIDATE)
    );
    assert!(body(not_modified).await.is_empty());

    // The tag of another encoding is another representation.
    let js = "/app-1a2b3c4d5e6f7a8b.js";
    let changed = request(
        js,
        &[
            ("accept-encoding", "gzip"),
            ("if-none-match", "\"js-etag-br\""),
        ],
    );
    assert_eq!(changed.status(), StatusCode::OK);
    let same = request(
        js,
        &[
            ("accept-encoding", "gzip"),
            ("if-none-match", "W/\"js-etag-gzip\""),
        ],
    );
    assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn only_the_embedded_files_exist() {
    for path in [
        "/missing.js",
        "/../index.html",
        "/%2e%2e/index.html",
        "//index.html",
        "/index.html/",
        "/INDEX.HTML",
        "/r/lobby",
    ] {
        let response = request(path, &[]);
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn head_has_the_headers_of_get_and_other_methods_are_refused() {
    let head = request_with(&Method::HEAD, "/index.html", &[]);
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let post = request_with(&Method::POST, "/index.html", &[]);
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&post, "allow"), Some("GET, HEAD"));
}

#[test]
fn trunk_hashed_names_are_recognized() {
    for hashed in [
        "/frontend-896e0e5177f19bf.js",
        "/frontend-21a3abbbf5c4f5da_bg.wasm",
        "/style-9c6c40dbaa65065b.css",
        "/snippets/x/inline0-0123456789abcdef.js",
    ] {
        assert!(is_content_hashed(hashed), "{hashed}");
        assert_eq!(cache_control(hashed), CACHE_IMMUTABLE);
    }
    for plain in [
        "/",
        "/index.html",
        "/favicon.ico",
        "/my-app.js",
        "/app-deadbeefxx.js",
        "/frontend-abc.js",
        "/noextension-0123456789abcdef",
    ] {
        assert!(!is_content_hashed(plain), "{plain}");
        assert_eq!(cache_control(plain), CACHE_REVALIDATE);
    }
}
