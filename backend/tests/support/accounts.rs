//! Accounts in tests: a reader's API token for the servers the other
//! tests start (the room list and history need a signed-in caller since
//! accounts came), the accounts test clients connect as
//! ([`token_for`], made by the reader, an administrator bot), and an HTTP
//! client for the accounts' API.
//!
//! [`provision_reader`] writes a bot and its token into a database before
//! a server opens it (SQLite allows one server at a time); [`register`]
//! ties the token to the server's address, and [`super::get_json`] sends
//! it to that address.

use chat_server::store::accounts::NewAccount;
use chat_server::store::Database;
use common::{AccountKind, DisplayName, Role, Username};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The tokens of the servers that have a reader, by address.
fn readers() -> &'static Mutex<HashMap<SocketAddr, String>> {
    static READERS: OnceLock<Mutex<HashMap<SocketAddr, String>>> = OnceLock::new();
    READERS.get_or_init(Mutex::default)
}

/// Ties `token` to the server at `addr`.
pub fn register(addr: SocketAddr, token: String) {
    readers().lock().expect("lock").insert(addr, token);
}

/// The reader's token of the server at `addr`, if it has one.
pub fn reader_token(addr: SocketAddr) -> Option<String> {
    readers().lock().expect("lock").get(&addr).cloned()
}

/// The address of the server a URL names.
pub fn addr_of(url: &str) -> Option<SocketAddr> {
    url.split("://").nth(1)?.split('/').next()?.parse().ok()
}

/// The reader's token of the server a URL names.
pub fn reader_for_url(url: &str) -> Option<String> {
    reader_token(addr_of(url)?)
}

/// `GET url` with the reader's token of the server it names.
pub async fn reader_get(url: &str) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = reader_for_url(url) {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("GET")
}

/// Makes the reader (an administrator bot) with an API token in `db` (not
/// in memory), for a server about to open it; `None` when the database
/// cannot be opened (a test of a database that fails on purpose).
pub async fn provision_reader(db: &Database) -> Option<String> {
    if *db == Database::Memory {
        return None;
    }
    let stores = db.open(Default::default()).await.ok()?;
    let made = provision_reader_in(&*stores.accounts).await;
    let _ = stores.messages.close().await;
    made
}

/// Makes the reader in `store`, and returns its API token.
pub async fn provision_reader_in(store: &dyn chat_server::store::AccountStore) -> Option<String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let username = format!("reader-{}-{n}", std::process::id());
    let token = chat_server::auth::Token::generate();
    let made = async {
        let account = store
            .create_account(
                NewAccount {
                    username: Username::parse(username).ok()?,
                    display_name: DisplayName::parse("Test reader").ok()?,
                    role: Role::Admin,
                    kind: AccountKind::Bot,
                    password_hash: None,
                },
                chat_server::accounts::now_ms(),
            )
            .await
            .ok()?;
        store
            .create_api_token(
                account.id,
                "tests".to_owned(),
                *token.hash().as_bytes(),
                chat_server::accounts::now_ms(),
            )
            .await
            .ok()
    }
    .await;
    made.map(|_| token.encode_api())
}

/// An API token of the account shown as `display_name` on the server at
/// `addr` (made by its reader the first time: a bot whose username comes
/// from the name), for a test client to connect with.
pub async fn token_for(addr: SocketAddr, display_name: &str) -> String {
    let reader = reader_token(addr).expect("the server has a reader to make accounts");
    let api = Api::new(addr).with_bearer(&reader);
    let username = username_for(display_name);
    let made = api
        .post(
            "/api/admin/accounts",
            &serde_json::json!({
                "username": username,
                "display_name": display_name,
                "kind": "bot",
                "role": "member",
            }),
        )
        .await;
    let id = match made.status {
        200 | 201 => made.u64("/id"),
        // Made before (by this test, or on another instance of a cluster).
        409 => {
            let listed = api.get("/api/admin/accounts").await;
            let accounts = listed.body.as_array().expect("a list of accounts");
            accounts
                .iter()
                .find(|account| account["username"] == username.as_str())
                .and_then(|account| account["id"].as_u64())
                .expect("the account that has the username")
        }
        _ => panic!("cannot make an account for {display_name}: {made:?}"),
    };
    let token = api
        .post(
            &format!("/api/admin/accounts/{id}/tokens"),
            &serde_json::json!({ "name": "test client" }),
        )
        .await;
    assert!(
        token.status == 200 || token.status == 201,
        "a token for {display_name}: {token:?}"
    );
    token.str("/token")
}

