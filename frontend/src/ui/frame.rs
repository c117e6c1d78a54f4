//! What the settings and administration pages share besides their panels
//! (`section`): the page with its heading (which takes the focus when the
//! page opens) and its way back to the chat, and what becomes of a failed
//! call.

use super::account::FormState;
use crate::api::ApiError;
use crate::route::{self, Page};
use crate::web::{self, Client};
use common::RoomName;
use leptos::prelude::*;

/// The id of a signed-in page's heading.
pub const PAGE_TITLE_ID: &str = "page-title";

/// A signed-in page: its heading, the links back to the chat and to the
/// other page, and its panels (`children`).
#[component]
pub fn PageFrame(
    /// Which page.
    page: Page,
    /// Its heading.
    title: &'static str,
    /// The panels.
    children: Children,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let back = client
        .chat
        .with_untracked(|chat| chat.active().cloned())
        .or_else(|| RoomName::parse(web::DEFAULT_ROOM).ok())
        .map(|room| route::hash_for(&room))
        .unwrap_or_default();
    // The other page: administration only for administrators.
    let other = match page {
        Page::Settings => client
            .admin
            .get_untracked()
            .then_some((Page::Admin, "Administration")),
        Page::Admin => Some((Page::Settings, "Settings")),
    };
    request_animation_frame(|| web::focus(PAGE_TITLE_ID));
    view! {
        <div class="account-page">
            <header class="account-header">
                <h1 id=PAGE_TITLE_ID tabindex="-1">{title}</h1>
                <nav aria-label="Pages">
                    <a id="back-to-chat" href=back>"Back to chat"</a>
                    {other.map(|(page, words)| view! { <a href=page.hash()>{words}</a> })}
                </nav>
            </header>
            <main class="account-main">{children()}</main>
        </div>
    }
}

/// The success of a call, or `None` once its failure is dealt with: a
/// 401 goes back to sign-in as the chat does (keeping what was written),
/// anything else is said in `form`.
pub fn answered<T>(client: Client, form: FormState, answer: Result<T, ApiError>) -> Option<T> {
    match answer {
        Ok(value) => {
            form.busy.set(false);
            Some(value)
        }
        Err(error) if error.is_signed_out() => {
            form.busy.set(false);
            client.session_ended();
            None
        }
        Err(error) => {
            form.failed(&error);
            None
        }
    }
}

/// Milliseconds since the Unix epoch, as the lists compare times.
pub fn now_ms() -> u64 {
    web::now() as u64
}

/// This page's origin (`http://host:port`), the base of the links shown.
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}
