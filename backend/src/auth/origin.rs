//! Cross-site request forgery: a request that changes something (sign
//! in, sign out, post, change a password, any `POST`, `PUT`, `PATCH` or
//! `DELETE` carrying the session cookie) must come from a page of this
//! server, or of an origin allowed with `--allowed-origin`, and carry a
//! JSON body.
//!
//! - **Origin.** Browsers send `Origin` with every such request. It must
//!   pass [`origin_allowed`], the rule the WebSocket upgrade applies
//!   (`http/ws.rs`): this server's own host, as the browser addressed it
//!   (`Host`), over `http` or `https`, or one of the allowed origins
//!   exactly. `Origin: null` (a sandboxed frame, a `file:` page) never
//!   passes. Without `Origin`, the request passes only if the browser says
//!   it is `Sec-Fetch-Site: same-origin`; anything else without `Origin`
//!   is refused, unlike the WebSocket rule, which lets non-browser clients
//!   without `Origin` in.
//! - **JSON.** `Content-Type` must be `application/json` ([`check_json`]).
//!   A page of another site can send a form or `text/plain` without asking,
//!   but not JSON: for that the browser first asks this server (a CORS
//!   preflight), which allows no other origin.
//!
//! Requests authenticated with `Authorization: Bearer` (bots, scripts)
//! cannot be forged by another site, since browsers never add that header
//! by themselves: they need only [`check_json`], and may come without
//! `Origin`.

use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};

/// The header by which browsers say where a request comes from relative to
/// its target (Fetch Metadata).
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Why a state-changing request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// Its `Origin` is not this server's nor an allowed one.
    #[error("requests from this origin are not allowed")]
    OriginNotAllowed,
    /// It has no `Origin`, and no `Sec-Fetch-Site: same-origin` either.
    #[error("the request does not say where it comes from (no Origin header)")]
    NoOrigin,
    /// Its body is not declared as JSON.
    #[error("the request body must be JSON (Content-Type: application/json)")]
    NotJson,
}

