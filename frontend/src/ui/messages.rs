//! The message list: `role="log"` named "Messages". It sticks to the
//! bottom while new messages come, unless the reader scrolled up; reaching
//! the top loads older messages.

use crate::linkify::{segments, Segment};
use crate::timeline::{self, Row, RowStatus};
use crate::web::{self, Client};
use common::RoomName;
use leptos::html::Div;
use leptos::prelude::*;

/// What the "(no account)" mark beside an author means, for a pointer's
/// tooltip; the mark itself is text, read out with the name.
const NO_ACCOUNT_TITLE: &str =
    "Written before this chat had accounts: anyone could use this name then";

/// Closer to the bottom than this (in CSS pixels) counts as at the bottom.
const BOTTOM_SLACK_PX: i32 = 48;
/// Closer to the top than this starts loading older messages.
const LOAD_OLDER_WITHIN_PX: i32 = 120;

/// Where the list was before its rows changed.
#[derive(Clone, Default)]
struct ScrollMemory {
    first_key: Option<String>,
    last_key: Option<String>,
    scroll_height: i32,
}

/// The messages of one room.
#[component]
pub fn MessageList(
    /// The room.
    room: RoomName,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let chat = client.chat;
    let rows = {
        let room = room.clone();
        Memo::new(move |_| {
            chat.with(|chat| {
                chat.room(&room)
                    .map(|entry| timeline::rows(entry, chat.me()))
                    .unwrap_or_default()
            })
        })
    };
    let older = {
        let room = room.clone();
        Memo::new(move |_| {
            chat.with(|chat| {
                chat.room(&room)
                    .map(|entry| (entry.has_older(), entry.loading_older()))
                    .unwrap_or_default()
            })
        })
    };
    let log = NodeRef::<Div>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(false);
    let memory = StoredValue::new(ScrollMemory::default());

    // After the rows change: keep the view at the bottom if it was there,
    // and keep older messages loaded above from moving what is read.
    Effect::new(move |_| {
        let current = rows.with(|rows| {
            (
                rows.first().map(|row| row.key.clone()),
                rows.last().map(|row| row.key.clone()),
            )
        });
        let Some(element) = log.get() else {
            return;
        };
        let before = memory.get_value();
        let prepended = before.first_key.is_some()
            && before.first_key != current.0
            && before.last_key == current.1;
        if prepended {
            let grown = element.scroll_height() - before.scroll_height;
            element.set_scroll_top(element.scroll_top() + grown);
        } else if at_bottom.get_untracked() {
            element.set_scroll_top(element.scroll_height());
        } else if before.last_key != current.1 {
            unseen.set(true);
        }
        memory.set_value(ScrollMemory {
            first_key: current.0,
            last_key: current.1,
            scroll_height: element.scroll_height(),
        });
    });

    let load_room = room.clone();
    let on_scroll = move |_| {
        let Some(element) = log.get() else {
            return;
        };
        let bottom = element.scroll_height() - element.scroll_top() - element.client_height();
        let is_at_bottom = bottom <= BOTTOM_SLACK_PX;
        at_bottom.set(is_at_bottom);
        if is_at_bottom {
            unseen.set(false);
        }
        if element.scroll_top() <= LOAD_OLDER_WITHIN_PX {
            client.load_older(load_room.clone());
        }
    };
    let jump_down = move |_| {
        if let Some(element) = log.get() {
            element.set_scroll_top(element.scroll_height());
        }
        at_bottom.set(true);
        unseen.set(false);
        web::focus("message");
    };
    let button_room = room.clone();
    view! {
        <div class="log-wrap">
            <div
                class="log"
                role="log"
                aria-label="Messages"
                tabindex="0"
                node_ref=log
                on:scroll=on_scroll
            >
                {move || match older.get() {
                    (_, true) => Some(view! { <p class="older muted">"Loading older messages…"</p> }.into_any()),
                    (true, false) => {
                        let room = button_room.clone();
                        Some(
                            view! {
                                <button
                                    type="button"
                                    class="older link-button"
                                    on:click=move |_| client.load_older(room.clone())
                                >
                                    "Load older messages"
                                </button>
                            }
                                .into_any(),
                        )
                    }
                    (false, false) => None,
                }}
                {move || {
                    (rows.with(Vec::is_empty) && !older.get().0)
                        .then(|| {
                            view! {
                                <div class="empty">
                                    <p>"No messages yet."</p>
                                    <p class="muted">"Say hello!"</p>
                                </div>
                            }
                        })
                }}
                <For
                    each=move || rows.get()
                    key=|row| row.key.clone()
                    children=move |row| view! { <MessageRow row=row room=room.clone() /> }
                />
            </div>
            {move || {
                unseen
                    .get()
                    .then(|| {
                        view! {
                            <button type="button" class="jump" on:click=jump_down>
                                "New messages ↓"
                            </button>
                        }
                    })
            }}
        </div>
    }
}

