//! The account pages, shown instead of the chat when the address names one
//! ([`crate::route::AccountRoute`]):
//!
//! - `setup`: the first administrator, from the setup link.
//! - `signup`: a new account, through an invite link or open signup.
//! - `reset`: a new password, from a reset link.
//! - `widgets`: what the pages share: fields, messages, a choice, the
//!   secret shown once to copy.
//!
//! The settings and administration pages are not account pages: see
//! `ui::settings` and `ui::admin`.
//!
//! The chat and these pages are separate page loads: [`page_for_location`]
//! decides at start, and moving between the two reloads the page. Between
//! account pages, the address changes without a reload.

mod reset;
mod setup;
mod signup;
mod widgets;

pub use widgets::{
    account_field_id, choice_field, text_field, BrandMark, FieldSpec, FormMessages, FormState,
    Secret, SimpleForm, DISPLAY_NAME_HINT, PASSWORD_HINT, USERNAME_HINT,
};

use crate::route::{self, AccountRoute};
use crate::web;
use leptos::prelude::*;

/// Session storage key of the chat's address to go back to from the
/// account pages.
const BACK_KEY: &str = "chat.back";
/// Where the chat opens when there is no room to go back to.
const DEFAULT_CHAT_HASH: &str = "#/r/lobby";

/// The account page the address names, if it names one; otherwise `None`,
/// and following a link to an account page from the chat will load it.
pub fn page_for_location() -> Option<AnyView> {
    match route::account_from_hash(&web::location_hash()) {
        Some(route) => Some(view! { <AccountPage route=route /> }.into_any()),
        None => {
            let _ = window_event_listener(leptos::ev::hashchange, |event| {
                if route::account_from_hash(&web::location_hash()).is_some() {
                    let old = event.old_url();
                    if let Some((_, hash)) = old.split_once('#') {
                        if route::room_from_hash(hash).is_some() {
                            remember_back(&format!("#{hash}"));
                        }
                    }
                    reload();
                }
            });
            None
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

fn remember_back(hash: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(BACK_KEY, hash);
    }
}

fn reload() {
    let _ = window().location().reload();
}

/// Leaves the account pages for the chat: the room it came from, or the
/// default one.
pub fn go_to_chat() {
    let back = session_storage()
        .and_then(|storage| storage.get_item(BACK_KEY).ok().flatten())
        .filter(|hash| route::room_from_hash(hash).is_some())
        .unwrap_or_else(|| DEFAULT_CHAT_HASH.to_owned());
    let _ = window().location().set_hash(&back);
    reload();
}

/// An account page, following the address while it names account pages.
#[component]
pub fn AccountPage(
    /// The page the address named at start.
    route: AccountRoute,
) -> impl IntoView {
    let current = RwSignal::new(route);
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        match route::account_from_hash(&web::location_hash()) {
            Some(route) => current.set(route),
            // The chat is another page load.
            None => reload(),
        }
    });
    move || match current.get() {
        AccountRoute::Setup(token) => view! { <setup::SetupPage token=token /> }.into_any(),
        AccountRoute::Invite(token) => {
            view! { <signup::SignUpPage invite=Some(token) /> }.into_any()
        }
        AccountRoute::Signup => view! { <signup::SignUpPage invite=None /> }.into_any(),
        AccountRoute::Reset(token) => view! { <reset::ResetPage token=token /> }.into_any(),
    }
}
