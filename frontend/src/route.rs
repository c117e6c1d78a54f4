//! The room in the page's address: `#/r/lobby` shows the room `lobby`, so a
//! link opens that room. The fragment is never sent to the server, so one
//! `index.html` serves every room.

use common::RoomName;

/// The prefix of a room's fragment, after the `#`.
const ROOM_PREFIX: &str = "/r/";

/// The room a location fragment names (with or without its leading `#`),
/// if it names a valid one.
pub fn room_from_hash(hash: &str) -> Option<RoomName> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    let room = hash.strip_prefix(ROOM_PREFIX)?;
    let room = room.strip_suffix('/').unwrap_or(room);
    RoomName::parse(room).ok()
}

/// The fragment (with its `#`) that names `room`.
pub fn hash_for(room: &RoomName) -> String {
    format!("#{ROOM_PREFIX}{room}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_fragment_names_its_room() {
        let lobby = RoomName::parse("lobby").expect("valid");
        assert_eq!(room_from_hash("#/r/lobby"), Some(lobby.clone()));
        assert_eq!(room_from_hash("/r/lobby/"), Some(lobby.clone()));
        assert_eq!(room_from_hash(&hash_for(&lobby)), Some(lobby));
    }

    #[test]
    fn anything_else_names_no_room() {
        for hash in [
            "",
            "#",
            "#/",
            "#/r/",
            "#lobby",
            "#/r/Lobby",
            "#/r/a b",
            "#/x/lobby",
        ] {
            assert_eq!(room_from_hash(hash), None, "{hash}");
        }
    }
}
