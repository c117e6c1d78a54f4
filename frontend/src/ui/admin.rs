//! The administration page (`#/admin`): the accounts (deactivate and
//! reactivate, make and remove administrators, a reset link for a person,
//! a bot's tokens), a new person or bot, and the invites. Linked from the
//! chat for administrators only; the server decides, and a member who
//! opens the address is told in words that it is not for them.

use super::account::{choice_field, text_field, DISPLAY_NAME_HINT, USERNAME_HINT};
use super::frame::{now_ms, origin, PageFrame};
use super::section::{FormSpec, ListSpec, Outcome, Section};
use super::settings::{tokens, Owner};
use crate::account_forms::{invite_request, AdminAccountFields, Field, InviteExpiry};
use crate::account_lists::{account_row, expiry_words, invite_row, page_link, Action};
use crate::api;
use crate::route::Page;
use crate::web;
use common::{AccountKind, Role, UserId};
use leptos::prelude::*;
use std::sync::Arc;

/// The administration page.
pub fn admin_page() -> impl IntoView {
    // Set when the server refuses the lists: the page is not for this
    // account, and says so instead of its panels.
    let refused = RwSignal::new(None::<String>);
    let accounts_changed = RwSignal::new(0_u32);
    // The bot whose tokens are shown, with its name; the panel is there
    // (hidden) from the start, and reloads when one is chosen.
    let bot = RwSignal::new(None::<UserId>);
    let bot_chosen = RwSignal::new(0_u32);
    view! {
        <PageFrame page=Page::Admin title="Administration">
            <p class="field-error" role="alert">
                {move || {
                    refused.get().map(|words| {
                        format!(
                            "{words} This page is for the server's administrators; ask one of \
                             them for accounts, invites or reset links."
                        )
                    })
                }}
            </p>
            <div class="panels" hidden=move || refused.with(Option::is_some)>
                <Section
                    id="accounts-title"
                    title="Accounts"
                    list=accounts_list(bot, bot_chosen)
                    reload=Some(accounts_changed)
                    refused=refused
                />
                <div class="panels" hidden=move || bot.with(Option::is_none)>
                    {tokens(Owner::Bot(bot), Some(bot_chosen))}
                </div>
                <Section id="new-account-title" title="New account" form=new_account(accounts_changed) />
                <Section
                    id="invites-title"
                    title="Invites"
                    intro="A link anyone may use to make an account, until it expires, is used up or is revoked."
                    list=invites_list()
                    form=new_invite()
                    refused=refused
                />
            </div>
        </PageFrame>
    }
}

/// Every account, with what can be done to each.
fn accounts_list(bot: RwSignal<Option<UserId>>, bot_chosen: RwSignal<u32>) -> ListSpec {
    ListSpec {
        id: "accounts",
        label: "Accounts",
        empty: "No accounts.",
        load: Arc::new(|| {
            Box::pin(async {
                let list = api::accounts().await?;
                Ok(list.iter().map(account_row).collect())
            })
        }),
        act: Arc::new(move |id, action, name| {
            Box::pin(async move {
                if let Some(update) = action.account_update() {
                    api::update_account(id, &update).await?;
                    return Ok(Outcome::said(action.done_words(&name)));
                }
                if action == Action::BotTokens {
                    bot.set(Some(id));
                    bot_chosen.update(|n| *n += 1);
                    request_animation_frame(|| web::focus("tokens-title"));
                    return Ok(Outcome::said(format!(
                        "The tokens of {name} are under the list."
                    )));
                }
                let link = api::reset_link(id).await?;
                let expiry = expiry_words(link.expires_ms, now_ms());
                Ok(
                    Outcome::said(format!("A reset link for {name} is made.")).with_secret(
                        format!("Reset link for {name} (it works once and {expiry})"),
                        page_link(&origin(), &link.link),
                    ),
                )
            })
        }),
    }
}

/// A new person (with a first password, or a reset link later) or bot.
fn new_account(changed: RwSignal<u32>) -> FormSpec {
    let kind = RwSignal::new("person".to_owned());
    let role = RwSignal::new("member".to_owned());
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    FormSpec {
        fields: vec![
            choice_field(
                Field::Kind,
                "new-kind",
                "Kind",
                kind,
                vec![("person", "Person"), ("bot", "Bot")],
            ),
            choice_field(
                Field::Role,
                "new-role",
                "Role",
                role,
                vec![("member", "Member"), ("admin", "Administrator")],
            ),
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
                .hint(
                    "A person's, at least 8 characters; leave it empty to give them a reset \
                     link instead. Bots have none.",
                ),
        ],
        submit: "Create account",
        busy: "Creating…",
        clear: true,
        send: Arc::new(move || {
            let request = AdminAccountFields {
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
            }
            .request()?;
            Ok(Box::pin(async move {
                api::create_account(&request).await?;
                changed.update(|n| *n += 1);
                let next = match (request.kind, request.password.is_some()) {
                    (AccountKind::Bot, _) => " Make its tokens with its Tokens button.",
                    (AccountKind::Person, false) => {
                        " Give them a reset link (its button in the list) to choose a password."
                    }
                    (AccountKind::Person, true) => "",
                };
                Ok(Outcome::said(format!(
                    "{} ({}) is made.{next}",
                    request.display_name, request.username
                )))
            }))
        }),
    }
}

/// The invites, newest first, each revocable while it works.
fn invites_list() -> ListSpec {
    ListSpec {
        id: "invites",
        label: "Invites",
        empty: "No invites.",
        load: Arc::new(|| {
            Box::pin(async {
                let list = api::invites().await?;
                let now = now_ms();
                Ok(list.iter().rev().map(|i| invite_row(i, now)).collect())
            })
        }),
        act: Arc::new(|id, action, _| {
            Box::pin(async move {
                api::revoke_invite(id).await?;
                Ok(Outcome::said(action.done_words("")))
            })
        }),
    }
}

/// A new invite: its expiry and number of uses; its link is shown once.
fn new_invite() -> FormSpec {
    let expiry = RwSignal::new(InviteExpiry::default().value().to_owned());
    let uses = RwSignal::new(String::new());
    FormSpec {
        fields: vec![
            choice_field(
                Field::Expiry,
                "invite-expiry",
                "Expires after",
                expiry,
                InviteExpiry::ALL
                    .iter()
                    .map(|choice| (choice.value(), choice.label()))
                    .collect(),
            ),
            text_field(Field::MaxUses, "invite-uses", "Number of uses", uses)
                .hint("How many accounts it may make; empty for any number."),
        ],
        submit: "Create invite",
        busy: "Creating…",
        clear: true,
        send: Arc::new(move || {
            let chosen = expiry.with_untracked(|value| InviteExpiry::from_value(value));
            let request = invite_request(chosen.unwrap_or_default(), &uses.get_untracked())?;
            Ok(Box::pin(async move {
                let link = api::create_invite(&request).await?;
                let expiry = expiry_words(link.expires_ms, now_ms());
                Ok(Outcome::said("The invite is made.").with_secret(
                    format!("Invite link ({expiry})"),
                    page_link(&origin(), &link.link),
                ))
            }))
        }),
    }
}
