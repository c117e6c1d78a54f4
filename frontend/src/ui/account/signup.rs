//! Signing up: through an invite link (`#/invite/<token>`) or, when the
//! server allows it, without one (`#/signup`). The form is also the
//! first-run setup's (see `setup`).

use super::widgets::{
    account_field_id, text_field, BrandMark, FormState, SimpleForm, DISPLAY_NAME_HINT,
    PASSWORD_HINT, USERNAME_HINT,
};
use crate::account_forms::{Field, NewAccountFields};
use crate::api;
use crate::web;
use common::api::accounts::{SetupRequest, SignUpRequest};
use leptos::prelude::*;
use std::sync::Arc;

/// Which account the new-account form makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewAccount {
    /// The first administrator, with the setup link's token.
    Setup(String),
    /// A member, with an invite's token, or none for open signup.
    SignUp(Option<String>),
}

/// The body of the new-account form's request.
enum Request {
    Setup(SetupRequest),
    SignUp(SignUpRequest),
}

/// The sign-up page.
#[component]
pub fn SignUpPage(
    /// The invite link's token; none for open signup.
    invite: Option<String>,
) -> impl IntoView {
    let intro = if invite.is_some() {
        "You were invited to this chat. Choose how you sign in and how others see you."
    } else {
        "Choose how you sign in and how others see you."
    };
    view! {
        <main class="welcome">
            <NewAccountForm
                account=NewAccount::SignUp(invite)
                title="Create your account"
                intro=intro
                button="Create account"
            />
        </main>
    }
}

/// Username, display name and password twice; makes the account, signs
/// in and opens the chat.
#[component]
pub fn NewAccountForm(
    /// Which account.
    account: NewAccount,
    /// The heading.
    title: &'static str,
    /// The line under it.
    intro: &'static str,
    /// The submit button's text.
    button: &'static str,
) -> impl IntoView {
    let form = FormState::new(account_field_id);
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let password_again = RwSignal::new(String::new());
    let account = StoredValue::new(account);
    let submit = move || {
        let fields = NewAccountFields {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            password: password.get_untracked(),
            password_again: password_again.get_untracked(),
        };
        let checked = account.with_value(|account| match account {
            NewAccount::Setup(token) => fields.setup_request(token).map(Request::Setup),
            NewAccount::SignUp(invite) => fields
                .signup_request(invite.as_deref())
                .map(Request::SignUp),
        });
        let request = match checked {
            Ok(request) => request,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = match request {
                Request::Setup(setup) => api::setup(&setup).await,
                Request::SignUp(signup) => api::sign_up(&signup).await,
            };
            match answer {
                Ok(_) => {
                    form.done("Your account is ready; opening the chat…");
                    super::go_to_chat();
                }
                Err(error) => form.failed(&error),
            }
        });
    };
    request_animation_frame(|| web::focus("username"));
    let fields = vec![
        text_field(Field::Username, "username", "Username", username)
            .autocomplete("username")
            .hint(USERNAME_HINT),
        text_field(
            Field::DisplayName,
            "display-name",
            "Display name",
            display_name,
        )
        .autocomplete("name")
        .hint(DISPLAY_NAME_HINT),
        text_field(Field::Password, "password", "Password", password)
            .password("new-password")
            .hint(PASSWORD_HINT),
        text_field(
            Field::PasswordAgain,
            "password-again",
            "Password again",
            password_again,
        )
        .password("new-password"),
    ];
    view! {
        <SimpleForm form=form fields=fields submit=button busy="Creating…" on_submit=Arc::new(submit) class="card">
            <BrandMark />
            <h1>{title}</h1>
            <p class="muted">{intro}</p>
        </SimpleForm>
    }
}
