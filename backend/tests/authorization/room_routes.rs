//! The rooms' routes as rows of the main table: each asked about `lobby`,
//! a public room of `target`'s with `victim` in it, by the five kinds of
//! caller. The rows run in order, so a row may count on the ones before
//! it: the member, the administrator and the bot join `lobby` before they
//! add, read and leave, and `victim` is made a moderator before being
//! muted and removed. What each kind of member of each kind of room may
//! do is the other table's (room_roles.rs).

use super::{none, Row, Via};
use serde_json::json;

/// The rows, in the order they run.
pub(super) fn rows() -> Vec<Row> {
    vec![
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms",
            path: |_| "/api/rooms".into(),
            body: |caller| Some(json!({"room": format!("made-by-{caller}"), "kind": "public"})),
            expect: [401, 201, 201, 401, 201],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms/{room}",
            path: |_| "/api/rooms/lobby".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("PATCH"),
            route: "/api/rooms/{room}",
            path: |_| "/api/rooms/lobby".into(),
            body: |caller| Some(json!({"topic": format!("set by {caller}")})),
            // Its owner or an administrator.
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/join",
            path: |_| "/api/rooms/lobby/join".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms/{room}/members",
            path: |_| "/api/rooms/lobby/members".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/members",
            path: |_| "/api/rooms/lobby/members".into(),
            body: |_| Some(json!({"username": "victim"})),
            // A member already: 200, nothing changed.
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("PUT"),
            route: "/api/rooms/{room}/members/{user}/role",
            path: |ids| format!("/api/rooms/lobby/members/{}/role", ids.victim),
            body: |_| Some(json!({"role": "moderator"})),
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("PUT"),
            route: "/api/rooms/{room}/members/{user}/mute",
            path: |ids| format!("/api/rooms/lobby/members/{}/mute", ids.victim),
            body: |_| Some(json!({"minutes": 5})),
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/rooms/{room}/members/{user}/mute",
            path: |ids| format!("/api/rooms/lobby/members/{}/mute", ids.victim),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/rooms/{room}/bans",
            path: |_| "/api/rooms/lobby/bans".into(),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/bans",
            path: |_| "/api/rooms/lobby/bans".into(),
            body: |_| Some(json!({"username": "outcast"})),
            expect: [401, 403, 201, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/rooms/{room}/bans/{user}",
            path: |ids| format!("/api/rooms/lobby/bans/{}", ids.outcast),
            body: none,
            expect: [401, 403, 204, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/read",
            path: |_| "/api/rooms/lobby/read".into(),
            body: |_| Some(json!({"up_to": 1})),
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/me/read-all",
            path: |_| "/api/me/read-all".into(),
            body: none,
            expect: [401, 200, 200, 401, 200],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/direct",
            path: |_| "/api/direct".into(),
            body: |_| Some(json!({"people": ["target"]})),
            expect: [401, 201, 201, 401, 201],
        },
        Row {
            via: Via::Http("GET"),
            route: "/api/admin/audit",
            path: |_| "/api/admin/audit".into(),
            body: none,
            expect: [401, 403, 200, 401, 403],
        },
        Row {
            via: Via::Http("DELETE"),
            route: "/api/rooms/{room}/members/{user}",
            path: |ids| format!("/api/rooms/lobby/members/{}", ids.victim),
            body: none,
            // The administrator removes the moderator; the bot, a member,
            // may not.
            expect: [401, 403, 204, 401, 403],
        },
        Row {
            via: Via::Http("POST"),
            route: "/api/rooms/{room}/leave",
            path: |_| "/api/rooms/lobby/leave".into(),
            body: none,
            expect: [401, 204, 204, 401, 204],
        },
    ]
}
