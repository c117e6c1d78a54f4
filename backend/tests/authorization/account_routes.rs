//! The rows of the accounts' routes, the WebSocket's and the server's, in
//! the order they run (each caller keeps its credential to the end).

use super::websocket::Frame;
use super::{none, Row, Via};
use serde_json::json;

/// The rows of the accounts' routes, the WebSocket's and the server's.
pub(super) fn rows() -> Vec<Row> {
    vec![
        Row {
            via: Via::Http("GET"),
            route: "/api/server",
            path: |_| "/api/server".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/setup",
            path: |_| "/api/setup".into(),
            body: |_| {
                Some(json!({
                    "token": "0000000000000000000000000000000000000000000",
                    "username": "intruder",
                    "display_name": "Intruder",
                    "password": "intruder-password",
                }))
            },
            // The setup is done: no link works. A script (no Origin) is
            // refused before that.
            expect: [410, 410, 410, 410, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/session",
            path: |_| "/api/session".into(),
            body: |_| Some(json!({"username": "nobody", "password": "wrong-password"})),
            expect: [401, 401, 401, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/signup",
            path: |_| "/api/signup".into(),
            body: |_| {
                Some(json!({
                    "username": "newcomer",
                    "display_name": "Newcomer",
                    "password": "newcomer-password",
                }))
            },
            // `--signup invite` without an invite.
            expect: [403, 403, 403, 403, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/password-reset",
            path: |_| "/api/password-reset".into(),
            body: |_| {
                Some(json!({
                    "token": "0000000000000000000000000000000000000000000",
                    "password": "a-new-password",
                }))
            },
            expect: [410, 410, 410, 410, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/me",
            path: |_| "/api/me".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("PATCH"),
            route: "/api/me",
            path: |_| "/api/me".into(),
            body: |caller| Some(json!({"display_name": format!("{caller} renamed")})),
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/me/password",
            path: |_| "/api/me/password".into(),
            body: |caller| {
                Some(json!({
                    "current_password": format!("{caller}-password"),
                    "new_password": format!("{caller}-password"),
                }))
            },
            expect: [401, 204, 204, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/me/sessions",
            path: |_| "/api/me/sessions".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/me/sessions/{id}",
            path: |_| "/api/me/sessions/999999".into(),
            body: none,
            expect: [401, 404, 404, 401, 404],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/me/tokens",
            path: |_| "/api/me/tokens".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/me/tokens",
            path: |_| "/api/me/tokens".into(),
            body: |_| Some(json!({"name": "mine"})),
            expect: [401, 201, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/me/tokens/{id}",
            path: |_| "/api/me/tokens/999999".into(),
            body: none,
            expect: [401, 404, 404, 401, 404],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/accounts",
            path: |_| "/api/admin/accounts".into(),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/accounts",
            path: |_| "/api/admin/accounts".into(),
            body: |caller| {
                Some(json!({
                    "username": format!("made-by-{caller}"),
                    "display_name": "Made",
                    "kind": "person",
                    "role": "member",
                    "password": "made-password",
                }))
            },
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("PATCH"),
            route: "/api/admin/accounts/{id}",
            path: |ids| format!("/api/admin/accounts/{}", ids.target),
            body: |_| Some(json!({"role": "member"})),
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/accounts/{id}/reset-link",
            path: |ids| format!("/api/admin/accounts/{}/reset-link", ids.target),
            body: |_| Some(json!({})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/accounts/{id}/tokens",
            path: |ids| format!("/api/admin/accounts/{}/tokens", ids.bot),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/accounts/{id}/tokens",
            path: |ids| format!("/api/admin/accounts/{}/tokens", ids.bot),
            body: |_| Some(json!({"name": "another"})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/admin/accounts/{id}/tokens/{token}",
            path: |ids| format!("/api/admin/accounts/{}/tokens/999999", ids.bot),
            body: none,
            expect: [401, 403, 404, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/invites",
            path: |_| "/api/admin/invites".into(),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/admin/invites",
            path: |_| "/api/admin/invites".into(),
            body: |_| Some(json!({"max_uses": 1})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/admin/invites/{id}",
            path: |_| "/api/admin/invites/999999".into(),
            body: none,
            expect: [401, 403, 404, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms",
            path: |_| "/api/rooms".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms/{room}/messages",
            path: |_| "/api/rooms/lobby/messages".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/messages",
            path: |_| "/api/rooms/lobby/messages".into(),
            body: |caller| Some(json!({"text": "hello", "nonce": format!("n-{caller}")})),
            expect: [401, 201, 201, 401, 201],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/openapi.json",
            path: |_| "/api/openapi.json".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/healthz",
            path: |_| "/healthz".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/metrics",
            path: |_| "/metrics".into(),
            body: none,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            via: Via::WebSocket(None),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Join)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Send)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Typing)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
        Row {
            via: Via::WebSocket(Some(Frame::Leave)),
            route: "/ws",
            path: |_| "/ws".into(),
            body: none,
            expect: [401, 101, 101, 401, 101],
        },
    ]
}
