//! The settings page (`#/settings`): the display name (the rooms one is
//! in see the new one at once), the password (changing it signs out every
//! other session), one's sessions (each other one can be signed out), and
//! API tokens (each shown once when made). The token panel is also the
//! administration page's for a bot ([`Tokens`] with `bot`).

use super::account::{
    account_field_id, text_field, FormMessages, FormState, Rows, Secret, SimpleForm,
    DISPLAY_NAME_HINT, PASSWORD_HINT,
};
use super::frame::{answered, now_ms, PageFrame, Panel};
use crate::account_forms::{profile_update, token_request, Field, PasswordChangeFields, Problems};
use crate::account_lists::{session_row, token_row, Action, Row};
use crate::api;
use crate::route::Page;
use crate::web::Client;
use common::{ErrorCode, UserId};
use leptos::prelude::*;
use std::sync::Arc;

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    // Changing the password ends the other sessions: the list is read
    // again.
    let sessions_changed = RwSignal::new(0_u32);
    view! {
        <PageFrame page=Page::Settings title="Settings">
            <Panel id="name-title" title="Display name">
                <NameForm />
            </Panel>
            <Panel id="password-title" title="Password">
                <PasswordForm sessions_changed=sessions_changed />
            </Panel>
            <Panel id="sessions-title" title="Sessions">
                <p class="muted">"Where your account is signed in. Sign out any device you no longer use."</p>
                <Sessions changed=sessions_changed />
            </Panel>
            <Panel id="tokens-title" title="API tokens">
                <p class="muted">
                    "For scripts: a token acts as you over the HTTP API and the WebSocket \
                     (Authorization: Bearer …)."
                </p>
                <Tokens bot=None />
            </Panel>
        </PageFrame>
    }
}

/// The display name, checked with `common`'s rules before it is sent.
#[component]
fn NameForm() -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let name = client
        .chat
        .with_untracked(|chat| chat.me().map(|me| me.display_name.to_string()))
        .unwrap_or_default();
    let name = RwSignal::new(name);
    let submit = move || {
        let update = match profile_update(&name.get_untracked()) {
            Ok(update) => update,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Some(me) = answered(client, form, api::update_profile(&update).await) {
                name.set(me.display_name.to_string());
                form.done(format!(
                    "Your display name is now {}; the rooms you are in show it.",
                    me.display_name
                ));
                client.sign_in(&me);
            }
        });
    };
    let fields = vec![
        text_field(Field::DisplayName, "display-name", "Display name", name)
            .autocomplete("name")
            .hint(DISPLAY_NAME_HINT),
    ];
    view! { <SimpleForm form=form fields=fields submit="Save name" busy="Saving…" on_submit=Arc::new(submit) /> }
}

/// The password change: the current one, the new one twice.
#[component]
fn PasswordForm(
    /// Bumped once the other sessions ended.
    sessions_changed: RwSignal<u32>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let submit = move || {
        let fields = PasswordChangeFields {
            current_password: current.get_untracked(),
            password: password.get_untracked(),
            password_again: again.get_untracked(),
        };
        let change = match fields.request() {
            Ok(change) => change,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = match api::change_password(&change).await {
                // A wrong password now is about its field, not a session.
                Err(error) if error.code() == ErrorCode::InvalidCredentials => {
                    form.busy.set(false);
                    current.set(String::new());
                    form.refuse(Problems::one(
                        Field::CurrentPassword,
                        "This is not your current password.",
                    ));
                    return;
                }
                answer => answer,
            };
            if answered(client, form, answer).is_some() {
                for field in [current, password, again] {
                    field.set(String::new());
                }
                form.done(
                    "Password changed. Your other sessions were signed out; this one stays \
                     signed in.",
                );
                sessions_changed.update(|n| *n += 1);
            }
        });
    };
    let fields = vec![
        text_field(
            Field::CurrentPassword,
            "current-password",
            "Current password",
            current,
        )
        .password("current-password"),
        text_field(Field::Password, "password", "New password", password)
            .password("new-password")
            .hint(PASSWORD_HINT),
        text_field(
            Field::PasswordAgain,
            "password-again",
            "New password again",
            again,
        )
        .password("new-password"),
    ];
    view! {
        <SimpleForm form=form fields=fields submit="Change password" busy="Changing…" on_submit=Arc::new(submit)>
            <p class="muted">"Every other device signed in to your account will be signed out."</p>
        </SimpleForm>
    }
}

