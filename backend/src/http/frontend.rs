//! Serves the web client: the copy embedded in a release build of
//! `chat-server` (see `build.rs`), or the files of a directory (`--dist`,
//! and `dist` for builds that embed none). While there is no client, every
//! page says how to build it.
//!
//! Caching: trunk puts a hash of their content in the names of the scripts,
//! the WebAssembly and the styles, so those are cached for a year and never
//! revalidated ([`CACHE_IMMUTABLE`]); `index.html`, which names them, is
//! revalidated on every load ([`CACHE_REVALIDATE`]), with an `ETag` so that
//! an unchanged page costs a `304`. Embedded files are sent precompressed
//! (brotli or gzip, whichever the browser accepts), never compressed per
//! request.

use super::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_ENCODING, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    VARY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::path::Path;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// `Cache-Control` of files whose name holds a hash of their content.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else, `index.html` first: always ask
/// whether it changed (a `304` when it did not).
pub const CACHE_REVALIDATE: &str = "no-cache";
/// The directory served when the binary embeds no client and `--dist` is
/// not given: where `trunk build` writes it.
pub const DEFAULT_DIST: &str = "dist";

/// One file of the embedded client, in every encoding it is stored in.
#[derive(Debug)]
pub struct Asset {
    /// The URL path, like `/index.html`.
    pub path: &'static str,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// A strong `ETag` of the content (quoted), for the uncompressed form;
    /// compressed forms add a suffix, as they are other representations.
    pub etag: &'static str,
    /// The file as it is.
    pub identity: &'static [u8],
    /// Gzip-compressed, when that is clearly smaller.
    pub gzip: Option<&'static [u8]>,
    /// Brotli-compressed, when that is clearly smaller.
    pub brotli: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/frontend_assets.rs"));

/// Whether this binary embeds a web client.
pub fn embedded() -> bool {
    !ASSETS.is_empty()
}

/// Where the web client comes from, for the start-up log: `embedded`, or
/// the directory.
pub fn source(dist: Option<&Path>) -> String {
    match dist {
        Some(dist) => dist.display().to_string(),
        None if embedded() => "embedded".to_owned(),
        None => DEFAULT_DIST.to_owned(),
    }
}

/// Serves the request from the embedded client or from a directory.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    match &state.settings.dist {
        Some(dist) => serve_dir(dist, request).await,
        None if embedded() => serve_embedded(
            ASSETS,
            request.method(),
            request.uri().path(),
            request.headers(),
        ),
        None => serve_dir(Path::new(DEFAULT_DIST), request).await,
    }
}

/// Serves from `dist` on disk. `ServeDir` resolves paths safely: nothing
/// outside the directory can be read.
async fn serve_dir(dist: &Path, request: Request) -> Response {
    // Checked on each request so that building the client while the server
    // runs is enough; the check is one `stat`.
    let built = tokio::fs::metadata(dist.join("index.html"))
        .await
        .is_ok_and(|meta| meta.is_file());
    if !built {
        return missing_build(&dist.display().to_string());
    }
    let cache = cache_control(request.uri().path());
    let service = ServeDir::new(dist).precompressed_br().precompressed_gzip();
    let mut response = match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    response
}

/// Answers a request from `assets` (sorted by path). Only exact paths
/// match, so no request can reach anything but these files.
pub fn serve_embedded(
    assets: &[Asset],
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(ALLOW, HeaderValue::from_static("GET, HEAD"))],
        )
            .into_response();
    }
    let path = if path == "/" { "/index.html" } else { path };
    let Ok(index) = assets.binary_search_by(|asset| asset.path.cmp(path)) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let asset = &assets[index];
    let accepted = |encoding: &str| accepts_encoding(headers, encoding);
    let (body, encoding) = match (asset.brotli, asset.gzip) {
        (Some(brotli), _) if accepted("br") => (brotli, Some("br")),
        (_, Some(gzip)) if accepted("gzip") => (gzip, Some("gzip")),
        _ => (asset.identity, None),
    };
    let etag = match encoding {
        // A quoted tag: the suffix goes inside the quotes.
        Some(encoding) => format!("{}-{encoding}\"", asset.etag.trim_end_matches('"')),
        None => asset.etag.to_owned(),
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(cache_control(asset.path)),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(ETAG, value);
    }
    response_headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if none_match(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    response_headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    response_headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(encoding) = encoding {
        response_headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    // For HEAD, hyper sends these headers, the length included, and no body.
    (StatusCode::OK, response_headers, Body::from(body)).into_response()
}

/// The `Cache-Control` of a path: a year for files named by their hash.
pub fn cache_control(path: &str) -> &'static str {
    if is_content_hashed(path) {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    }
}

/// Whether the file name carries trunk's content hash: `name-<hex>.ext`,
/// or `name-<hex>_bg.wasm` for the WebAssembly. Trunk writes the hash as
/// hexadecimal without leading zeros, so it may be shorter than 16 digits.
pub fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, _extension)) = name.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `Accept-Encoding` accepts `encoding` (with a weight above 0,
/// named or through `*`).
fn accepts_encoding(headers: &HeaderMap, encoding: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(|param| {
                    let (key, value) = param.split_once('=')?;
                    (key.trim().eq_ignore_ascii_case("q"))
                        .then(|| value.trim().parse::<f32>().ok())?
                })
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(encoding) {
                named = Some(weight > 0.0);
            } else if name == "*" {
                any = Some(weight > 0.0);
            }
        }
    }
    named.or(any).unwrap_or(false)
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
            })
        })
    })
}

fn missing_build(dist: &str) -> Response {
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chat: the web client is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web client is not built yet</h1>
<p>The chat server is running, but this binary embeds no web client and it found none in
<code>{dist}</code>.</p>
<p>From the repository root, run <code>cargo xtask run</code> to build everything and start the
server (its release build embeds the client), or build only the client with
<code>trunk build --release</code> and reload this page. Start the server with
<code>--dist &lt;directory&gt;</code> to serve a client built elsewhere.</p>
<p>The WebSocket endpoint <code>/ws</code> and the API under <code>/api</code> work meanwhile.</p>
</body>
</html>
"#,
        dist = escape_html(dist)
    );
    (StatusCode::SERVICE_UNAVAILABLE, Html(page)).into_response()
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests;
