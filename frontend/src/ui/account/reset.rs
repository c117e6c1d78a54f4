//! A new password from a reset link (`#/reset/<token>`) an administrator
//! made; every session of the account ends, and the person signs in with
//! the new password.

use super::widgets::{
    account_field_id, text_field, BrandMark, FormState, SimpleForm, PASSWORD_HINT,
};
use crate::account_forms::{Field, NewPasswordFields};
use crate::api;
use crate::web;
use leptos::prelude::*;
use std::sync::Arc;

/// The reset page.
#[component]
pub fn ResetPage(
    /// The reset link's token.
    token: String,
) -> impl IntoView {
    let form = FormState::new(account_field_id);
    let password = RwSignal::new(String::new());
    let password_again = RwSignal::new(String::new());
    let changed = RwSignal::new(false);
    let token = StoredValue::new(token);
    let submit = move || {
        let fields = NewPasswordFields {
            password: password.get_untracked(),
            password_again: password_again.get_untracked(),
        };
        let request = match token.with_value(|token| fields.reset_request(token)) {
            Ok(request) => request,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::reset_password(&request).await {
                Ok(()) => {
                    form.busy.set(false);
                    changed.set(true);
                    request_animation_frame(|| web::focus("refused-go"));
                }
                Err(error) => form.failed(&error),
            }
        });
    };
    request_animation_frame(|| web::focus("password"));
    view! {
        <main class="welcome">
            <Show
                when=move || changed.get()
                fallback=move || {
                    view! {
                        <SimpleForm
                            form=form
                            fields=vec![
                                text_field(Field::Password, "password", "New password", password)
                                    .password("new-password")
                                    .hint(PASSWORD_HINT),
                                text_field(Field::PasswordAgain, "password-again", "New password again", password_again)
                                    .password("new-password"),
                            ]
                            submit="Change password"
                            busy="Changing…"
                            on_submit=Arc::new(submit)
                            class="card"
                        >
                            <BrandMark />
                            <h1>"Choose a new password"</h1>
                            <p class="muted">
                                "This link works once. Every device signed in to your account will be signed out."
                            </p>
                        </SimpleForm>
                    }
                }
            >
                <div class="card" role="status">
                    <BrandMark />
                    <h1>"Password changed"</h1>
                    <p>"Sign in with your new password."</p>
                    <div class="actions">
                        <button id="refused-go" type="button" class="primary" on:click=move |_| super::go_to_chat()>
                            "Go to sign-in"
                        </button>
                    </div>
                </div>
            </Show>
        </main>
    }
}