/// One's sessions, the other ones with "Sign out".
#[component]
fn Sessions(
    /// Bumped when the list changed elsewhere.
    changed: RwSignal<u32>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let rows = RwSignal::new(None::<Vec<Row>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            if let Some(list) = answered(client, form, api::sessions().await) {
                let now = now_ms();
                rows.set(Some(list.iter().map(|s| session_row(s, now)).collect()));
            }
        });
    };
    Effect::new(move |_| {
        changed.track();
        load();
    });
    let on_action = Callback::new(move |(id, action): (u64, Action)| {
        leptos::task::spawn_local(async move {
            if answered(client, form, api::end_session(id).await).is_some() {
                form.done(action.done_words(""));
                load();
            }
        });
    });
    view! {
        <Rows id="sessions" label="Sessions" rows=rows empty="No sessions." on_action=on_action />
        <FormMessages form=form />
    }
}

/// API tokens: one's own, or a bot's (`bot`, for its administrator).
/// The list, the token just made (shown once), and the form to make one.
#[component]
pub fn Tokens(
    /// The bot whose tokens these are; `None` for one's own.
    bot: Option<UserId>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let rows = RwSignal::new(None::<Vec<Row>>);
    let name = RwSignal::new(String::new());
    // The token just made: its id and the token itself.
    let made = RwSignal::new(None::<(u64, String)>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let answer = match bot {
                Some(bot) => api::account_tokens(bot).await,
                None => api::tokens().await,
            };
            if let Some(list) = answered(client, form, answer) {
                let now = now_ms();
                rows.set(Some(list.iter().map(|t| token_row(t, now)).collect()));
            }
        });
    };
    load();
    let on_action = Callback::new(move |(id, action): (u64, Action)| {
        leptos::task::spawn_local(async move {
            let answer = match bot {
                Some(bot) => api::revoke_account_token(bot, id).await,
                None => api::revoke_token(id).await,
            };
            if answered(client, form, answer).is_some() {
                if made.with_untracked(|made| made.as_ref().is_some_and(|(made, _)| *made == id)) {
                    made.set(None);
                }
                form.done(action.done_words(""));
                load();
            }
        });
    });
    let submit = move || {
        let request = match token_request(&name.get_untracked()) {
            Ok(request) => request,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = match bot {
                Some(bot) => api::create_account_token(bot, &request).await,
                None => api::create_token(&request).await,
            };
            if let Some(created) = answered(client, form, answer) {
                name.set(String::new());
                form.done(format!("The token \u{201c}{}\u{201d} is made.", created.info.name));
                made.set(Some((created.info.id, created.token)));
                load();
            }
        });
    };
    let fields = vec![
        text_field(Field::TokenName, "token-name", "Name of a new token", name)
            .hint("What it is for, to tell it from others (\u{201c}deploy script\u{201d})."),
    ];
    view! {
        <Rows id="tokens" label="API tokens" rows=rows empty="No API tokens." on_action=on_action />
        {move || {
            made.get()
                .map(|(_, token)| {
                    view! {
                        <Secret
                            id="new-token"
                            label="The new token".to_owned()
                            value=token
                            note="Send it as Authorization: Bearer <token>."
                            on_done=Callback::new(move |()| made.set(None))
                        />
                    }
                })
        }}
        <SimpleForm form=form fields=fields submit="Create token" busy="Creating…" on_submit=Arc::new(submit) />
    }
}