/// The username of a test person called `display_name`: its letters and
/// digits in lower case, others as `-`, 2 to 32 characters.
pub fn username_for(display_name: &str) -> String {
    let mut username: String = display_name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    while username.len() < 2 {
        username.push('-');
    }
    username
}

/// [`provision_reader`] from synchronous code, on a runtime of its own.
pub fn provision_reader_blocking(db: Database) -> Option<String> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(provision_reader(&db))
    })
    .join()
    .expect("provisioned")
}

/// An answer of the API: its status, headers and JSON body (`Null` when
/// it has none).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Answer {
    /// The session token the answer's `Set-Cookie` gives, if any.
    pub fn session(&self) -> Option<String> {
        let cookie = self.headers.get("set-cookie")?.to_str().ok()?;
        let value = cookie.split(';').next()?.strip_prefix("chat_session=")?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The `Set-Cookie` header, if any.
    pub fn set_cookie(&self) -> Option<&str> {
        self.headers.get("set-cookie")?.to_str().ok()
    }

    /// The error code of the body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// A field of the body, as a string.
    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(|value| value.as_str())
            .unwrap_or_else(|| panic!("{pointer} in {:?}", self.body))
            .to_owned()
    }

    /// A field of the body, as a boolean.
    pub fn bool(&self, pointer: &str) -> bool {
        self.body
            .pointer(pointer)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or_else(|| panic!("{pointer} in {:?}", self.body))
    }

    /// A field of the body, as a number.
    pub fn u64(&self, pointer: &str) -> u64 {
        self.body
            .pointer(pointer)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("{pointer} in {:?}", self.body))
    }
}

/// How an [`Api`] client proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Nothing.
    None,
    /// A session cookie, as a browser sends it.
    Cookie(String),
    /// `Authorization: Bearer`.
    Bearer(String),
}

/// A client of the JSON API, as the web client calls it: the server's own
/// `Origin`, JSON bodies, and a credential.
#[derive(Debug, Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub credential: Credential,
    /// The `Origin` sent (`None`: none).
    pub origin: Option<String>,
    http: reqwest::Client,
}

impl Api {
    /// A browser page of the server at `addr`, not signed in.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            credential: Credential::None,
            origin: Some(format!("http://{addr}")),
            http: reqwest::Client::new(),
        }
    }

    /// The same page with a session cookie.
    pub fn with_session(&self, token: &str) -> Self {
        Self {
            credential: Credential::Cookie(token.to_owned()),
            ..self.clone()
        }
    }

    /// A script with a bearer token (and no `Origin`).
    pub fn with_bearer(&self, token: &str) -> Self {
        Self {
            credential: Credential::Bearer(token.to_owned()),
            origin: None,
            ..self.clone()
        }
    }

    /// The same client sending another `Origin`.
    pub fn with_origin(&self, origin: Option<&str>) -> Self {
        Self {
            origin: origin.map(str::to_owned),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request of `method` to `path`, with a JSON body when `body` is
    /// given (a state-changing request without one still says JSON, as
    /// the rule asks).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Answer {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        request = match &self.credential {
            Credential::None => request,
            Credential::Cookie(token) => request.header("cookie", format!("chat_session={token}")),
            Credential::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(body);
        } else if method != reqwest::Method::GET {
            request = request.header("content-type", "application/json");
        }
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Answer {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &serde_json::Value) -> Answer {
        self.request(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    /// Signs in; the session's client, or the refusal.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Api, Answer> {
        let answer = self
            .post(
                "/api/session",
                &serde_json::json!({ "username": username, "password": password }),
            )
            .await;
        match answer.session() {
            Some(token) if answer.status == 200 => Ok(self.with_session(&token)),
            _ => Err(answer),
        }
    }
}

/// The setup link a server printed (`First start: open <link> …`), as its
/// token.
pub fn setup_token_of(line: &str) -> Option<String> {
    let link = line.split("#/setup/").nth(1)?;
    Some(link.split_whitespace().next()?.to_owned())
}
