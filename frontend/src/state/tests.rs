//! Whole conversations driven through the reducer: what is shown and what
//! is sent, across reconnects. Here are the people, rooms and frames the
//! tests are made of; the tests are one file per concern in `tests/`.

use super::*;
use crate::outbox::PendingState;
use common::api::MessagePage;
use common::{
    ChatMessage, CloseCode, DisplayName, ErrorCode, MessageId, MessageText, Nonce, Person,
    ServerFrame, UserId,
};

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

fn dname(name: &str) -> DisplayName {
    DisplayName::parse(name).expect("valid name")
}

/// The account of each name of these tests: Ann is 1, Bob 2, Cy 3, Di 4,
/// anyone else 9.
fn id_of(name: &str) -> UserId {
    match name {
        "Ann" => 1,
        "Bob" => 2,
        "Cy" => 3,
        "Di" => 4,
        _ => 9,
    }
}

fn person(name: &str) -> Person {
    Person {
        user_id: id_of(name),
        username: common::Username::parse(name.to_lowercase()).expect("valid username"),
        display_name: dname(name),
    }
}

fn text(t: &str) -> MessageText {
    MessageText::parse(t).expect("valid text")
}

fn nonce(n: &str) -> Nonce {
    Nonce::parse(n).expect("valid nonce")
}

fn message(
    room_name: &str,
    id: MessageId,
    author: &str,
    body: &str,
    n: Option<&str>,
) -> ChatMessage {
    ChatMessage {
        room: room(room_name),
        id,
        name: dname(author),
        user_id: Some(id_of(author)),
        username: Some(person(author).username),
        text: text(body),
        ts: 1_700_000_000_000 + id,
        nonce: n.map(nonce),
    }
}

fn joined(room_name: &str, me: &str, history: Vec<ChatMessage>, has_older: bool) -> Incoming {
    Incoming::Frame(ServerFrame::Joined {
        room: room(room_name),
        you: person(me),
        members: vec![person(me), person("Bob")],
        history,
        has_older,
    })
}

fn live(m: ChatMessage) -> Incoming {
    Incoming::Frame(ServerFrame::Message(m))
}

/// Ann, with `rooms`, showing the first, connected on connection 1 and
/// joined everywhere with empty histories.
fn ann_in(rooms: &[&str]) -> Chat {
    let names = rooms.iter().map(|r| room(r)).collect();
    let mut chat = Chat::new(Some(person("Ann")), names, Some(room(rooms[0])));
    chat.connected(1);
    for r in rooms {
        chat.receive(joined(r, "Ann", vec![], false), 0.0);
    }
    chat
}

fn texts(chat: &Chat, room_name: &str) -> Vec<String> {
    chat.room(&room(room_name))
        .expect("room")
        .messages()
        .map(|m| m.text.to_string())
        .collect()
}

fn sent_nonces(frames: &[ClientFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            ClientFrame::Send { nonce, .. } => nonce.as_ref().map(|n| n.to_string()),
            _ => None,
        })
        .collect()
}

fn presence(joined: &[&str], left: &[&str]) -> Incoming {
    Incoming::Frame(ServerFrame::Presence {
        room: room("lobby"),
        joined: joined.iter().map(|n| person(n)).collect(),
        left: left.iter().map(|n| id_of(n)).collect(),
        updated: vec![],
    })
}

mod belonging;
mod decoding;
mod messages;
mod outbox;
mod people;
mod reconnect;
mod refusals;
mod rooms;
mod session;
mod typing;
