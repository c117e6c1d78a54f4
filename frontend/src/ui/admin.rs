//! The administration page (`#/admin`): the accounts (deactivate and
//! reactivate, make and remove administrators, a reset link for a person,
//! a bot's tokens), a new person or bot, and the invites. Linked from the
//! chat for administrators only; the server decides, and a member who
//! opens the address is told in words that it is not for them.

use super::account::{
    account_field_id, text_field, Choice, FormState, Rows, Secret, SimpleForm, DISPLAY_NAME_HINT,
    USERNAME_HINT,
};
use super::frame::{answered, now_ms, origin, PageFrame, Panel};
use super::settings::Tokens;
use crate::account_forms::{explain, invite_request, AdminAccountFields, Field, InviteExpiry};
use crate::account_lists::{
    account_name, account_row, expiry_words, invite_row, page_link, Action, Row,
};
use crate::api::{self, ApiError};
use crate::route::Page;
use crate::web::{self, Client};
use common::api::accounts::AccountInfo;
use common::{AccountKind, ErrorCode, Role, UserId};
use leptos::prelude::*;
use std::sync::Arc;

/// A one-time link just made: what it is, and the link.
type Made = RwSignal<Option<(String, String)>>;

/// The administration page.
#[component]
pub fn AdminPage() -> impl IntoView {
    // Set when the server refuses the lists: the page is not for this
    // account.
    let refused = RwSignal::new(None::<String>);
    let accounts_changed = RwSignal::new(0_u32);
    view! {
        <PageFrame page=Page::Admin title="Administration">
            {move || match refused.get() {
                Some(words) => view! {
                    <section class="panel">
                        <p class="field-error" role="alert">{words}</p>
                    </section>
                }
                .into_any(),
                None => view! {
                    <Panel id="accounts-title" title="Accounts">
                        <Accounts refused=refused changed=accounts_changed />
                    </Panel>
                    <Panel id="new-account-title" title="New account">
                        <NewAccount changed=accounts_changed />
                    </Panel>
                    <Panel id="invites-title" title="Invites">
                        <Invites refused=refused />
                    </Panel>
                }
                .into_any(),
            }}
        </PageFrame>
    }
}

/// A list's load failed: a refusal (403) makes the whole page say so,
/// anything else is said at the list.
fn load_failed(client: Client, form: FormState, refused: RwSignal<Option<String>>, error: ApiError) {
    if error.code() == ErrorCode::Forbidden {
        refused.set(Some(format!(
            "{} This page is for the server's administrators; ask one of them for accounts, \
             invites or reset links.",
            explain(&error)
        )));
    } else {
        answered::<()>(client, form, Err(error));
    }
}

/// Shows a one-time link once made.
fn made_link(made: Made, id: &'static str, note: &'static str) -> impl IntoView {
    move || {
        made.get().map(|(label, link)| {
            view! { <Secret id=id label=label value=link note=note on_done=Callback::new(move |()| made.set(None)) /> }
        })
    }
}

/// Every account, with what can be done to each.
#[component]
fn Accounts(
    /// Set when the server refuses the list.
    refused: RwSignal<Option<String>>,
    /// Bumped when an account was made.
    changed: RwSignal<u32>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let rows = RwSignal::new(None::<Vec<Row>>);
    let accounts = StoredValue::new(Vec::<AccountInfo>::new());
    let reset_link: Made = RwSignal::new(None);
    // The bot whose tokens are shown, with its name.
    let bot = RwSignal::new(None::<(UserId, String)>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::accounts().await {
                Ok(list) => {
                    rows.set(Some(list.iter().map(account_row).collect()));
                    accounts.set_value(list);
                }
                Err(error) => load_failed(client, form, refused, error),
            }
        });
    };
    Effect::new(move |_| {
        changed.track();
        load();
    });
    let on_action = Callback::new(move |(id, action): (u64, Action)| {
        let name = accounts
            .with_value(|list| list.iter().find(|a| a.id == id).map(account_name))
            .unwrap_or_default();
        if action == Action::BotTokens {
            bot.set(Some((id, name)));
            request_animation_frame(|| web::focus("bot-tokens-title"));
            return;
        }
        form.alert.set(None);
        form.status.set(None);
        leptos::task::spawn_local(async move {
            if let Some(update) = action.account_update() {
                if answered(client, form, api::update_account(id, &update).await).is_some() {
                    let me = client.chat.with_untracked(|chat| chat.me().map(|me| me.user_id));
                    if me == Some(id) && update.role.is_some() {
                        client.admin.set(update.role == Some(Role::Admin));
                    }
                    form.done(action.done_words(&name));
                    load();
                }
            } else if let Some(link) = answered(client, form, api::reset_link(id).await) {
                let expiry = expiry_words(link.expires_ms, now_ms());
                reset_link.set(Some((
                    format!("Reset link for {name} (it works once and {expiry})"),
                    page_link(&origin(), &link.link),
                )));
            }
        });
    });
    view! {
        <Rows id="accounts" label="Accounts" rows=rows empty="No accounts." on_action=on_action />
        <super::account::FormMessages form=form />
        {made_link(reset_link, "reset-link", "Give it to them only: it sets the account's password.")}
        {move || {
            bot.get()
                .map(|(id, name)| {
                    view! {
                        <div class="subpanel">
                            <h3 id="bot-tokens-title" tabindex="-1">"Tokens of " {name}</h3>
                            <Tokens bot=Some(id) />
                        </div>
                    }
                })
        }}
    }
}

