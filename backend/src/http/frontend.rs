//! Serves the built web client from the `--dist` directory, or, while it is
//! not built, a page that says how to build it.

use super::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Serves the request from the frontend directory. `ServeDir` resolves
/// paths safely: nothing outside the directory can be read.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let dist = &state.settings.dist;
    // Checked on each request so that building the client while the server
    // runs is enough; the check is one `stat`.
    let built = tokio::fs::metadata(dist.join("index.html"))
        .await
        .is_ok_and(|meta| meta.is_file());
    if !built {
        return missing_build(&dist.display().to_string());
    }
    match ServeDir::new(dist).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

fn missing_build(dist: &str) -> Response {
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chat: the web client is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web client is not built yet</h1>
<p>The chat server is running, but it found no web client in <code>{dist}</code>.</p>
<p>From the repository root, run <code>cargo xtask run</code> to build everything and start the
server, or build only the client with <code>trunk build --release</code> and reload this page.
Start the server with <code>--dist &lt;directory&gt;</code> to serve a client built elsewhere.</p>
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
