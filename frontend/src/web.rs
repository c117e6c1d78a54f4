//! The browser side of the client: the WebSocket task, the HTTP API, local
//! storage, clocks and randomness. Everything that decides something is in
//! [`crate::state`]; this module only carries frames and events to it.
//!
//! The gloo-net WebSocket is not `Send`, so it lives inside one task (see
//! [`start`]); the rest of the page talks to that task through a channel.
//! Frames are tagged with the number of the connection they were made for,
//! and the task drops frames made for an older connection: a `join` or a
//! `send` must never reach a newer connection twice, since the reducer
//! sends again whatever the new connection needs.

mod rooms;

pub use rooms::{page_hidden, READ_MARK_GAP_MS};

use crate::backoff::Backoff;
use crate::saved::{self, Saved};
use crate::state::{Chat, Command, Incoming, REJOIN_DELAY_MS, RESEND_DELAY_MS};
use common::api::accounts::Me;
use common::api::MessagePage;
use common::{
    ClientFrame, CloseCode, ErrorFrame, MessageId, Nonce, Person, Role, RoomName, UserId,
};
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures::future::{select, Either};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::time::Duration;
use wasm_bindgen::JsCast;

/// The path of the WebSocket endpoint on the page's own server.
pub const SOCKET_PATH: &str = "/ws";
/// Messages asked for per page of older history.
pub const OLDER_PAGE_LIMIT: usize = 50;
/// The room a person who has none yet starts in.
pub const DEFAULT_ROOM: &str = "lobby";

/// What the page asks of the socket task.
#[derive(Debug)]
enum ToSocket {
    /// Send these frames, made for connection number `.0`.
    Frames(u64, Vec<ClientFrame>),
    /// Close the connection cleanly and do not reconnect (the page is left).
    Close,
    /// Reconnect now: the network is back, the page is shown again, the
    /// person asked, or a connection became needed (signed in, a room).
    Reconnect,
}

thread_local! {
    /// The socket in use, so that leaving the page can close it at once
    /// with a proper close frame, without waiting for the task to run.
    static OPEN_SOCKET: RefCell<Option<web_sys::WebSocket>> = const { RefCell::new(None) };
    /// Makes nonces unique within this page.
    static NONCE_COUNTER: Cell<u64> = const { Cell::new(0) };
    /// What was last written to local storage, so that an unchanged state
    /// is not written again at every frame.
    static LAST_SAVED: RefCell<(String, String)> =
        const { RefCell::new((String::new(), String::new())) };
}

/// The client: its state, and the way to the socket task. Cheap to copy
/// into event handlers.
#[derive(Clone, Copy)]
pub struct Client {
    /// Everything the page shows.
    pub chat: RwSignal<Chat>,
    /// Whether the signed-in account is an administrator (the chat then
    /// links to the administration page; the server checks anyway).
    pub admin: RwSignal<bool>,
    commands: StoredValue<UnboundedSender<ToSocket>>,
}

impl Client {
    /// Applies something the person did and sends the frames it makes.
    pub fn act(&self, action: impl FnOnce(&mut Chat) -> Vec<ClientFrame>) {
        let made = self.chat.try_update(|chat| {
            let wanted = chat.wants_connection();
            let frames = action(chat);
            (chat.socket(), frames, !wanted && chat.wants_connection())
        });
        let Some((socket, frames, now_wanted)) = made else {
            return;
        };
        if let (Some(socket), false) = (socket, frames.is_empty()) {
            self.tell_socket(ToSocket::Frames(socket, frames));
        }
        if now_wanted {
            // Signed in with a room: time to connect.
            self.tell_socket(ToSocket::Reconnect);
        }
    }

