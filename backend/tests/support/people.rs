//! People with passwords and sessions, for the tests of what sessions do
//! to WebSockets: the server's reader (an administrator bot, see
//! [`super::accounts`]) makes them, they sign in over the API
//! (`POST /api/session`, a real session), and open WebSockets with the
//! session's cookie, as a browser does, or with its token as the bearer.

use super::accounts::{reader_token, Api, Credential};
use super::Client;
use serde_json::json;
use std::net::SocketAddr;

/// The password of every person of these tests.
pub const PASSWORD: &str = "person-password";

/// The API client of the reader of the server at `addr`: an administrator.
pub fn admin(addr: SocketAddr) -> Api {
    let token = reader_token(addr).expect("the server has a reader");
    Api::new(addr).with_bearer(&token)
}

/// A person called `display_name` (username from it, see
/// [`super::accounts::username_for`]) with [`PASSWORD`], made by `admin`;
/// returns the account's id.
pub async fn make_person(admin: &Api, display_name: &str) -> u64 {
    let made = admin
        .post(
            "/api/admin/accounts",
            &json!({
                "username": super::accounts::username_for(display_name),
                "display_name": display_name,
                "kind": "person",
                "role": "member",
                "password": PASSWORD,
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    made.u64("/id")
}

/// A new session of the person called `display_name`, signed in at `addr`.
pub async fn sign_in(addr: SocketAddr, display_name: &str) -> Api {
    Api::new(addr)
        .sign_in(&super::accounts::username_for(display_name), PASSWORD)
        .await
        .expect("signs in")
}

/// The session token of a signed-in client.
pub fn session_token(session: &Api) -> String {
    match &session.credential {
        Credential::Cookie(token) => token.clone(),
        other => panic!("not a session: {other:?}"),
    }
}

/// How a WebSocket upgrade carries a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// The session cookie, with the server's own `Origin` (a browser).
    Cookie,
    /// `Authorization: Bearer <token>` (a script).
    Bearer,
}

/// Opens a WebSocket to the server at `addr` with `token` carried as
/// `carry` says; a refused upgrade gives its status and body.
pub async fn try_open(
    addr: SocketAddr,
    token: &str,
    carry: Carry,
) -> Result<Client, (u16, String)> {
    let url = format!("ws://{addr}/ws");
    let origin = format!("http://{addr}");
    match carry {
        Carry::Cookie => {
            let cookie = format!("chat_session={token}");
            Client::try_connect(&url, &[("origin", &origin), ("cookie", &cookie)]).await
        }
        Carry::Bearer => {
            let bearer = format!("Bearer {token}");
            Client::try_connect(&url, &[("authorization", &bearer)]).await
        }
    }
}

/// Like [`try_open`]; fails the test if the upgrade is refused.
pub async fn open(addr: SocketAddr, token: &str, carry: Carry) -> Client {
    match try_open(addr, token, carry).await {
        Ok(client) => client,
        Err((status, body)) => panic!("WebSocket upgrade refused: {status} {body}"),
    }
}

/// Asserts that an upgrade with `token` is refused with 401.
pub async fn assert_refused(addr: SocketAddr, token: &str, carry: Carry) {
    match try_open(addr, token, carry).await {
        Ok(_) => panic!("the upgrade with an ended credential was accepted"),
        Err((status, body)) => assert_eq!(status, 401, "{body}"),
    }
}
