//! The settings page (`#/settings`): the display name (the rooms one is
//! in see the new one at once), the password (changing it signs out every
//! other session), one's sessions (each other one can be signed out), and
//! API tokens (each shown once when made). The token panel is also the
//! administration page's for a bot ([`tokens`] with a bot's id).

use super::account::{text_field, DISPLAY_NAME_HINT, PASSWORD_HINT};
use super::frame::{now_ms, PageFrame};
use super::section::{FormSpec, ListSpec, Outcome, Section};
use crate::account_forms::{profile_update, token_request, Field, PasswordChangeFields};
use crate::account_lists::{session_row, token_row, Action};
use crate::api;
use crate::route::Page;
use crate::web::Client;
use common::{ErrorCode, UserId};
use leptos::prelude::*;
use std::sync::Arc;

/// The settings page.
pub fn settings_page() -> impl IntoView {
    let client = expect_context::<Client>();
    // Changing the password ends the other sessions: the list is read
    // again.
    let sessions_changed = RwSignal::new(0_u32);
    view! {
        <PageFrame page=Page::Settings title="Settings">
            <Section id="name-title" title="Display name" form=name_form(client) />
            <Section
                id="password-title"
                title="Password"
                intro="Every other device signed in to your account will be signed out."
                form=password_form(sessions_changed)
            />
            <Section
                id="sessions-title"
                title="Sessions"
                intro="Where your account is signed in. Sign out any device you no longer use."
                list=sessions_list()
                reload=Some(sessions_changed)
            />
            {tokens(Owner::Me, None)}
        </PageFrame>
    }
}

/// The display name, checked with `common`'s rules before it is sent;
/// the chat shows the new one at once.
fn name_form(client: Client) -> FormSpec {
    let name = client
        .chat
        .with_untracked(|chat| chat.me().map(|me| me.display_name.to_string()))
        .unwrap_or_default();
    let name = RwSignal::new(name);
    FormSpec {
        fields: vec![
            text_field(Field::DisplayName, "display-name", "Display name", name)
                .autocomplete("name")
                .hint(DISPLAY_NAME_HINT),
        ],
        submit: "Save name",
        busy: "Saving…",
        clear: false,
        send: Arc::new(move || {
            let update = profile_update(&name.get_untracked())?;
            Ok(Box::pin(async move {
                let me = api::update_profile(&update).await?;
                name.set(me.display_name.to_string());
                client.sign_in(&me);
                Ok(Outcome::said(format!(
                    "Your display name is now {}; the rooms you are in show it.",
                    me.display_name
                )))
            }))
        }),
    }
}

/// The password change: the current one, the new one twice.
fn password_form(sessions_changed: RwSignal<u32>) -> FormSpec {
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    FormSpec {
        fields: vec![
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
        ],
        submit: "Change password",
        busy: "Changing…",
        clear: true,
        send: Arc::new(move || {
            let change = PasswordChangeFields {
                current_password: current.get_untracked(),
                password: password.get_untracked(),
                password_again: again.get_untracked(),
            }
            .request()?;
            Ok(Box::pin(async move {
                match api::change_password(&change).await {
                    Ok(()) => {
                        sessions_changed.update(|n| *n += 1);
                        Ok(Outcome::said(
                            "Password changed. Your other sessions were signed out; this one \
                             stays signed in.",
                        ))
                    }
                    // A wrong password now is about its field, not the
                    // session.
                    Err(error) if error.code() == ErrorCode::InvalidCredentials => {
                        current.set(String::new());
                        Ok(Outcome {
                            problem: Some((
                                Field::CurrentPassword,
                                "This is not your current password.",
                            )),
                            ..Outcome::default()
                        })
                    }
                    Err(error) => Err(error),
                }
            }))
        }),
    }
}

/// One's sessions, each other one with "Sign out".
fn sessions_list() -> ListSpec {
    ListSpec {
        id: "sessions",
        label: "Sessions",
        empty: "No sessions.",
        load: Arc::new(|| {
            Box::pin(async {
                let list = api::sessions().await?;
                let now = now_ms();
                Ok(list.iter().map(|s| session_row(s, now)).collect())
            })
        }),
        act: Arc::new(|id, action, _| {
            Box::pin(async move {
                api::end_session(id).await?;
                Ok(Outcome::said(action.done_words("")))
            })
        }),
    }
}

/// Whose API tokens a panel shows.
#[derive(Clone, Copy)]
pub enum Owner {
    /// One's own.
    Me,
    /// The bot chosen in the administration page's list (none until one
    /// is).
    Bot(RwSignal<Option<UserId>>),
}

/// The panel of API tokens: one's own, or a bot's for its administrator
/// (drawn once, reloaded with `reload` when another bot is chosen). The
/// list, the token just made (shown once), and the form to make one.
pub fn tokens(owner: Owner, reload: Option<RwSignal<u32>>) -> impl IntoView {
    let bot = move || match owner {
        Owner::Me => None,
        Owner::Bot(bot) => bot.get_untracked(),
    };
    let (title, intro) = match owner {
        Owner::Bot(_) => (
            "Bot tokens",
            "The tokens of the bot chosen in the list: it signs in with them \
             (Authorization: Bearer …).",
        ),
        Owner::Me => (
            "API tokens",
            "For scripts: a token acts as you over the HTTP API and the WebSocket \
             (Authorization: Bearer …).",
        ),
    };
    let name = RwSignal::new(String::new());
    let list = ListSpec {
        id: "tokens",
        label: "API tokens",
        empty: "No API tokens.",
        load: Arc::new(move || {
            let (owner, bot) = (owner, bot());
            Box::pin(async move {
                let list = match (owner, bot) {
                    (Owner::Me, _) => api::tokens().await?,
                    (Owner::Bot(_), Some(bot)) => api::account_tokens(bot).await?,
                    (Owner::Bot(_), None) => Vec::new(),
                };
                let now = now_ms();
                Ok(list.iter().map(|t| token_row(t, now)).collect())
            })
        }),
        act: Arc::new(move |id, action: Action, _| {
            let bot = bot();
            Box::pin(async move {
                match bot {
                    Some(bot) => api::revoke_account_token(bot, id).await?,
                    None => api::revoke_token(id).await?,
                }
                Ok(Outcome::said(action.done_words("")))
            })
        }),
    };
    let form = FormSpec {
        fields: vec![
            text_field(Field::TokenName, "token-name", "Name of a new token", name)
                .hint("What it is for, to tell it from others (\u{201c}deploy script\u{201d})."),
        ],
        submit: "Create token",
        busy: "Creating…",
        clear: true,
        send: Arc::new(move || {
            let request = token_request(&name.get_untracked())?;
            let bot = bot();
            Ok(Box::pin(async move {
                let made = match bot {
                    Some(bot) => api::create_account_token(bot, &request).await?,
                    None => api::create_token(&request).await?,
                };
                Ok(Outcome::said(format!(
                    "The token \u{201c}{}\u{201d} is made.",
                    made.info.name
                ))
                .with_secret("The new token".to_owned(), made.token))
            }))
        }),
    };
    view! { <Section id="tokens-title" title=title intro=intro list=list form=form reload=reload /> }
}