/// A new person (with a first password, or a reset link later) or bot.
#[component]
fn NewAccount(
    /// Bumped once one is made.
    changed: RwSignal<u32>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let kind = RwSignal::new("person".to_owned());
    let role = RwSignal::new("member".to_owned());
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = move || {
        let fields = AdminAccountFields {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            kind: if kind.get_untracked() == "bot" {
                AccountKind::Bot
            } else {
                AccountKind::Person
            },
            role: if role.get_untracked() == "admin" {
                Role::Admin
            } else {
                Role::Member
            },
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
            if let Some(made) = answered(client, form, api::create_account(&request).await) {
                for field in [username, display_name, password] {
                    field.set(String::new());
                }
                let next = match (made.kind, request.password.is_some()) {
                    (AccountKind::Bot, _) => " Make its tokens with its Tokens button above.",
                    (AccountKind::Person, false) => {
                        " Give them a reset link (its button above) to choose a password."
                    }
                    (AccountKind::Person, true) => "",
                };
                form.done(format!("{} is made.{next}", account_name(&made)));
                changed.update(|n| *n += 1);
            }
        });
    };
    let fields = vec![
        text_field(Field::Username, "username", "Username", username).hint(USERNAME_HINT),
        text_field(
            Field::DisplayName,
            "display-name",
            "Display name",
            display_name,
        )
        .hint(DISPLAY_NAME_HINT),
        text_field(Field::Password, "password", "First password", password)
            .password("new-password")
            .hint("A person's, at least 8 characters; leave it empty to give a reset link instead. Bots have none."),
    ];
    view! {
        <SimpleForm form=form fields=fields submit="Create account" busy="Creating…" on_submit=Arc::new(submit)>
            <Choice id="new-kind" label="Kind" options=vec![("person", "Person"), ("bot", "Bot")] value=kind />
            <Choice id="new-role" label="Role" options=vec![("member", "Member"), ("admin", "Administrator")] value=role />
        </SimpleForm>
    }
}

/// The invites: the list, a new one, and its link shown once.
#[component]
fn Invites(
    /// Set when the server refuses the list.
    refused: RwSignal<Option<String>>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let form = FormState::new(account_field_id);
    let rows = RwSignal::new(None::<Vec<Row>>);
    let expiry = RwSignal::new(InviteExpiry::default().value().to_owned());
    let uses = RwSignal::new(String::new());
    let made: Made = RwSignal::new(None);
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::invites().await {
                Ok(list) => {
                    let now = now_ms();
                    rows.set(Some(list.iter().rev().map(|i| invite_row(i, now)).collect()));
                }
                Err(error) => load_failed(client, form, refused, error),
            }
        });
    };
    load();
    let on_action = Callback::new(move |(id, action): (u64, Action)| {
        leptos::task::spawn_local(async move {
            if answered(client, form, api::revoke_invite(id).await).is_some() {
                form.done(action.done_words(""));
                load();
            }
        });
    });
    let submit = move || {
        let chosen = expiry.with_untracked(|value| InviteExpiry::from_value(value));
        let request = match invite_request(chosen.unwrap_or_default(), &uses.get_untracked()) {
            Ok(request) => request,
            Err(problems) => return form.refuse(problems),
        };
        if !form.start() {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Some(link) = answered(client, form, api::create_invite(&request).await) {
                uses.set(String::new());
                let expiry = expiry_words(link.expires_ms, now_ms());
                form.done("The invite is made.");
                made.set(Some((
                    format!("Invite link ({expiry})"),
                    page_link(&origin(), &link.link),
                )));
                load();
            }
        });
    };
    let choices = InviteExpiry::ALL
        .iter()
        .map(|choice| (choice.value(), choice.label()))
        .collect();
    let fields = vec![text_field(Field::MaxUses, "invite-uses", "Number of uses", uses)
        .hint("How many accounts it may make; empty for any number.")];
    view! {
        <Rows id="invites" label="Invites" rows=rows empty="No invites." on_action=on_action />
        {made_link(made, "invite-link", "Anyone with it can make an account until it expires or is used up.")}
        <SimpleForm form=form fields=fields submit="Create invite" busy="Creating…" on_submit=Arc::new(submit)>
            <h3>"New invite"</h3>
            <Choice id="invite-expiry" label="Expires after" options=choices value=expiry />
        </SimpleForm>
    }
}