    /// `me` signed in (at page load, or on the sign-in page). The same
    /// person as before goes on where they were (rooms, drafts, outbox);
    /// anyone else starts from what this browser kept for them, never
    /// from someone else's.
    pub fn sign_in(&self, me: &Me) {
        self.admin.set(me.role == Role::Admin);
        let person = Person {
            user_id: me.id,
            username: me.username.clone(),
            display_name: me.display_name.clone(),
        };
        if self.chat.with_untracked(Chat::owner) == Some(me.id) {
            self.act(|chat| chat.signed_in(person));
            return;
        }
        let saved = load_account(me.id).unwrap_or_default();
        let address = crate::route::room_from_hash(&location_hash());
        let fresh = saved.rooms.is_empty() && address.is_none();
        let mut chat = Chat::restored(person, saved, address);
        if fresh {
            if let Ok(lobby) = RoomName::parse(DEFAULT_ROOM) {
                chat.open_room(lobby);
            }
        }
        // No socket is open while nobody is signed in: the new state starts
        // without one, and the task connects for it.
        self.chat.set(chat);
        self.tell_socket(ToSocket::Reconnect);
    }

    /// The person signs out: the page's WebSocket closes at once, then the
    /// session ends on the server (in this order, so that the server's
    /// 4001 for the ended session is not taken for one that ended by
    /// itself). What was written stays for their next sign-in.
    pub fn sign_out(&self) {
        self.save();
        self.chat.update(Chat::signed_out);
        self.tell_socket(ToSocket::Close);
        leptos::task::spawn_local(async {
            // A 401 means it had ended already; offline, the cookie stays
            // but this page no longer uses it.
            let _ = crate::api::sign_out().await;
        });
    }

    /// An API call answered 401: the session ended. The page goes back to
    /// sign-in, keeping what was written.
    pub fn session_ended(&self) {
        self.save();
        self.chat.update(Chat::session_ends);
        self.tell_socket(ToSocket::Close);
    }

    /// Keeps the message box of `room` (on every edit, so that a reload
    /// or a session's end loses nothing typed).
    pub fn keep_draft(&self, room: &RoomName, draft: String) {
        // Nothing shown depends on drafts: no need to wake anything.
        self.chat
            .update_untracked(|chat| chat.keep_draft(room, draft));
        self.save();
    }

    /// Writes the owner's rooms, drafts and outbox to local storage, if
    /// they changed since the last write.
    pub fn save(&self) {
        let Some((owner, saved)) = self
            .chat
            .try_with_untracked(|chat| chat.owner().map(|owner| (owner, chat.saved())))
            .flatten()
        else {
            return;
        };
        save_account(owner, &saved);
    }

    /// Reconnects at once instead of waiting for the backoff.
    pub fn reconnect_now(&self) {
        self.tell_socket(ToSocket::Reconnect);
    }

    fn tell_socket(&self, command: ToSocket) {
        self.commands.with_value(|commands| {
            // Fails only once the task has ended, with the page.
            let _ = commands.unbounded_send(command);
        });
    }

    /// Loads the page of messages before the oldest shown in `room`.
    pub fn load_older(&self, room: RoomName) {
        let Some(before) = self
            .chat
            .try_update(|chat| chat.start_loading_older(&room))
            .flatten()
        else {
            return;
        };
        let client = *self;
        let chat = self.chat;
        leptos::task::spawn_local(async move {
            match fetch_older(&room, before).await {
                Ok(page) => chat.update(|chat| chat.older_loaded(page)),
                // The load is dropped with the session; the next page of
                // the room loads it again.
                Err(Older::SignedOut) => client.session_ended(),
                Err(Older::Failed(reason)) => chat.update(|chat| chat.older_failed(&room, reason)),
            }
        });
    }
}

/// Starts the client, signed out: the connection opens once someone signs
/// in ([`Client::sign_in`]), and reconnects whenever it is lost. `active`
/// is the room in the address.
pub fn start(active: Option<RoomName>) -> Client {
    let chat = RwSignal::new(Chat::new(None, Vec::new(), active));
    let (sender, receiver) = mpsc::unbounded();
    let client = Client {
        chat,
        admin: RwSignal::new(false),
        commands: StoredValue::new(sender),
    };
    leptos::task::spawn_local(connection_task(client, receiver));

    // Leaving the page closes the socket with a close frame rather than
    // letting it drop; coming back (from the back/forward cache) reopens it.
    let _ = window_event_listener(leptos::ev::pagehide, move |_| {
        client.save();
        OPEN_SOCKET.with_borrow_mut(|socket| {
            if let Some(socket) = socket.take() {
                let _ = socket.close_with_code_and_reason(CloseCode::Normal.code(), "page closed");
            }
        });
        client.tell_socket(ToSocket::Close);
    });
    let _ = window_event_listener(leptos::ev::pageshow, move |event| {
        if event.persisted() {
            client.reconnect_now();
        }
    });
    // The listeners live as long as the page: their handles are not kept.
    let _ = window_event_listener(leptos::ev::online, move |_| client.reconnect_now());
    client
}

