//! The session cookie, and the other way to present a token, the
//! `Authorization: Bearer` header.
//!
//! The cookie is [`SESSION_COOKIE`] (`chat_session`), holding the
//! session's [`Token`], with `HttpOnly` (no script reads it, so a script
//! injected into the page cannot steal it), `SameSite=Lax` (other sites'
//! pages do not send it with their requests, except top-level
//! navigations), `Path=/`, `Max-Age` (the idle expiry: the browser forgets
//! it when the server would), and `Secure` when the page is served over
//! TLS (or `--secure-cookies` says a proxy does). It never has a `Domain`,
//! so only this host gets it.
//!
//! A session ends after [`SESSION_IDLE_EXPIRY`] without use. Its "last
//! seen" time is written at most every [`SESSION_TOUCH_INTERVAL`], not on
//! every request, so an active client costs the database a write a
//! minute; when it is written, the cookie may be set again to push the
//! browser's expiry forward too.

use super::token::Token;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chat_session";

/// How long a session lasts without being used: 30 days. Its cookie's
/// `Max-Age` is the same.
pub const SESSION_IDLE_EXPIRY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Least time between two writes of a session's "last seen" time: 1
/// minute. The list of sessions shows it to that precision, and the idle
/// expiry is counted from it.
pub const SESSION_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// The `Set-Cookie` value that gives the browser `token` as its session,
/// kept for `max_age` (normally [`SESSION_IDLE_EXPIRY`]); `secure` adds
/// `Secure`.
pub fn set_cookie(token: &Token, secure: bool, max_age: Duration) -> HeaderValue {
    cookie(&token.encode(), secure, max_age.as_secs())
}

/// The `Set-Cookie` value that makes the browser forget its session (on
/// sign-out): empty, expired at once, with the attributes it was set with
/// so that it replaces it.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie("", secure, 0)
}

fn cookie(value: &str, secure: bool, max_age: u64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"
    );
    // The name, a token (base64url) and the attributes are all visible
    // ASCII.
    HeaderValue::try_from(text).expect("a cookie of visible ASCII")
}

/// The session token in the request's cookies, if there is a valid one.
///
/// Reads every `Cookie` header (HTTP/2 may split cookies over several),
/// each a `;`-separated list of `name=value` pairs; spaces around them and
/// double quotes around a value are dropped, and pairs that are not
/// `name=value` or not valid UTF-8 are ignored. If several `chat_session`
/// cookies are sent (one set for this host by a neighbouring subdomain,
/// say), the first valid token is taken; a wrong one only fails to sign in.
pub fn session_token(headers: &HeaderMap) -> Option<Token> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let (name, value) = split_once(pair, b'=')?;
            (name.trim_ascii() == SESSION_COOKIE.as_bytes()).then(|| unquote(value.trim_ascii()))
        })
        .find_map(|value| Token::parse(std::str::from_utf8(value).ok()?).ok())
}

/// The token of an `Authorization: Bearer <token>` header, if the request
/// has exactly one `Authorization` header and it is that. The scheme is
/// matched ignoring case; the token may be an API token's text (`chat_…`)
/// or a bare token (a session's). Looking its hash up tells which it is.
pub fn bearer_token(headers: &HeaderMap) -> Option<Token> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, credentials) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let credentials = credentials.trim_start_matches([' ', '\t']);
    Token::parse_api(credentials)
        .or_else(|_| Token::parse(credentials))
        .ok()
}

fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == separator)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// A cookie value without the double quotes RFC 6265 allows around it.
fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: axum::http::HeaderName, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                name.clone(),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        headers
    }

    fn cookies(values: &[&str]) -> HeaderMap {
        headers(COOKIE, values)
    }

    #[test]
    fn the_numbers_are_as_documented() {
        assert_eq!(SESSION_COOKIE, "chat_session");
        assert_eq!(SESSION_IDLE_EXPIRY.as_secs(), 2_592_000);
        assert_eq!(SESSION_TOUCH_INTERVAL.as_secs(), 60);
    }

    #[test]
    fn the_cookie_has_every_attribute() {
        let token = Token::generate();
        let set = set_cookie(&token, false, SESSION_IDLE_EXPIRY);
        assert_eq!(
            set.to_str().expect("ASCII"),
            format!(
                "chat_session={}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax",
                token.encode()
            )
        );
        let secure = set_cookie(&token, true, Duration::from_secs(90));
        let secure = secure.to_str().expect("ASCII");
        assert!(
            secure.ends_with("; Max-Age=90; Path=/; HttpOnly; SameSite=Lax; Secure"),
            "{secure}"
        );
        assert!(!secure.contains("Domain"));
    }

    #[test]
    fn clearing_expires_an_empty_cookie_at_once() {
        assert_eq!(
            clear_cookie(false).to_str().expect("ASCII"),
            "chat_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            clear_cookie(true).to_str().expect("ASCII"),
            "chat_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn what_is_set_is_read_back() {
        let token = Token::generate();
        let set = set_cookie(&token, true, SESSION_IDLE_EXPIRY);
        // A browser sends back the pair before the first `;`.
        let pair = set
            .to_str()
            .expect("ASCII")
            .split(';')
            .next()
            .expect("a pair");
        assert_eq!(session_token(&cookies(&[pair])), Some(token));
    }

    #[test]
    fn the_session_is_found_among_other_cookies_and_headers() {
        let token = Token::generate();
        let text = token.encode();
        let cases = [
            vec![format!("chat_session={text}")],
            vec![format!("theme=dark; chat_session={text}; lang=en")],
            vec![format!("theme=dark;chat_session={text};lang=en")],
            vec![format!("  chat_session = {text}  ;x=1")],
            vec![format!("chat_session=\"{text}\"")],
            vec![
                "theme=dark".to_owned(),
                format!("lang=en; chat_session={text}"),
            ],
            // Junk before it is skipped.
            vec![format!(
                "junk; =; ==; chat_session; a=b=c; chat_session={text}"
            )],
            // An invalid session cookie first, then the valid one.
            vec![format!("chat_session=nonsense; chat_session={text}")],
            vec!["chat_session=".to_owned(), format!("chat_session={text}")],
        ];
        for case in &cases {
            let values: Vec<&str> = case.iter().map(String::as_str).collect();
            assert_eq!(
                session_token(&cookies(&values)).as_ref(),
                Some(&token),
                "{case:?}"
            );
        }
    }

    #[test]
    fn no_session_without_a_valid_chat_session_cookie() {
        let text = Token::generate().encode();
        let cases = [
            vec![],
            vec![String::new()],
            vec!["theme=dark; lang=en".to_owned()],
            vec![format!("xchat_session={text}")],
            vec![format!("chat_session_={text}")],
            vec![format!("Chat_Session={text}")],
            vec![format!("chat_session={}", &text[1..])],
            vec![format!("chat_session={text}x")],
            vec![format!("chat_session=\"{text}")],
            vec![format!("chat_session={}", Token::generate().encode_api())],
            vec![format!("{text}")],
        ];
        for case in &cases {
            let values: Vec<&str> = case.iter().map(String::as_str).collect();
            assert!(session_token(&cookies(&values)).is_none(), "{case:?}");
        }
        // Bytes that are not UTF-8 are skipped, not a reason to give up.
        let mut map = HeaderMap::new();
        map.append(
            COOKIE,
            HeaderValue::from_bytes(b"a=\xff\xfe; chat_session=\xff").expect("bytes"),
        );
        assert!(session_token(&map).is_none());
        let token = Token::generate();
        map.append(
            COOKIE,
            HeaderValue::from_str(&format!("chat_session={}", token.encode())).expect("ASCII"),
        );
        assert_eq!(session_token(&map), Some(token));
    }

    #[test]
    fn a_bearer_token_is_read_in_either_form() {
        let token = Token::generate();
        for value in [
            format!("Bearer {}", token.encode_api()),
            format!("Bearer {}", token.encode()),
            format!("bearer {}", token.encode_api()),
            format!("BEARER  {}", token.encode()),
            format!("Bearer\t{} ", token.encode_api()),
        ] {
            let map = headers(AUTHORIZATION, &[&value]);
            assert_eq!(bearer_token(&map).as_ref(), Some(&token), "{value:?}");
        }
    }

    #[test]
    fn no_bearer_token_otherwise() {
        let token = Token::generate();
        let api = token.encode_api();
        for values in [
            vec![],
            vec![format!("Basic {api}")],
            vec![format!("Bearer{api}")],
            vec![api.clone()],
            vec!["Bearer".to_owned()],
            vec!["Bearer ".to_owned()],
            vec![format!("Bearer {api} extra")],
            vec![format!("Bearer chat_{}", &api[6..])],
            vec![format!("Token {api}")],
            // Two Authorization headers are ambiguous: neither counts.
            vec![format!("Bearer {api}"), format!("Bearer {api}")],
        ] {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            assert!(
                bearer_token(&headers(AUTHORIZATION, &values)).is_none(),
                "{values:?}"
            );
        }
        // The cookie is not a bearer token, nor the other way round.
        let cookie = cookies(&[&format!("chat_session={}", token.encode())]);
        assert!(bearer_token(&cookie).is_none());
        assert!(session_token(&headers(
            AUTHORIZATION,
            &[&format!("Bearer {}", token.encode())]
        ))
        .is_none());
    }
}
