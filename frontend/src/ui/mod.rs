//! The components. State lives in [`crate::state::Chat`], behind the
//! [`Client`] in context; components read it through memos and change it
//! only with [`Client::act`].
//!
//! - [`App`]: the page: the sign-in page, or the chat once signed in.
//! - `sign_in`: signing in, with the ways to an account the server offers.
//! - `sidebar`: the room list with unread counts, joining a room, who is
//!   signed in and signing out.
//! - `room`: one room: header, connection status, notices, members.
//! - `messages`: the message list (the `role="log"`).
//! - `composer`: the message box.
//! - [`account`]: the account pages, shown instead of the chat.
//! - `settings` (`#/settings`) and `admin` (`#/admin`): pages of the
//!   signed-in client, shown instead of the rooms in the same page load
//!   (its connection stays, and an ended session goes to sign-in as in
//!   the chat); `section`: their one kind of panel; `frame`: the rest
//!   they share.

pub mod account;
mod admin;
mod composer;
mod frame;
mod messages;
mod room;
mod section;
mod settings;
mod sidebar;
mod sign_in;

use crate::account_forms::explain;
use crate::api;
use crate::route::{self, Page};
use crate::web::{self, Client};
use leptos::either::Either;
use leptos::prelude::*;

/// Mounts the app in the page's body.
pub fn mount() {
    leptos::mount::mount_to_body(App);
}

/// What the page shows while nobody is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gate {
    /// `GET /api/me` is on its way.
    Checking,
    /// Not signed in (or no longer): the sign-in page.
    SignIn,
    /// The server could not say; why, in words.
    Unreachable(String),
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    // The account pages (setup, sign-up, password reset).
    if let Some(page) = account::page_for_location() {
        return page;
    }
    let client = web::start(route::room_from_hash(&web::location_hash()));
    provide_context(client);
    let chat = client.chat;
    let gate = RwSignal::new(Gate::Checking);
    // Who is signed in, if anyone: the cookie says, not this page.
    let check = move || {
        gate.set(Gate::Checking);
        leptos::task::spawn_local(async move {
            match api::me().await {
                Ok(me) => {
                    client.sign_in(&me);
                    // Where the page goes should the session end.
                    gate.set(Gate::SignIn);
                }
                Err(error) if error.is_signed_out() => gate.set(Gate::SignIn),
                Err(error) => gate.set(Gate::Unreachable(explain(&error))),
            }
        });
    };
    check();

    // The address names the room shown, or the settings or administration
    // page; following a link or going back opens that room (joining it
    // when needed) or page.
    let page = RwSignal::new(route::page_from_hash(&web::location_hash()));
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        let hash = web::location_hash();
        page.set(route::page_from_hash(&hash));
        if let Some(room) = route::room_from_hash(&hash) {
            client.act(|chat| chat.open_room(room));
        }
    });
    let signed_in = Memo::new(move |_| chat.with(|chat| chat.me().is_some()));
    Effect::new(move |_| {
        if let Some(room) = chat.with(|chat| chat.active().cloned()) {
            // A page's address stays while it is shown.
            if signed_in.get_untracked() && page.get_untracked().is_none() {
                web::replace_hash(&route::hash_for(&room));
            }
        }
    });
    // Keep the rooms, drafts and outbox for the next page of this person.
    Effect::new(move |_| {
        chat.track();
        client.save();
    });
    // The tab's title shows the room and the unread count.
    Effect::new(move |_| {
        let (unread, active) = chat.with(|chat| (chat.total_unread(), chat.active().cloned()));
        let title = match (signed_in.get(), unread, page.get()) {
            (false, ..) => "Sign in · Chat".to_owned(),
            (true, _, Some(Page::Settings)) => "Settings · Chat".to_owned(),
            (true, _, Some(Page::Admin)) => "Administration · Chat".to_owned(),
            (true, 0, None) => format!("{}Chat", room_prefix(active.as_ref())),
            (true, n, None) => format!("({n}) {}Chat", room_prefix(active.as_ref())),
        };
        document().set_title(&title);
    });

    // A memo, so that the chat is drawn once per sign-in, not again when
    // the gate changes behind it.
    let screen = Memo::new(move |_| {
        if signed_in.get() {
            None
        } else {
            Some(gate.get())
        }
    });
    (move || match screen.get() {
        None => (move || match page.get() {
            None => Either::Left(view! { <ChatScreen /> }),
            Some(Page::Settings) => Either::Right(Either::Left(settings::settings_page())),
            Some(Page::Admin) => Either::Right(Either::Right(admin::admin_page())),
        })
        .into_any(),
        Some(Gate::Checking) => view! { <main class="welcome" aria-busy="true"></main> }.into_any(),
        Some(Gate::SignIn) => view! { <sign_in::SignInPage /> }.into_any(),
        Some(Gate::Unreachable(reason)) => {
            view! { <Unreachable reason=reason retry=Callback::new(move |()| check()) /> }
                .into_any()
        }
    })
    .into_any()
}