/// Connects, reconnects with backoff, and carries frames both ways, until
/// the page goes away.
async fn connection_task(client: Client, mut commands: UnboundedReceiver<ToSocket>) {
    let mut backoff = Backoff::new();
    let mut number = 0;
    loop {
        // Connect only with something to join: the server closes
        // connections that join nothing in time.
        if !client.chat.with_untracked(Chat::wants_connection) {
            client.chat.update(Chat::idle);
            if !wait_for_reconnect(&mut commands).await {
                return;
            }
            continue;
        }
        number += 1;
        let close_code = match open_socket().await {
            Some(socket) => {
                backoff.reset();
                match serve(client, number, socket, &mut commands).await {
                    Ended::Lost(code) => code,
                    Ended::ClosedByPage => {
                        client.chat.update(|chat| chat.disconnected(None, None));
                        if !wait_for_reconnect(&mut commands).await {
                            return;
                        }
                        continue;
                    }
                    Ended::PageGone => return,
                }
            }
            None => {
                // The upgrade is refused with HTTP 401 when the session
                // has ended (the browser reports only a failure): ask.
                if let Err(error) = crate::api::me().await {
                    if error.is_signed_out() {
                        client.session_ended();
                        continue;
                    }
                }
                None
            }
        };
        let delay = backoff.next_delay_ms(js_sys::Math::random());
        client
            .chat
            .update(|chat| chat.disconnected(Some(delay), close_code));
        match sleep_unless_told(delay, &mut commands).await {
            Wake::TimeIsUp | Wake::Reconnect => {}
            Wake::Close => {
                client.chat.update(|chat| chat.disconnected(None, None));
                if !wait_for_reconnect(&mut commands).await {
                    return;
                }
            }
            Wake::PageGone => return,
        }
    }
}

/// How a connection ended.
enum Ended {
    /// Lost, with the server's close code if it sent one.
    Lost(Option<u16>),
    /// Closed because the page is being left.
    ClosedByPage,
    /// The page is gone (the command channel closed).
    PageGone,
}

/// Opens a WebSocket to this page's server and waits until it is open.
async fn open_socket() -> Option<WebSocket> {
    let url = socket_url()?;
    let raw = web_sys::WebSocket::new(&url).ok()?;
    let mut socket = WebSocket::try_from(raw.clone()).ok()?;
    // Ready once the socket is no longer connecting: open, or failed.
    futures::future::poll_fn(|cx| {
        futures::Sink::<Message>::poll_ready(std::pin::Pin::new(&mut socket), cx)
    })
    .await
    .ok()?;
    if !matches!(socket.state(), State::Open) {
        return None;
    }
    OPEN_SOCKET.with_borrow_mut(|open| *open = Some(raw));
    Some(socket)
}

/// Carries frames over one open connection until it ends.
async fn serve(
    client: Client,
    number: u64,
    mut socket: WebSocket,
    commands: &mut UnboundedReceiver<ToSocket>,
) -> Ended {
    let joins = client
        .chat
        .try_update(|chat| chat.connected(number))
        .unwrap_or_default();
    if send_all(&mut socket, joins).await.is_err() {
        return Ended::Lost(None);
    }
    loop {
        let next = select(socket.next(), commands.next()).await;
        match next {
            Either::Left((Some(Ok(Message::Text(text))), _)) => {
                let now = js_sys::Date::now();
                let done = client
                    .chat
                    .try_update(|chat| chat.receive(Incoming::decode(&text), now))
                    .unwrap_or_default();
                let mut frames = Vec::new();
                for command in done {
                    match command {
                        Command::Send(frame) => frames.push(frame),
                        Command::RejoinLater(room) => schedule_rejoin(client, room),
                        Command::ResendLater(room) => schedule_resend(client, room),
                    }
                }
                if send_all(&mut socket, frames).await.is_err() {
                    return Ended::Lost(None);
                }
            }
            // The protocol has no binary frames from the server.
            Either::Left((Some(Ok(Message::Bytes(_))), _)) => {}
            Either::Left((Some(Err(WebSocketError::ConnectionClose(event))), _)) => {
                forget_open_socket();
                return Ended::Lost(Some(event.code));
            }
            // An `error` event: the `close` event follows.
            Either::Left((Some(Err(_)), _)) => {}
            Either::Left((None, _)) => {
                forget_open_socket();
                return Ended::Lost(None);
            }
            Either::Right((Some(ToSocket::Frames(made_for, frames)), _)) => {
                if made_for == number && send_all(&mut socket, frames).await.is_err() {
                    return Ended::Lost(None);
                }
            }
            Either::Right((Some(ToSocket::Reconnect), _)) => {}
            Either::Right((Some(ToSocket::Close), _)) => {
                forget_open_socket();
                let _ = socket.close(Some(CloseCode::Normal.code()), Some("page closed"));
                return Ended::ClosedByPage;
            }
            Either::Right((None, _)) => {
                let _ = socket.close(Some(CloseCode::Normal.code()), Some("page closed"));
                return Ended::PageGone;
            }
        }
    }
}

