//! A small HTTP/1.1 client for the server's HTTP API: one request per new
//! TCP connection (`Connection: close`, as a browser's first request after
//! a page load opens one), the answer read to the end and split into its
//! status, its head and its body (by `Content-Length`, or chunked).
//!
//! Password sign-ins ([`crate::signin`]), the `/metrics` scrape
//! ([`crate::scrape`]) and rooms-200's set-up and room lists
//! ([`crate::scenarios::room_list`]) all go through [`request`]. Requests
//! that change state carry what the server's forgery check asks of a
//! browser's page (`Content-Type: application/json` and the server's own
//! `Origin`), whatever their credential.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Largest answer read: rooms-200's room list is some 40 KiB.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// How a request is signed in.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// Not at all.
    None,
    /// A session cookie, `chat_session=…` as the server set it.
    Cookie(&'a str),
    /// An API token, sent as `Authorization: Bearer`.
    Bearer(&'a str),
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its status code.
    pub status: u16,
    /// Its status line and headers, without the blank line.
    pub head: String,
    /// Its body, de-chunked.
    pub body: Vec<u8>,
}

impl Answer {
    /// Its status line, for messages.
    pub fn status_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    /// The values of every header called `name` (ignoring case), trimmed.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.head.lines().skip(1).filter_map(move |line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The cookie `name` it sets, as `name=value` for a `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers("set-cookie").find_map(|value| {
            let pair = value.split(';').next()?.trim();
            let (key, _) = pair.split_once('=')?;
            (key == name).then(|| pair.to_owned())
        })
    }

    /// Its body as text (lossily).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method path` to `authority` (`host:port`) on a new connection,
/// with `credential` and a JSON `body` if any, and reads the whole answer.
/// Every error is in words, naming what failed.
pub async fn request(
    authority: &str,
    method: &str,
    path: &str,
    credential: Credential<'_>,
    body: Option<&str>,
) -> Result<Answer, String> {
    let request = request_text(authority, method, path, credential, body);
    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|err| format!("connecting to {authority}: {err}"))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|err| format!("sending {method} {path}: {err}"))?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|err| format!("reading the answer to {method} {path}: {err}"))?;
        if read == 0 {
            break;
        }
        if raw.len() + read > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer to {method} {path} is over {MAX_ANSWER_BYTES} bytes"
            ));
        }
        raw.extend_from_slice(&chunk[..read]);
    }
    parse_answer(&raw).map_err(|why| format!("the answer to {method} {path}: {why}"))
}

/// The text of a request: `Host`, the `Origin` and JSON content type of a
/// browser's page for anything but `GET`, the credential, `Connection:
/// close`.
pub fn request_text(
    authority: &str,
    method: &str,
    path: &str,
    credential: Credential<'_>,
    body: Option<&str>,
) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
    if method != "GET" {
        text.push_str(&format!(
            "Origin: http://{authority}\r\nContent-Type: application/json\r\n"
        ));
    }
    match credential {
        Credential::None => {}
        Credential::Cookie(cookie) => text.push_str(&format!("Cookie: {cookie}\r\n")),
        Credential::Bearer(token) => {
            text.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
    }
    let body = body.unwrap_or_default();
    if method != "GET" || !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("Connection: close\r\n\r\n");
    text.push_str(body);
    text
}

/// Splits a whole answer into its status, head and body.
pub fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let split = memchr::memmem::find(raw, b"\r\n\r\n").ok_or("no end of the head")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("no status in {:?}", head.lines().next().unwrap_or_default()))?;
    let mut answer = Answer {
        status,
        head,
        body: Vec::new(),
    };
    let chunked = answer
        .headers("transfer-encoding")
        .any(|value| value.eq_ignore_ascii_case("chunked"));
    let length = answer
        .headers("content-length")
        .next()
        .map(|value| {
            value
                .parse::<usize>()
                .map_err(|_| format!("Content-Length {value:?}"))
        })
        .transpose()?;
    answer.body = match (chunked, length) {
        (true, _) => dechunk(rest)?,
        (false, Some(length)) => rest
            .get(..length)
            .ok_or_else(|| format!("{} of {length} bytes of body", rest.len()))?
            .to_vec(),
        (false, None) => rest.to_vec(),
    };
    Ok(answer)
}

/// The body of a chunked answer.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = memchr::memmem::find(rest, b"\r\n").ok_or("a chunk without its size")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("a chunk cut short")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("a chunk without its end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_split_by_their_length_or_their_chunks() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: chat_session=abc; Path=/; HttpOnly\r\n\r\nhello";
        let answer = parse_answer(plain).expect("an answer");
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, &b"hello"[..])
        );
        assert_eq!(
            answer.cookie("chat_session").as_deref(),
            Some("chat_session=abc")
        );
        assert_eq!(answer.cookie("other"), None);
        assert_eq!(answer.status_line(), "HTTP/1.1 200 OK");
        let chunked = b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n4\r\n[{\"a\r\n3;x=y\r\n\":1\r\n2\r\n}]\r\n0\r\n\r\n";
        let answer = parse_answer(chunked).expect("an answer");
        assert_eq!(
            (answer.status, answer.text()),
            (201, "[{\"a\":1}]".to_string())
        );
        // A body shorter than its length, a missing head, no status.
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_answer(b"garbage\r\n\r\n").is_err());
        assert!(
            parse_answer(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab").is_err()
        );
    }

    #[test]
    fn a_state_change_carries_the_pages_origin_and_a_json_body() {
        let post = request_text(
            "127.0.0.1:9",
            "POST",
            "/api/session",
            Credential::None,
            Some("{}"),
        );
        assert_eq!(
            post,
            "POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:9\r\nOrigin: http://127.0.0.1:9\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
        let get = request_text(
            "127.0.0.1:9",
            "GET",
            "/api/rooms",
            Credential::Cookie("chat_session=abc"),
            None,
        );
        assert_eq!(
            get,
            "GET /api/rooms HTTP/1.1\r\nHost: 127.0.0.1:9\r\nCookie: chat_session=abc\r\nConnection: close\r\n\r\n"
        );
        let bot = request_text("h:1", "POST", "/x", Credential::Bearer("chat_t"), None);
        assert!(bot.contains("Authorization: Bearer chat_t\r\n"), "{bot}");
        assert!(bot.contains("Content-Length: 0\r\n"), "{bot}");
    }
}