fn room_prefix(room: Option<&common::RoomName>) -> String {
    room.map(|room| format!("#{room} · ")).unwrap_or_default()
}

/// The server did not answer whether anyone is signed in.
#[component]
fn Unreachable(
    /// Why, in words.
    reason: String,
    /// Asks again.
    retry: Callback<()>,
) -> impl IntoView {
    request_animation_frame(|| web::focus("retry-me"));
    view! {
        <main class="welcome">
            <div class="card">
                <account::BrandMark />
                <h1>"Chat"</h1>
                <p class="field-error" role="alert">{reason}</p>
                <div class="actions">
                    <button type="button" id="retry-me" class="primary" on:click=move |_| retry.run(())>
                        "Try again"
                    </button>
                </div>
            </div>
        </main>
    }
}

/// The media query of the phone layout, where the room list is a drawer:
/// the same as `frontend/style.css`'s. In `em`, which follow the browser's
/// text size, so that larger text gets the narrower layout sooner.
pub const PHONE_LAYOUT: &str = "(max-width: 43.75em)";

/// The id of the button that opens the room list drawer.
pub const ROOMS_TOGGLE_ID: &str = "rooms-toggle";

/// Sidebar, room and member list, laid out for the screen's width.
#[component]
fn ChatScreen() -> impl IntoView {
    let client = expect_context::<Client>();
    let chat = client.chat;
    let active = Memo::new(move |_| chat.with(|chat| chat.active().cloned()));
    // On a phone the room list is a drawer.
    let rooms_open = RwSignal::new(false);
    // Following a room link or pressing Escape closes the drawer; Escape
    // gives the focus back to the button that opened it, so that a
    // keyboard user goes on from where they were. The listeners go with
    // this screen (it is left when the person signs out).
    let close_on_navigation =
        window_event_listener(leptos::ev::hashchange, move |_| rooms_open.set(false));
    let close_on_escape = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape" && rooms_open.get_untracked() {
            rooms_open.set(false);
            // Once the page is no longer inert, which is drawn after this.
            request_animation_frame(|| web::focus(ROOMS_TOGGLE_ID));
        }
    });
    // The rest of the page is inert while the drawer is open: a window
    // widened past a phone's shows no drawer, so it must not stay open.
    let close_when_wide = window_event_listener(leptos::ev::resize, move |_| {
        if rooms_open.get_untracked() && !web::media_matches(PHONE_LAYOUT) {
            rooms_open.set(false);
        }
    });
    on_cleanup(move || {
        close_on_navigation.remove();
        close_on_escape.remove();
        close_when_wide.remove();
    });
    view! {
        <div class="chat" class:rooms-open=move || rooms_open.get()>
            <sidebar::Sidebar />
            <div class="scrim" on:click=move |_| rooms_open.set(false)></div>
            {move || match active.get() {
                Some(room) => view! { <room::RoomView room=room rooms_open=rooms_open /> }.into_any(),
                None => view! { <room::NoRoom rooms_open=rooms_open /> }.into_any(),
            }}
        </div>
    }
}

/// A person's initial in a coloured circle; the colour comes from the name.
/// The initial is shown in upper case by the style sheet
/// (`text-transform`), with the browser's Unicode tables rather than a copy
/// of them in the client.
#[component]
fn Avatar(
    /// Whose avatar.
    name: String,
) -> impl IntoView {
    let initial: String = name.chars().next().map(String::from).unwrap_or_default();
    let hue = crate::timeline::hue_of(&name);
    view! {
        <span class="avatar" aria-hidden="true" style=format!("--hue: {hue}")>{initial}</span>
    }
}

/// The text with its first letter in upper case: server messages start in
/// lower case, as they are meant to be embedded in sentences. They are
/// English and start with an ASCII letter; anything else is left as it is
/// (no Unicode case tables in the client for this).
pub fn capitalized(text: &str) -> String {
    let mut text = text.to_owned();
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::capitalized;

    #[test]
    fn a_text_is_capitalized_by_its_ascii_first_letter() {
        assert_eq!(capitalized("the room is full"), "The room is full");
        assert_eq!(capitalized("Done"), "Done");
        assert_eq!(capitalized(""), "");
        assert_eq!(capitalized("3 tries left"), "3 tries left");
        // A first letter beyond ASCII stays as it is (and nothing breaks).
        assert_eq!(capitalized("élan"), "élan");
    }
}