fn forget_open_socket() {
    OPEN_SOCKET.with_borrow_mut(|open| *open = None);
}

async fn send_all(socket: &mut WebSocket, frames: Vec<ClientFrame>) -> Result<(), WebSocketError> {
    for frame in frames {
        socket.send(Message::Text(frame.encode())).await?;
    }
    Ok(())
}

fn schedule_rejoin(client: Client, room: RoomName) {
    set_timeout(
        move || client.act(|chat| chat.rejoin(&room)),
        Duration::from_millis(u64::from(REJOIN_DELAY_MS)),
    );
}

fn schedule_resend(client: Client, room: RoomName) {
    set_timeout(
        move || client.act(|chat| chat.resend(&room)),
        Duration::from_millis(u64::from(RESEND_DELAY_MS)),
    );
}

/// Why a wait between attempts ended.
enum Wake {
    TimeIsUp,
    Reconnect,
    Close,
    PageGone,
}

/// Waits `delay_ms`, or less if told to reconnect or close. Frames made
/// meanwhile are dropped: they were made for a connection that is gone.
async fn sleep_unless_told(delay_ms: u32, commands: &mut UnboundedReceiver<ToSocket>) -> Wake {
    let mut timer = std::pin::pin!(sleep(delay_ms));
    loop {
        match select(timer.as_mut(), commands.next()).await {
            Either::Left(_) => return Wake::TimeIsUp,
            Either::Right((Some(ToSocket::Frames(..)), _)) => {}
            Either::Right((Some(ToSocket::Reconnect), _)) => return Wake::Reconnect,
            Either::Right((Some(ToSocket::Close), _)) => return Wake::Close,
            Either::Right((None, _)) => return Wake::PageGone,
        }
    }
}

/// While no connection is wanted (the page closed it, or there is nothing
/// to join): waits until one is. Frames made meanwhile are dropped. Returns
/// false when the page is gone.
async fn wait_for_reconnect(commands: &mut UnboundedReceiver<ToSocket>) -> bool {
    while let Some(command) = commands.next().await {
        if matches!(command, ToSocket::Reconnect) {
            return true;
        }
    }
    false
}

/// Resolves after `ms` milliseconds.
fn sleep(ms: u32) -> impl Future<Output = ()> {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(
            &resolve,
            i32::try_from(ms).unwrap_or(i32::MAX),
        );
    });
    async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

/// `ws://` or `wss://` and this page's own host, then [`SOCKET_PATH`].
fn socket_url() -> Option<String> {
    let location = window().location();
    let scheme = match location.protocol().ok()?.as_str() {
        "https:" => "wss:",
        _ => "ws:",
    };
    Some(format!("{scheme}//{}{SOCKET_PATH}", location.host().ok()?))
}

/// Why older messages did not come.
enum Older {
    /// The session ended (401): sign in again.
    SignedOut,
    /// Anything else, in words.
    Failed(String),
}