impl CsrfError {
    /// The HTTP status to answer with: 403, or 415 for a body that is not
    /// JSON.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::OriginNotAllowed | Self::NoOrigin => StatusCode::FORBIDDEN,
            Self::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// Whether `origin` (the value of an `Origin` header) may act on this
/// server: it is one of `allowed_origins` exactly, or `http://` or
/// `https://` followed by `host` (the request's `Host`), ignoring ASCII
/// case. The WebSocket upgrade's rule (`http::ws::origin_allowed`) for a
/// request that has an `Origin`.
pub fn origin_allowed(origin: &str, host: Option<&str>, allowed_origins: &[String]) -> bool {
    if allowed_origins.iter().any(|allowed| allowed == origin) {
        return true;
    }
    let Some(host) = host else {
        return false;
    };
    match origin.split_once("://") {
        Some(("http" | "https", authority)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// Refuses a state-changing request that may come from another site's page
/// or carries no JSON (see the module's documentation). To be applied to
/// every such request authenticated by the session cookie, and to sign-in
/// and sign-up, which have no session yet.
pub fn check_state_changing(
    headers: &HeaderMap,
    allowed_origins: &[String],
) -> Result<(), CsrfError> {
    let mut origins = headers.get_all(ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (Some(origin), None) => {
            let origin = origin.to_str().map_err(|_| CsrfError::OriginNotAllowed)?;
            let host = headers.get(HOST).and_then(|host| host.to_str().ok());
            if !origin_allowed(origin, host, allowed_origins) {
                return Err(CsrfError::OriginNotAllowed);
            }
        }
        // Two origins: one of them is not where the request comes from.
        (Some(_), Some(_)) => return Err(CsrfError::OriginNotAllowed),
        (None, _) => {
            let same_origin = headers
                .get(SEC_FETCH_SITE)
                .is_some_and(|site| site.as_bytes() == b"same-origin");
            if !same_origin {
                return Err(CsrfError::NoOrigin);
            }
        }
    }
    check_json(headers)
}

/// Refuses a request whose body is not declared as JSON: exactly one
/// `Content-Type`, `application/json` in any case, with parameters or not
/// (`application/json; charset=utf-8`).
pub fn check_json(headers: &HeaderMap) -> Result<(), CsrfError> {
    let mut types = headers.get_all(CONTENT_TYPE).iter();
    let (Some(content_type), None) = (types.next(), types.next()) else {
        return Err(CsrfError::NotJson);
    };
    let content_type = content_type.to_str().map_err(|_| CsrfError::NotJson)?;
    let essence = content_type.split(';').next().unwrap_or_default();
    if essence
        .trim_matches([' ', '\t'])
        .eq_ignore_ascii_case("application/json")
    {
        Ok(())
    } else {
        Err(CsrfError::NotJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const HOST_NAME: &str = "localhost:8080";

    fn request(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static(HOST_NAME));
        for (name, value) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        headers
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn the_rule_is_the_websockets() {
        let allowed = ["https://chat.example.com".to_owned()];
        let origins = [
            "http://localhost:8080",
            "https://localhost:8080",
            "HTTP://LOCALHOST:8080",
            "http://LocalHost:8080",
            "http://localhost:8081",
            "http://localhost",
            "http://localhost:8080.evil.example",
            "http://evil.example",
            "https://chat.example.com",
            "https://chat.example.com:443",
            "https://CHAT.example.com",
            "file://localhost:8080",
            "ws://localhost:8080",
            "null",
            "",
        ];
        for origin in origins {
            let headers = request(&[("origin", origin)]);
            let ws = crate::http::ws::origin_allowed(&headers, &allowed);
            assert_eq!(
                origin_allowed(origin, Some(HOST_NAME), &allowed),
                ws,
                "{origin:?}"
            );
            let csrf = check_state_changing(&request(&[("origin", origin), JSON]), &allowed);
            assert_eq!(csrf.is_ok(), ws, "{origin:?}");
        }
        // Without a Host, only the listed origins pass, as for WebSockets.
        assert!(!origin_allowed("http://localhost:8080", None, &allowed));
        assert!(origin_allowed("https://chat.example.com", None, &allowed));
    }

    #[test]
    fn this_servers_pages_and_allowed_origins_may_post_json() {
        let allowed = ["https://app.example".to_owned()];
        for origin in [
            "http://localhost:8080",
            "https://localhost:8080",
            "https://app.example",
        ] {
            let headers = request(&[("origin", origin), JSON]);
            assert_eq!(check_state_changing(&headers, &allowed), Ok(()), "{origin}");
        }
    }

    #[test]
    fn other_origins_are_refused() {
        for origin in [
            "http://evil.example",
            "null",
            "http://localhost:8080.evil.example",
        ] {
            let headers = request(&[("origin", origin), JSON]);
            assert_eq!(
                check_state_changing(&headers, &[]),
                Err(CsrfError::OriginNotAllowed),
                "{origin}"
            );
        }
        // Same-origin Fetch Metadata does not rescue a foreign Origin.
        let headers = request(&[
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "same-origin"),
            JSON,
        ]);
        assert_eq!(
            check_state_changing(&headers, &[]),
            Err(CsrfError::OriginNotAllowed)
        );
        // Two Origin headers, even if one is ours.
        let headers = request(&[
            ("origin", "http://localhost:8080"),
            ("origin", "http://evil.example"),
            JSON,
        ]);
        assert_eq!(
            check_state_changing(&headers, &[]),
            Err(CsrfError::OriginNotAllowed)
        );
        let mut headers = request(&[JSON]);
        headers.insert(
            ORIGIN,
            HeaderValue::from_bytes(b"http://\xfflocalhost:8080").expect("bytes"),
        );
        assert_eq!(
            check_state_changing(&headers, &[]),
            Err(CsrfError::OriginNotAllowed)
        );
    }

    #[test]
    fn without_origin_only_a_same_origin_fetch_passes() {
        let headers = request(&[("sec-fetch-site", "same-origin"), JSON]);
        assert_eq!(check_state_changing(&headers, &[]), Ok(()));
        for site in ["same-site", "cross-site", "none", "Same-Origin", ""] {
            let headers = request(&[("sec-fetch-site", site), JSON]);
            assert_eq!(
                check_state_changing(&headers, &[]),
                Err(CsrfError::NoOrigin),
                "{site:?}"
            );
        }
        // A script or curl without either: refused (it should use a bearer
        // token, which needs only check_json).
        let headers = request(&[JSON]);
        assert_eq!(
            check_state_changing(&headers, &[]),
            Err(CsrfError::NoOrigin)
        );
        assert_eq!(check_json(&headers), Ok(()));
    }

    #[test]
    fn the_body_must_be_declared_json() {
        let origin = ("origin", "http://localhost:8080");
        for content_type in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/json ;charset=UTF-8",
        ] {
            let headers = request(&[origin, ("content-type", content_type)]);
            assert_eq!(
                check_state_changing(&headers, &[]),
                Ok(()),
                "{content_type}"
            );
        }
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json-seq",
            "application/jsonx",
            "text/json",
            "application/json, text/plain",
            "",
        ] {
            let headers = request(&[origin, ("content-type", content_type)]);
            assert_eq!(
                check_state_changing(&headers, &[]),
                Err(CsrfError::NotJson),
                "{content_type}"
            );
        }
        assert_eq!(
            check_state_changing(&request(&[origin]), &[]),
            Err(CsrfError::NotJson)
        );
        let two = request(&[origin, JSON, ("content-type", "text/plain")]);
        assert_eq!(check_json(&two), Err(CsrfError::NotJson));
    }

    #[test]
    fn refusals_map_to_statuses() {
        assert_eq!(CsrfError::OriginNotAllowed.status(), StatusCode::FORBIDDEN);
        assert_eq!(CsrfError::NoOrigin.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            CsrfError::NotJson.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
