//! The room list with unread counts, the form to join another room, and
//! who is signed in, with the ways to the settings, the administration
//! (for administrators) and signing out.

use super::capitalized;
use crate::route::{self, Page};
use crate::state::Membership;
use crate::web::{self, Client};
use common::values::ROOM_MAX_CHARS;
use common::RoomName;
use leptos::prelude::*;

/// What the room list shows of one room.
#[derive(Debug, Clone, PartialEq)]
struct RoomItem {
    name: RoomName,
    unread: u32,
    active: bool,
    joined: bool,
}

/// The sidebar (a drawer on a phone).
#[component]
pub fn Sidebar() -> impl IntoView {
    let client = expect_context::<Client>();
    let chat = client.chat;
    let rooms = Memo::new(move |_| {
        chat.with(|chat| {
            chat.rooms()
                .iter()
                .map(|room| RoomItem {
                    name: room.name().clone(),
                    unread: room.unread(),
                    active: chat.active() == Some(room.name()),
                    joined: *room.membership() == Membership::Joined,
                })
                .collect::<Vec<_>>()
        })
    });
    let me = Memo::new(move |_| {
        chat.with(|chat| chat.me().map(|me| me.display_name.to_string()))
            .unwrap_or_default()
    });
    view! {
        <aside class="sidebar" id="sidebar">
            <div class="brand">
                <span class="brand-mark" aria-hidden="true">
                    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                        <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"></path>
                    </svg>
                </span>
                <span>"Chat"</span>
            </div>
            <nav aria-label="Rooms">
                <h2 class="section-title">"Rooms"</h2>
                <ul class="room-list">
                    <For
                        each=move || rooms.get()
                        key=|item| (item.name.clone(), item.unread, item.active, item.joined)
                        children=move |item| view! { <RoomLink item=item /> }
                    />
                </ul>
            </nav>
            <JoinRoom />
            <div class="me">
                {move || view! { <super::Avatar name=me.get() /> }}
                <div class="me-name">
                    <span class="muted small">"Signed in as"</span>
                    <strong>{move || me.get()}</strong>
                </div>
                <a href=Page::Settings.hash() id="settings-link" class="link-button">"Settings"</a>
                <Show when=move || client.admin.get()>
                    <a href=Page::Admin.hash() id="admin-link" class="link-button">"Administration"</a>
                </Show>
                <button type="button" id="sign-out" class="link-button" on:click=move |_| client.sign_out()>
                    "Sign out"
                </button>
            </div>
        </aside>
    }
}

/// One entry of the room list: a link to the room, with its unread count.
#[component]
fn RoomLink(
    /// The room and its counts.
    item: RoomItem,
) -> impl IntoView {
    let label = match item.unread {
        0 => format!("#{}", item.name),
        1 => format!("#{}, 1 unread message", item.name),
        n => format!("#{}, {n} unread messages", item.name),
    };
    let badge = (item.unread > 0).then(|| {
        let count = if item.unread > 99 {
            "99+".to_owned()
        } else {
            item.unread.to_string()
        };
        view! { <span class="badge" aria-hidden="true">{count}</span> }
    });
    view! {
        <li>
            <a
                href=route::hash_for(&item.name)
                class="room-link"
                class:active=item.active
                class:unread={item.unread > 0}
                class:offline={!item.joined}
                aria-current=item.active.then_some("page")
                aria-label=label
                data-room=item.name.to_string()
            >
                <span class="hash" aria-hidden="true">"#"</span>
                <span class="room-name">{item.name.to_string()}</span>
                // A space between the name and the count, so that what the
                // link shows ("second 2") reads as words of its label
                // (WCAG 2.5.3, label in name).
                " "
                {badge}
            </a>
        </li>
    }
}

/// The field to join (or create) another room by its name.
#[component]
fn JoinRoom() -> impl IntoView {
    let client = expect_context::<Client>();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let raw = value.get_untracked();
        // People type "#dev" or "Dev"; room names are lower case without '#'.
        // Only ASCII letters can be in one, so ASCII lower case is all it
        // takes (and keeps the standard library's Unicode case tables, some
        // 20 KB, out of the client).
        let cleaned = raw.trim().trim_start_matches('#').to_ascii_lowercase();
        if cleaned.is_empty() {
            return;
        }
        match RoomName::parse(cleaned) {
            Ok(room) => {
                error.set(None);
                value.set(String::new());
                client.act(|chat| chat.open_room(room));
                request_animation_frame(|| web::focus("message"));
            }
            Err(err) => error.set(Some(capitalized(&err.to_string()))),
        }
    };
    view! {
        <form class="join-room" on:submit=submit>
            <label for="join-room" class="section-title">"Room"</label>
            <div class="join-row">
                <input
                    id="join-room"
                    placeholder="room-name"
                    autocapitalize="none"
                    spellcheck="false"
                    maxlength=ROOM_MAX_CHARS + 1
                    aria-describedby="join-room-error"
                    prop:value=move || value.get()
                    on:input:target=move |event| value.set(event.target().value())
                />
                <button type="submit" class="secondary">"Join"</button>
            </div>
            <p id="join-room-error" class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}