/// `GET /api/rooms/{room}/messages?before={before}`, with the browser's
/// `fetch` (gloo-net's HTTP client would add size for one request); the
/// session cookie goes along (same origin).
async fn fetch_older(room: &RoomName, before: MessageId) -> Result<MessagePage, Older> {
    let url = format!("/api/rooms/{room}/messages?before={before}&limit={OLDER_PAGE_LIMIT}");
    let failed = |why: &str| Older::Failed(format!("older messages could not be loaded: {why}"));
    let response = wasm_bindgen_futures::JsFuture::from(window().fetch_with_str(&url))
        .await
        .map_err(|_| failed("no connection"))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| failed("unexpected answer"))?;
    if response.status() == 401 {
        return Err(Older::SignedOut);
    }
    let body = match response.text() {
        Ok(body) => wasm_bindgen_futures::JsFuture::from(body)
            .await
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if !response.ok() {
        let reason = crate::json::from_str::<ErrorFrame>(&body)
            .map(|error| error.message)
            .unwrap_or_else(|_| format!("the server answered {}", response.status()));
        return Err(failed(&reason));
    }
    crate::json::from_str(&body).map_err(|_| failed("unexpected answer"))
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// What this browser kept for the account `user` ([`crate::saved`]).
fn load_account(user: UserId) -> Option<Saved> {
    let text = storage()?.get_item(&saved::key_for(user)).ok().flatten()?;
    Saved::decode(&text)
}

/// Keeps `saved` for the account `owner`, unless it is what was written
/// last.
fn save_account(owner: UserId, saved: &Saved) {
    let Some(storage) = storage() else {
        return;
    };
    let text = saved.encode();
    let key = saved::key_for(owner);
    let unchanged =
        LAST_SAVED.with_borrow(|(last_key, last_text)| *last_key == key && *last_text == text);
    if unchanged {
        return;
    }
    // Full storage: the state stays in the page, kept at the next write.
    if storage.set_item(&key, &text).is_ok() {
        LAST_SAVED.with_borrow_mut(|last| *last = (key, text));
    }
}

/// Milliseconds since the Unix epoch.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// A nonce no other message of this person will have: the time, a random
/// number and a counter.
pub fn new_nonce() -> Nonce {
    let count = NONCE_COUNTER.with(|counter| {
        counter.set(counter.get() + 1);
        counter.get()
    });
    let random = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let raw = format!("{:x}-{random:08x}-{count:x}", now() as u64);
    Nonce::parse(raw).expect("a nonce of at most 40 characters is valid")
}

/// The local time of a message, like "14:05" or "2:05 PM" (as the
/// person's locale writes it).
pub fn local_time(ts: u64) -> String {
    format_date(ts, &[("hour", "numeric"), ("minute", "2-digit")], false)
}

/// The local date and time of a message, for its tooltip.
pub fn local_date_time(ts: u64) -> String {
    format_date(ts, &[("dateStyle", "full"), ("timeStyle", "short")], true)
}

fn format_date(ts: u64, options: &[(&str, &str)], full: bool) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
    let object = js_sys::Object::new();
    for (key, value) in options {
        let _ = js_sys::Reflect::set(&object, &(*key).into(), &(*value).into());
    }
    let locale = window()
        .navigator()
        .language()
        .unwrap_or_else(|| "en".to_owned());
    let text = if full {
        date.to_locale_string(&locale, &object)
    } else {
        date.to_locale_time_string_with_options(&locale, &object)
    };
    text.into()
}

/// The current location's fragment, with its `#`.
pub fn location_hash() -> String {
    window().location().hash().unwrap_or_default()
}

/// Shows `hash` in the address bar without adding a history entry.
pub fn replace_hash(hash: &str) {
    let location = window().location();
    if location.hash().ok().as_deref() != Some(hash) {
        let _ = location.replace(hash);
    }
}

/// Focuses the element with this id, if there is one.
pub fn focus(id: &str) {
    if let Some(element) = document().get_element_by_id(id) {
        if let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
    }
}

/// Focuses the first element matching the CSS selector `css`, if there is one.
pub fn focus_first(css: &str) {
    if let Ok(Some(element)) = document().query_selector(css) {
        if let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
    }
}

/// Whether the window matches the CSS media query `query`.
pub fn media_matches(query: &str) -> bool {
    window()
        .match_media(query)
        .ok()
        .flatten()
        .is_some_and(|list| list.matches())
}
