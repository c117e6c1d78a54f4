//! Choosing the display name: the first screen, and where a refused name
//! (taken in a room, or invalid) sends the person back to.

use super::EditingName;
use crate::web::{self, Client};
use common::values::{NAME_MAX_CHARS, ROOM_MAX_CHARS};
use common::{DisplayName, RoomName};
use leptos::prelude::*;

/// The room offered on the first visit.
const DEFAULT_ROOM: &str = "lobby";

/// The name form, with the room to join on a first visit.
#[component]
pub fn NameScreen() -> impl IntoView {
    let client = expect_context::<Client>();
    let EditingName(editing) = expect_context::<EditingName>();
    let chat = client.chat;
    let first_visit = chat.with_untracked(|chat| chat.name().is_none());
    let name = RwSignal::new(
        chat.with_untracked(|chat| chat.name().map(ToString::to_string))
            .unwrap_or_default(),
    );
    let room = RwSignal::new(
        chat.with_untracked(|chat| chat.active().map(ToString::to_string))
            .unwrap_or_else(|| DEFAULT_ROOM.to_owned()),
    );
    let local_error = RwSignal::new(None::<String>);
    let error = move || {
        local_error
            .get()
            .or_else(|| chat.with(|chat| chat.name_problem().map(capitalized)))
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let parsed_name = match DisplayName::parse(name.get_untracked()) {
            Ok(parsed) => parsed,
            Err(err) => {
                local_error.set(Some(capitalized(&err.to_string())));
                web::focus("name");
                return;
            }
        };
        let parsed_room = if first_visit {
            match RoomName::parse(room.get_untracked().trim()) {
                Ok(parsed) => Some(parsed),
                Err(err) => {
                    local_error.set(Some(capitalized(&err.to_string())));
                    web::focus("first-room");
                    return;
                }
            }
        } else {
            None
        };
        local_error.set(None);
        client.act(|chat| {
            let mut frames = chat.set_name(parsed_name);
            if let Some(room) = parsed_room {
                frames.extend(chat.open_room(room));
            }
            frames
        });
        editing.set(false);
        request_animation_frame(|| web::focus("message"));
    };
    let cancel = move |_| {
        editing.set(false);
    };
    let can_cancel = move || !first_visit && chat.with(|chat| chat.name_problem().is_none());
    Effect::new(move |_| web::focus("name"));
    view! {
        <main class="welcome">
            <form class="card" on:submit=submit novalidate>
                <span class="brand-mark" aria-hidden="true">
                    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                        <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"></path>
                    </svg>
                </span>
                <h1>{if first_visit { "Welcome to Chat" } else { "Your name" }}</h1>
                <p class="muted">
                    {if first_visit {
                        "Pick a name that others will see, and a room to start in."
                    } else {
                        "Others see this name next to your messages."
                    }}
                </p>
                <label for="name">"Name"</label>
                <input
                    id="name"
                    name="name"
                    autocomplete="nickname"
                    maxlength=NAME_MAX_CHARS * 2
                    required
                    aria-invalid=move || error().is_some().to_string()
                    aria-describedby="name-error"
                    prop:value=move || name.get()
                    on:input:target=move |event| name.set(event.target().value())
                />
                {first_visit
                    .then(|| {
                        view! {
                            <label for="first-room">"Room"</label>
                            <div class="room-input">
                                <span aria-hidden="true">"#"</span>
                                <input
                                    id="first-room"
                                    name="room"
                                    autocapitalize="none"
                                    spellcheck="false"
                                    maxlength=ROOM_MAX_CHARS
                                    prop:value=move || room.get()
                                    on:input:target=move |event| room.set(event.target().value())
                                />
                            </div>
                            <p class="hint">"Lower-case letters, digits, - and _."</p>
                        }
                    })}
                <p id="name-error" class="field-error" role="alert">
                    {error}
                </p>
                <div class="actions">
                    {move || {
                        can_cancel()
                            .then(|| {
                                view! {
                                    <button type="button" class="secondary" on:click=cancel>
                                        "Cancel"
                                    </button>
                                }
                            })
                    }}
                    <button type="submit" class="primary">
                        {if first_visit { "Join" } else { "Save" }}
                    </button>
                </div>
            </form>
        </main>
    }
}

/// The text with its first letter in upper case: server messages start in
/// lower case, as they are meant to be embedded in sentences.
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
