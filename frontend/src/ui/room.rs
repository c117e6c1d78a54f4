//! One room: its header (with the connection status), notices, the message
//! list, who is typing, the message box, and the member list.

use super::composer::Composer;
use super::messages::MessageList;
use super::{capitalized, Avatar, ROOMS_TOGGLE_ID};
use crate::state::{Connection, Membership};
use crate::timeline;
use crate::web::{self, Client};
use common::RoomName;
use leptos::prelude::*;
use std::time::Duration;

/// The id of the button that shows the member list on narrow screens.
const MEMBERS_TOGGLE_ID: &str = "members-toggle";

/// How often the "… is typing" line is brought up to date.
const TYPING_CLOCK: Duration = Duration::from_secs(1);

/// The room shown.
#[component]
pub fn RoomView(
    /// The room.
    room: RoomName,
    /// Whether the room list drawer is open (phones).
    rooms_open: RwSignal<bool>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let chat = client.chat;
    let members_open = RwSignal::new(false);
    let members = {
        let room = room.clone();
        Memo::new(move |_| {
            chat.with(|chat| {
                chat.room(&room)
                    .map(|entry| {
                        entry
                            .members()
                            .iter()
                            .map(|member| {
                                (
                                    member.user_id,
                                    member.display_name.to_string(),
                                    entry.is_me(Some(member.user_id)),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let membership = {
        let room = room.clone();
        Memo::new(move |_| {
            chat.with(|chat| chat.room(&room).map(|entry| entry.membership().clone()))
        })
    };
    let leave = {
        let room = room.clone();
        move |_| client.leave(room.clone())
    };
    // What the room shows while the page is seen is read: marked at each
    // new message, and when the page is seen again.
    {
        let room = room.clone();
        let watched = room.clone();
        let newest = Memo::new(move |_| {
            chat.with(|chat| chat.room(&watched).and_then(|entry| entry.last_id()))
        });
        let marked = room.clone();
        Effect::new(move |_| {
            newest.track();
            if !web::page_hidden() {
                client.mark_read(&marked);
            }
        });
        let seen = window_event_listener(leptos::ev::visibilitychange, move |_| {
            if !web::page_hidden() {
                client.mark_read(&room);
            }
        });
        on_cleanup(move || seen.remove());
    }
    let title = format!("#{room}");
    let leave_label = format!("Leave #{room}");
    // Focus the message box when a room opens, as chat apps do.
    request_animation_frame(|| web::focus("message"));
    // Escape closes the member list (where it is a panel over the room)
    // and gives the focus back to its button.
    let close_on_escape = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape" && members_open.get_untracked() {
            members_open.set(false);
            web::focus(MEMBERS_TOGGLE_ID);
        }
    });
    on_cleanup(move || close_on_escape.remove());
    view! {
        <main
            class="room"
            class:members-open=move || members_open.get()
            inert=move || rooms_open.get()
        >
            <header class="room-header">
                <RoomsToggle rooms_open=rooms_open unread_dot=true />
                <div class="room-title">
                    <h1>{title}</h1>
                    <span class="muted small">
                        {move || match members.with(Vec::len) {
                            1 => "1 member".to_owned(),
                            n => format!("{n} members"),
                        }}
                    </span>
                </div>
                <ConnectionStatus />
                <button
                    type="button"
                    id=MEMBERS_TOGGLE_ID
                    class="secondary small-button only-narrow"
                    aria-controls="members"
                    aria-expanded=move || members_open.get().to_string()
                    on:click=move |_| members_open.update(|open| *open = !*open)
                >
                    "Members"
                </button>
                <button type="button" class="secondary small-button" aria-label=leave_label on:click=leave>
                    "Leave"
                </button>
            </header>
            <JoinProblem room=room.clone() membership=membership />
            <MessageList room=room.clone() />
            <TypingLine room=room.clone() />
            <Notices room=room.clone() />
            <Composer room=room.clone() />
        </main>
        <aside
            class="members"
            id="members"
            aria-label="Members"
            class:open=move || members_open.get()
            inert=move || rooms_open.get()
        >
            <h2 class="section-title">
                "Members " <span class="count">{move || members.with(Vec::len)}</span>
            </h2>
            <ul class="member-list">
                <For
                    each=move || members.get()
                    key=|member| member.clone()
                    children=|(_, name, me)| {
                        view! {
                            <li>
                                <Avatar name=name.clone() />
                                <span class="member-name">{name}</span>
                                {me.then(|| view! { <span class="muted small">" (you)"</span> })}
                            </li>
                        }
                    }
                />
            </ul>
        </aside>
    }
}

/// Shown when no room is open: an invitation to join one.
#[component]
pub fn NoRoom(
    /// Whether the room list drawer is open (phones).
    rooms_open: RwSignal<bool>,
) -> impl IntoView {
    // Where to go from here: the Room field.
    request_animation_frame(|| web::focus("join-room"));
    view! {
        <main class="room empty-room" inert=move || rooms_open.get()>
            <header class="room-header">
                <RoomsToggle rooms_open=rooms_open unread_dot=false />
                <div class="room-title">
                    <h1>"No room open"</h1>
                </div>
                <ConnectionStatus />
            </header>
            <div class="empty">
                <p>"You are not in any room. Join one with the Room field in the list of rooms."</p>
            </div>
        </main>
    }
}

/// The phone-width button that opens and closes the room list.
#[component]
fn RoomsToggle(
    /// Whether the room list is open.
    rooms_open: RwSignal<bool>,
    /// Whether it carries the dot that says another room has unread messages.
    unread_dot: bool,
) -> impl IntoView {
    // Opening the drawer takes the focus into it (to the room shown), so
    // that a keyboard user is where they can act; the rest is inert.
    let toggle = move |_| {
        let open = !rooms_open.get_untracked();
        rooms_open.set(open);
        if open {
            request_animation_frame(|| {
                web::focus_first("#sidebar a[aria-current='page'], #sidebar a, #join-room");
            });
        }
    };
    view! {
        <button
            type="button"
            id=ROOMS_TOGGLE_ID
            class="icon-button only-phone"
            aria-label="Rooms"
            aria-controls="sidebar"
            aria-expanded=move || rooms_open.get().to_string()
            on:click=toggle
        >
            <span aria-hidden="true">"☰"</span>
            {unread_dot.then(|| view! { <UnreadDot /> })}
        </button>
    }
}

/// A dot on the phone's menu button while other rooms have unread messages.
#[component]
fn UnreadDot() -> impl IntoView {
    let chat = expect_context::<Client>().chat;
    let unread = Memo::new(move |_| chat.with(|chat| chat.total_unread()));
    move || (unread.get() > 0).then(|| view! { <span class="dot"></span> })
}

/// The state of the connection, in words (`role="status"`), with a way to
/// retry at once while offline.
#[component]
fn ConnectionStatus() -> impl IntoView {
    let client = expect_context::<Client>();
    let connection = Memo::new(move |_| client.chat.with(|chat| chat.connection().clone()));
    let text = move || match connection.get() {
        Connection::Connecting => "Connecting…".to_owned(),
        Connection::Online => "Connected".to_owned(),
        Connection::Offline { retry_in_ms } => {
            let seconds = retry_in_ms.div_ceil(1000);
            format!("Offline: reconnecting in {seconds} s")
        }
        Connection::Closed => "Disconnected".to_owned(),
        Connection::Idle => "Not connected".to_owned(),
    };
    let class = move || match connection.get() {
        Connection::Online => "status online",
        Connection::Connecting => "status connecting",
        Connection::Offline { .. } | Connection::Closed => "status offline",
        Connection::Idle => "status idle",
    };
    let offline = move || {
        matches!(
            connection.get(),
            Connection::Offline { .. } | Connection::Closed
        )
    };
    view! {
        <div class="status-area">
            <div role="status" class=class>
                <span class="status-dot" aria-hidden="true"></span>
                <span class="status-text">{text}</span>
            </div>
            {move || {
                offline()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="link-button small"
                                on:click=move |_| client.reconnect_now()
                            >
                                "Retry now"
                            </button>
                        }
                    })
            }}
        </div>
    }
}

/// Why this client is not in the room, when it is not, and what to do.
#[component]
fn JoinProblem(
    /// The room.
    room: RoomName,
    /// Where this client stands in it.
    membership: Memo<Option<Membership>>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    move || match membership.get() {
        Some(Membership::Refused(reason)) => {
            let room = room.clone();
            Some(
                view! {
                    <div class="banner warning" role="alert">
                        <span>{format!("Not in #{room}: {reason}.")}</span>
                        <button
                            type="button"
                            class="link-button"
                            on:click=move |_| {
                                let room = room.clone();
                                client.act(move |chat| chat.rejoin_now(&room))
                            }
                        >
                            "Try again"
                        </button>
                    </div>
                }
                .into_any(),
            )
        }
        Some(Membership::Joining) => {
            Some(view! { <div class="banner subtle">"Joining…"</div> }.into_any())
        }
        _ => None,
    }
}

/// "… is typing", kept current by a clock.
#[component]
fn TypingLine(
    /// The room.
    room: RoomName,
) -> impl IntoView {
    let chat = expect_context::<Client>().chat;
    let now = RwSignal::new(web::now());
    let clock = set_interval_with_handle(move || now.set(web::now()), TYPING_CLOCK).ok();
    on_cleanup(move || {
        if let Some(clock) = clock {
            clock.clear();
        }
    });
    let line = Memo::new(move |_| {
        let now = now.get();
        chat.with(|chat| {
            chat.room(&room)
                .map(|entry| timeline::typing_line(&entry.typing(now)))
                .unwrap_or_default()
        })
    });
    view! { <div class="typing" aria-hidden="true">{move || line.get()}</div> }
}

/// Problems in words: about this room, or about the connection in general.
#[component]
fn Notices(
    /// The room.
    room: RoomName,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let chat = client.chat;
    let room_notice = {
        let room = room.clone();
        Memo::new(move |_| {
            chat.with(|chat| {
                chat.room(&room)
                    .and_then(|entry| entry.notice().map(capitalized))
            })
        })
    };
    let general = Memo::new(move |_| chat.with(|chat| chat.notice().map(capitalized)));
    view! {
        <div class="notices" role="alert">
            {move || {
                room_notice
                    .get()
                    .map(|text| {
                        let room = room.clone();
                        view! {
                            <p class="notice">
                                <span>{text}</span>
                                <button
                                    type="button"
                                    class="icon-button"
                                    aria-label="Dismiss"
                                    on:click=move |_| {
                                        let room = room.clone();
                                        chat.update(move |chat| chat.dismiss_notice(Some(&room)))
                                    }
                                >
                                    "×"
                                </button>
                            </p>
                        }
                    })
            }}
            {move || {
                general
                    .get()
                    .map(|text| {
                        view! {
                            <p class="notice">
                                <span>{text}</span>
                                <button
                                    type="button"
                                    class="icon-button"
                                    aria-label="Dismiss"
                                    on:click=move |_| chat.update(|chat| chat.dismiss_notice(None))
                                >
                                    "×"
                                </button>
                            </p>
                        }
                    })
            }}
        </div>
    }
}
