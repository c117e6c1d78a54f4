//! The sign-in page: username and password, the server's answer in words
//! (a wrong password, too many tries and when to try again), and the ways
//! to an account the server offers ([`crate::sign_in::Offer`]). Shown at
//! page load when nobody is signed in, and whenever the session ends; the
//! chat then comes back where it was, with what was written.

use super::account::{account_field_id, text_field, BrandMark, FormState, SimpleForm};
use crate::account_forms::Field;
use crate::api;
use crate::sign_in::{Offer, SignInFields};
use crate::web::{self, Client};
use leptos::prelude::*;
use std::sync::Arc;

/// The sign-in page.
#[component]
pub fn SignInPage() -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let ended = client.chat.with_untracked(|chat| chat.session_ended());
    let submit = move || {
        let fields = SignInFields {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        let request = match fields.request() {
            Ok(request) => request,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::sign_in(&request).await {
                Ok(signed_in) => {
                    form.done("Signed in; opening the chat…");
                    client.sign_in(&signed_in.me);
                }
                Err(error) => {
                    form.failed(&error);
                    // The password goes; the username stays to correct.
                    password.set(String::new());
                    web::focus("password");
                }
            }
        });
    };
    // What the server offers besides signing in; nothing while it is
    // asked (or when it does not answer: signing in may still work).
    let offer = RwSignal::new(None::<Offer>);
    leptos::task::spawn_local(async move {
        if let Ok(info) = api::server_info().await {
            offer.set(Some(Offer::for_server(&info)));
        }
    });
    request_animation_frame(|| web::focus("username"));
    let fields = vec![
        text_field(Field::Username, "username", "Username", username).autocomplete("username"),
        text_field(Field::Password, "password", "Password", password).password("current-password"),
    ];
    view! {
        <main class="welcome">
            <SimpleForm form=form fields=fields submit="Sign in" busy="Signing in…" on_submit=Arc::new(submit) class="card">
                <BrandMark />
                <h1>"Sign in to Chat"</h1>
                {if ended {
                    view! {
                        <p class="banner warning" role="status">
                            "Your session ended (you signed out elsewhere, your password changed, or an \
                             administrator ended it). Sign in again: what you wrote is kept and goes out \
                             once you are back."
                        </p>
                    }
                        .into_any()
                } else {
                    view! { <p class="muted">"Welcome back."</p> }.into_any()
                }}
            </SimpleForm>
            {move || offer.get().map(|offer| view! { <OfferLine offer=offer /> })}
        </main>
    }
}

/// The way to an account the server offers, under the form.
#[component]
fn OfferLine(
    /// What the server allows.
    offer: Offer,
) -> impl IntoView {
    let link = match &offer {
        Offer::SignUp(route) => Some(view! { " " <a href=route.hash()>"Create an account"</a> }),
        _ => None,
    };
    view! { <p class="muted offer">{offer.words()}{link}</p> }
}
