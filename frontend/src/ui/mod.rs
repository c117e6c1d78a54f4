//! The components. State lives in [`crate::state::Chat`], behind the
//! [`Client`] in context; components read it through memos and change it
//! only with [`Client::act`].
//!
//! - [`App`]: the page: the name screen, or the chat.
//! - `name`: choosing (or changing) the display name.
//! - `sidebar`: the room list with unread counts, joining a room.
//! - `room`: one room: header, connection status, notices, members.
//! - `messages`: the message list (the `role="log"`).
//! - `composer`: the message box.
//! - [`account`]: the account pages, shown instead of the chat.

pub mod account;
mod composer;
mod messages;
mod name;
mod room;
mod sidebar;

use crate::route;
use crate::web::{self, Client};
use leptos::prelude::*;

/// Mounts the app in the page's body.
pub fn mount() {
    leptos::mount::mount_to_body(App);
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
    let editing_name = RwSignal::new(false);
    provide_context(EditingName(editing_name));

    // The address names the room shown; following a link or going back
    // opens that room (joining it when needed).
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(room) = route::room_from_hash(&web::location_hash()) {
            client.act(|chat| chat.open_room(room));
        }
    });
    Effect::new(move |_| {
        if let Some(room) = chat.with(|chat| chat.active().cloned()) {
            web::replace_hash(&route::hash_for(&room));
        }
    });
    // Remember the name and the rooms for the next visit.
    Effect::new(move |_| {
        chat.with(|chat| {
            let rooms: Vec<_> = chat
                .rooms()
                .iter()
                .map(|room| room.name().clone())
                .collect();
            web::save(chat.name(), &rooms);
        });
    });
    // The tab's title shows the room and the unread count.
    Effect::new(move |_| {
        let (unread, active) = chat.with(|chat| (chat.total_unread(), chat.active().cloned()));
        let room = active.map(|room| format!("#{room} · ")).unwrap_or_default();
        let title = match unread {
            0 => format!("{room}Chat"),
            n => format!("({n}) {room}Chat"),
        };
        document().set_title(&title);
    });

    let asks_name = Memo::new(move |_| {
        editing_name.get()
            || chat.with(|chat| chat.name().is_none() || chat.name_problem().is_some())
    });
    view! {
        <Show when=move || asks_name.get() fallback=|| view! { <ChatScreen /> }>
            <name::NameScreen />
        </Show>
    }
    .into_any()
}

/// The media query of the phone layout, where the room list is a drawer:
/// the same as `frontend/style.css`'s. In `em`, which follow the browser's
/// text size, so that larger text gets the narrower layout sooner.
pub const PHONE_LAYOUT: &str = "(max-width: 43.75em)";

/// The id of the button that opens the room list drawer.
pub const ROOMS_TOGGLE_ID: &str = "rooms-toggle";

/// Whether the person asked to change their name; in context.
#[derive(Clone, Copy)]
pub struct EditingName(pub RwSignal<bool>);

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
    // this screen (it is left to change the name).
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
#[component]
fn Avatar(
    /// Whose avatar.
    name: String,
) -> impl IntoView {
    let initial: String = name
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    let hue = crate::timeline::hue_of(&name);
    view! {
        <span class="avatar" aria-hidden="true" style=format!("--hue: {hue}")>{initial}</span>
    }
}
