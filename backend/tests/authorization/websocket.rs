//! The WebSocket's cells: its upgrade with each caller's credential, and
//! each client frame after one, whose outcome is written as a number
//! beside the HTTP statuses ([`frame_outcome`]).

use super::support::accounts::{Api, Credential};
use super::support::{self, room_name, Client};
use common::{ClientFrame, ErrorCode, ServerFrame};
use serde_json::Value;

/// The client frames of the protocol, as rows of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frame {
    Join,
    Send,
    Typing,
    Leave,
}

/// The cell of a frame that was carried out: 101, as the upgrade's
/// "Switching Protocols" (the connection goes on as asked). Carried out
/// means: `joined` for a join, the sent `message` (its nonce echoed) for a
/// send, and for typing and leave, which have no answer, no error before
/// the answer to a bad frame sent after them (a connection handles its
/// frames in order).
pub(super) const CARRIED_OUT: u16 = 101;

/// The cell of a frame answered by an `error` frame: the HTTP status of
/// the same refusal over the API (401 `unauthenticated`, 403 `forbidden`,
/// `banned` and `muted`, 404 `not_found`, 429 `rate_limited`, 409
/// `not_joined`/`already_joined`/`archived`/`not_member`, 503
/// `unavailable`, 400 for the rest). A frame answered by the server
/// closing the connection is the close code (4001 when its session ended,
/// say): both are numbers the table can hold beside the HTTP ones.
fn error_outcome(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::Unauthenticated => 401,
        ErrorCode::Forbidden | ErrorCode::Banned | ErrorCode::Muted => 403,
        ErrorCode::NotFound => 404,
        ErrorCode::RateLimited => 429,
        ErrorCode::NotJoined
        | ErrorCode::AlreadyJoined
        | ErrorCode::Archived
        | ErrorCode::NotMember => 409,
        ErrorCode::Unavailable => 503,
        _ => 400,
    }
}

/// The request headers of `caller`'s credential on a WebSocket upgrade.
fn upgrade_headers(caller: &Api) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if let Some(origin) = &caller.origin {
        headers.push(("origin", origin.clone()));
    }
    match &caller.credential {
        Credential::None => {}
        Credential::Cookie(token) => headers.push(("cookie", format!("chat_session={token}"))),
        Credential::Bearer(token) => headers.push(("authorization", format!("Bearer {token}"))),
    }
    headers
}

/// A WebSocket of `caller`'s, or the upgrade's refusal (its status and
/// body).
async fn connect(caller: &Api) -> Result<Client, (u16, String)> {
    let url = format!("ws://{}/ws", caller.addr);
    let headers = upgrade_headers(caller);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    Client::try_connect(&url, &headers).await
}

/// The cell of a WebSocket row for `caller`, as [`Via::WebSocket`] says,
/// with what explains it (the refusal's body, or the frame that answered).
pub(super) async fn websocket_answer(
    frame: Option<Frame>,
    caller: &Api,
    label: &str,
) -> (u16, Value) {
    let mut client = match connect(caller).await {
        Ok(client) => client,
        Err((status, body)) => return (status, Value::String(body)),
    };
    let Some(frame) = frame else {
        return (CARRIED_OUT, Value::Null);
    };
    let lobby = room_name("lobby");
    if frame != Frame::Join {
        client.join("lobby").await;
    }
    let nonce = format!("ws-{label}");
    let sent = match frame {
        Frame::Join => ClientFrame::Join {
            room: lobby,
            since: None,
        },
        Frame::Send => ClientFrame::Send {
            room: lobby,
            text: common::MessageText::parse("hello over the socket").expect("valid text"),
            nonce: Some(common::Nonce::parse(&nonce).expect("valid nonce")),
        },
        Frame::Typing => ClientFrame::Typing { room: lobby },
        Frame::Leave => ClientFrame::Leave { room: lobby },
    };
    client.send(&sent).await;
    if matches!(frame, Frame::Typing | Frame::Leave) {
        // No answer when carried out: the answer to a bad frame sent next
        // comes first then.
        client.send_text("{}").await;
    }
    let outcome = frame_outcome(&mut client, frame, &nonce).await;
    let _ = client.ws.close(None).await;
    outcome
}

/// The outcome of a `join` of `room` with `since: 0` on a WebSocket of
/// `caller`'s: [`CARRIED_OUT`], or the error's [`error_outcome`].
pub(super) async fn websocket_join_since(caller: &Api, room: &str) -> u16 {
    let mut client = match connect(caller).await {
        Ok(client) => client,
        Err((status, _)) => return status,
    };
    client
        .send(&ClientFrame::Join {
            room: room_name(room),
            since: Some(0),
        })
        .await;
    let (outcome, _) = frame_outcome(&mut client, Frame::Join, "").await;
    let _ = client.ws.close(None).await;
    outcome
}

/// What answered `frame` on `client`: [`CARRIED_OUT`], an error's
/// [`error_outcome`], or the close code of a closed connection. Others'
/// presence changes and messages are not answers, and are skipped.
async fn frame_outcome(client: &mut Client, frame: Frame, nonce: &str) -> (u16, Value) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let next = tokio::time::timeout(support::FRAME_TIMEOUT, client.ws.next())
            .await
            .expect("the frame is answered in time");
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                let code = close.map_or(1005, |close| u16::from(close.code));
                return (code, Value::String("closed".into()));
            }
            Some(Ok(_)) => continue,
            other => return (1006, Value::String(format!("{other:?}"))),
        };
        let answer = ServerFrame::decode(&text).expect("the server sends valid frames");
        let explained = Value::String(text.to_string());
        match (frame, answer) {
            (Frame::Join, ServerFrame::Joined { .. }) => return (CARRIED_OUT, explained),
            (Frame::Send, ServerFrame::Message(message))
                if message.nonce.as_ref().map(|n| n.as_str()) == Some(nonce) =>
            {
                return (CARRIED_OUT, explained)
            }
            (Frame::Typing | Frame::Leave, ServerFrame::Error(error))
                if error.code == ErrorCode::BadRequest && error.room.is_none() =>
            {
                return (CARRIED_OUT, explained)
            }
            (_, ServerFrame::Error(error)) => return (error_outcome(error.code), explained),
            (_, ServerFrame::Presence { .. } | ServerFrame::Message(_)) => continue,
            (_, _) => return (0, explained),
        }
    }
}