/// One message: the author and time when it starts a group, the text with
/// clickable links, and how far it got when it is one's own and pending.
#[component]
fn MessageRow(
    /// What to show.
    row: Row,
    /// Its room (to retry or discard a refused message).
    room: RoomName,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let header = row.starts_group.then(|| {
        let time = row.ts.map(|ts| {
            view! {
                <time title=web::local_date_time(ts) datetime=ts.to_string()>
                    {web::local_time(ts)}
                </time>
            }
        });
        view! {
            <div class="msg-head">
                <span class="author">{row.author.clone()}</span>
                {row.no_account.then(|| view! {
                    <span class="muted small no-account" title=NO_ACCOUNT_TITLE>
                        "(no account)"
                    </span>
                })}
                {time}
            </div>
        }
    });
    let avatar = row
        .starts_group
        .then(|| view! { <super::Avatar name=row.author.clone() /> });
    let text: Vec<AnyView> = segments(&row.text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.to_owned().into_any(),
            Segment::Link { text, href } => view! {
                <a href=href target="_blank" rel="noopener noreferrer nofollow">
                    {text.to_owned()}
                </a>
            }
            .into_any(),
        })
        .collect();
    let status = match (&row.status, row.nonce.clone()) {
        (RowStatus::Confirmed, _) | (_, None) => None,
        (RowStatus::Queued, _) => {
            Some(view! { <p class="msg-state">"Waiting for the connection…"</p> }.into_any())
        }
        (RowStatus::Sending, _) => Some(view! { <p class="msg-state">"Sending…"</p> }.into_any()),
        (RowStatus::Failed(reason), Some(nonce)) => {
            let retry_room = room.clone();
            let retry_nonce = nonce.clone();
            Some(
                view! {
                    <p class="msg-state failed">
                        <span>{format!("Not sent: {reason}.")}</span>
                        <button
                            type="button"
                            class="link-button"
                            on:click=move |_| {
                                let (room, nonce) = (retry_room.clone(), retry_nonce.clone());
                                client.act(move |chat| chat.retry(&room, &nonce))
                            }
                        >
                            "Retry"
                        </button>
                        <button
                            type="button"
                            class="link-button"
                            on:click=move |_| {
                                let (room, nonce) = (room.clone(), nonce.clone());
                                client.chat.update(move |chat| chat.discard(&room, &nonce))
                            }
                        >
                            "Delete"
                        </button>
                    </p>
                }
                .into_any(),
            )
        }
    };
    let pending = row.status != RowStatus::Confirmed;
    view! {
        <div
            class="msg"
            class:own=row.own
            class:first=row.starts_group
            class:pending=pending
            data-id=row.id.map(|id| id.to_string())
        >
            <div class="msg-gutter">{avatar}</div>
            <div class="msg-body">
                {header}
                <p class="msg-text">{text}</p>
                {status}
            </div>
        </div>
    }
}
