//! What the page's address shows. `#/r/lobby` shows the room `lobby`, so a
//! link opens that room; the account pages have their own addresses
//! ([`AccountRoute`]): the links the server and administrators hand out
//! (`#/setup/<token>`, `#/invite/<token>`, `#/reset/<token>`), open
//! signup (`#/signup`), the settings (`#/settings`) and the
//! administration (`#/admin`). The fragment is never sent to the server,
//! so one `index.html` serves every page, and a link's token never reaches
//! a server log.

use common::RoomName;

/// The prefix of a room's fragment, after the `#`.
const ROOM_PREFIX: &str = "/r/";

/// Longest token a link may carry, in characters. The server's are 43
/// characters of base64url; this bound only keeps nonsense out.
pub const LINK_TOKEN_MAX_CHARS: usize = 256;

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

/// An account page, as the address names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRoute {
    /// `#/setup/<token>`: the first administrator, with the setup link the
    /// server printed at its first start.
    Setup(String),
    /// `#/invite/<token>`: signing up with an invite link.
    Invite(String),
    /// `#/reset/<token>`: a new password with a reset link.
    Reset(String),
    /// `#/signup`: signing up without an invite (`--signup open`).
    Signup,
}

impl AccountRoute {
    /// The fragment (with its `#`) of this page.
    pub fn hash(&self) -> String {
        match self {
            Self::Setup(token) => format!("#/setup/{token}"),
            Self::Invite(token) => format!("#/invite/{token}"),
            Self::Reset(token) => format!("#/reset/{token}"),
            Self::Signup => "#/signup".to_owned(),
        }
    }
}

/// The account page a location fragment names (with or without its
/// leading `#`), if any. A link whose token is missing or has characters
/// no token has names no page (the person is told by the chat's sign-in
/// page instead of being shown a form that can only fail).
pub fn account_from_hash(hash: &str) -> Option<AccountRoute> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    let path = hash.strip_prefix('/')?;
    let path = path.strip_suffix('/').unwrap_or(path);
    match path.split_once('/') {
        None => match path {
            "signup" => Some(AccountRoute::Signup),
            _ => None,
        },
        Some((page, token)) => {
            let token = link_token(token)?;
            match page {
                "setup" => Some(AccountRoute::Setup(token)),
                "invite" => Some(AccountRoute::Invite(token)),
                "reset" => Some(AccountRoute::Reset(token)),
                _ => None,
            }
        }
    }
}

/// A page of the signed-in client, shown instead of the rooms (in the
/// same page load, so its WebSocket stays open and an ended session goes
/// back to sign-in as in the chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `#/settings`: display name, password, sessions and API tokens.
    Settings,
    /// `#/admin`: accounts, bots and invites (administrators).
    Admin,
}

impl Page {
    /// The fragment (with its `#`) of this page.
    pub fn hash(self) -> &'static str {
        match self {
            Self::Settings => "#/settings",
            Self::Admin => "#/admin",
        }
    }
}

/// The signed-in page a location fragment names (with or without its
/// leading `#`, and a trailing `/`), if any.
pub fn page_from_hash(hash: &str) -> Option<Page> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    let hash = hash.strip_suffix('/').unwrap_or(hash);
    [Page::Settings, Page::Admin]
        .into_iter()
        .find(|page| &page.hash()[1..] == hash)
}

/// A link's token, if it looks like one: 1 to [`LINK_TOKEN_MAX_CHARS`]
/// characters of base64url (`A-Z a-z 0-9 - _`; `=` padding is allowed at
/// the end).
fn link_token(raw: &str) -> Option<String> {
    let body = raw.trim_end_matches('=');
    let fits = !body.is_empty()
        && raw.len() <= LINK_TOKEN_MAX_CHARS
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    fits.then(|| raw.to_owned())
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
            "#/settings",
            "#/setup/abc",
        ] {
            assert_eq!(room_from_hash(hash), None, "{hash}");
        }
    }

    const TOKEN: &str = "q3Xv0_-Ab9kLmN2pQrStUvWxYz0123456789abcdEFG";

    #[test]
    fn link_fragments_name_their_page_and_keep_the_token() {
        assert_eq!(
            account_from_hash(&format!("#/setup/{TOKEN}")),
            Some(AccountRoute::Setup(TOKEN.to_owned()))
        );
        assert_eq!(
            account_from_hash(&format!("#/invite/{TOKEN}")),
            Some(AccountRoute::Invite(TOKEN.to_owned()))
        );
        assert_eq!(
            account_from_hash(&format!("/reset/{TOKEN}/")),
            Some(AccountRoute::Reset(TOKEN.to_owned()))
        );
        // Padding, should a token ever carry it.
        assert_eq!(
            account_from_hash("#/invite/abc=="),
            Some(AccountRoute::Invite("abc==".to_owned()))
        );
    }

    #[test]
    fn page_fragments_name_their_page() {
        for (hash, route) in [
            ("#/signup", AccountRoute::Signup),
            ("#/signup/", AccountRoute::Signup),
        ] {
            assert_eq!(account_from_hash(hash), Some(route), "{hash}");
        }
    }

    #[test]
    fn every_page_reads_back_from_its_own_fragment() {
        for route in [
            AccountRoute::Setup(TOKEN.to_owned()),
            AccountRoute::Invite(TOKEN.to_owned()),
            AccountRoute::Reset(TOKEN.to_owned()),
            AccountRoute::Signup,
        ] {
            assert_eq!(account_from_hash(&route.hash()), Some(route.clone()));
            assert_eq!(room_from_hash(&route.hash()), None, "not a room too");
        }
    }

    #[test]
    fn the_signed_in_pages_read_back_from_their_fragments_and_nothing_else() {
        for page in [Page::Settings, Page::Admin] {
            assert_eq!(page_from_hash(page.hash()), Some(page));
            assert_eq!(page_from_hash(&format!("{}/", page.hash())), Some(page));
            assert_eq!(page_from_hash(&page.hash()[1..]), Some(page));
            assert_eq!(account_from_hash(page.hash()), None, "no account page");
            assert_eq!(room_from_hash(page.hash()), None, "no room");
        }
        for hash in [
            "",
            "#",
            "#/",
            "#/r/lobby",
            "#/Settings",
            "#/settings/x",
            "#settings",
            "#/admin/1",
            "#/signup",
        ] {
            assert_eq!(page_from_hash(hash), None, "{hash}");
        }
    }

    #[test]
    fn broken_links_and_other_fragments_name_no_account_page() {
        let long = format!("#/reset/{}", "a".repeat(LINK_TOKEN_MAX_CHARS + 1));
        for hash in [
            "",
            "#",
            "#/",
            "#/r/lobby",
            "#settings",
            "#/Settings",
            "#/settings/x",
            "#/signup/x/y",
            "#/setup",
            "#/setup/",
            "#/invite/=",
            "#/invite/a b",
            "#/invite/a%20b",
            "#/reset/abc/def",
            "#/reset/tök",
            "#/unknown/abc",
            &long,
        ] {
            assert_eq!(account_from_hash(hash), None, "{hash}");
        }
        let longest = format!("#/reset/{}", "a".repeat(LINK_TOKEN_MAX_CHARS));
        assert!(account_from_hash(&longest).is_some());
    }
}
