//! The one panel of the settings and administration pages: a heading, a
//! list with actions ([`ListSpec`]: sessions, tokens, accounts, invites),
//! a secret shown once (a token, an invite or reset link), and a form
//! ([`FormSpec`]). Every panel is this component with other closures, so
//! the client has its code once: what differs (which calls, which rows)
//! is in the specs, the rows come from [`crate::account_lists`].
//!
//! An action that cannot be undone asks first with the browser's own
//! confirmation dialog (modal, keyboard- and screen-reader-ready, and no
//! code of ours), naming what it is done to ([`Action::confirmation`]).

use super::account::{account_field_id, FieldSpec, FormMessages, FormState, Secret, SimpleForm};
use super::frame::answered;
use crate::account_forms::{explain, Field, Problems};
use crate::account_lists::{Action, Row};
use crate::api::Call;
use crate::web::{self, Client};
use common::ErrorCode;
use leptos::either::Either;
use leptos::prelude::*;
use std::sync::Arc;

/// What a call of a panel did, to be said.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// What is said (politely) once it is done.
    pub words: String,
    /// A secret to show once: what it is, and the secret.
    pub secret: Option<(String, String)>,
    /// Not done after all: a problem with a field of the form.
    pub problem: Option<(Field, &'static str)>,
}

impl Outcome {
    /// Done; `words` say what.
    pub fn said(words: impl Into<String>) -> Self {
        Self {
            words: words.into(),
            ..Self::default()
        }
    }

    /// Done, with a secret to show once.
    pub fn with_secret(mut self, label: String, secret: String) -> Self {
        self.secret = Some((label, secret));
        self
    }
}

/// A panel's list: how it loads and what its actions do.
pub struct ListSpec {
    /// The list's id, unique in the page.
    pub id: &'static str,
    /// The list's accessible name.
    pub label: &'static str,
    /// What an empty list says.
    pub empty: &'static str,
    /// Loads the rows.
    pub load: Arc<dyn Fn() -> Call<Vec<Row>> + Send + Sync>,
    /// Does an action to the row with this id and name.
    pub act: Arc<dyn Fn(u64, Action, String) -> Call<Outcome> + Send + Sync>,
}

/// A panel's form: its fields, and the call it makes (or the problems
/// with what was typed).
pub struct FormSpec {
    /// The fields.
    pub fields: Vec<FieldSpec>,
    /// What the submit button says.
    pub submit: &'static str,
    /// What it says while the call is on its way.
    pub busy: &'static str,
    /// Whether the text fields are emptied once it is done.
    pub clear: bool,
    /// The call for what was typed.
    pub send: Arc<dyn Fn() -> Result<Call<Outcome>, Problems> + Send + Sync>,
}

/// A panel: heading, intro, list, secret and form.
#[component]
pub fn Section(
    /// The heading's id.
    id: &'static str,
    /// The heading.
    title: &'static str,
    /// A line under it.
    #[prop(default = "")]
    intro: &'static str,
    /// The list, if any.
    #[prop(optional)]
    list: Option<ListSpec>,
    /// The form, if any.
    #[prop(optional)]
    form: Option<FormSpec>,
    /// The list is read again whenever this changes.
    #[prop(default = None)]
    reload: Option<RwSignal<u32>>,
    /// Where the server's refusal of the list (403) goes, in words: the
    /// page is not for this account. Without it, it is said in the panel.
    #[prop(optional)]
    refused: Option<RwSignal<Option<String>>>,
) -> impl IntoView {
    let client = expect_context::<Client>();
    let state = FormState::new(account_field_id);
    let rows = RwSignal::new(None::<Vec<Row>>);
    let secret = RwSignal::new(None::<(String, String)>);
    let list_id = list.as_ref().map(|list| (list.id, list.label, list.empty));
    let spec = list.map(|list| StoredValue::new(list));
    let load = move || {
        let Some(spec) = spec else { return };
        let call = spec.with_value(|spec| (spec.load)());
        leptos::task::spawn_local(async move {
            match call.await {
                Ok(list) => rows.set(Some(list)),
                Err(error) if error.code() == ErrorCode::Forbidden && refused.is_some() => {
                    if let Some(refused) = refused {
                        refused.set(Some(explain(&error)));
                    }
                }
                Err(error) => {
                    answered::<()>(client, state, Err(error));
                }
            }
        });
    };
    Effect::new(move |_| {
        if let Some(reload) = reload {
            reload.track();
        }
        load();
    });
    // Says what a call did; false when it was not done after all.
    let finish = move |outcome: Outcome| {
        if let Some((field, words)) = outcome.problem {
            state.refuse(Problems::one(field, words));
            return false;
        }
        state.done(outcome.words);
        if outcome.secret.is_some() {
            secret.set(outcome.secret);
        }
        load();
        true
    };
    let act = move |id: u64, action: Action| {
        let Some(spec) = spec else { return };
        let name = rows.with_untracked(|rows| {
            rows.iter()
                .flatten()
                .find(|row| row.id == id)
                .map(|row| row.name.clone())
        });
        let name = name.unwrap_or_default();
        if let Some(question) = action.confirmation(&name) {
            if !window().confirm_with_message(&question).unwrap_or(false) {
                return;
            }
        }
        state.alert.set(None);
        state.status.set(None);
        let call = spec.with_value(|spec| (spec.act)(id, action, name));
        // The button may go with the list drawn again: the focus waits at
        // the list, under the panel's heading.
        if let Some((list_id, ..)) = list_id {
            web::focus(list_id);
        }
        leptos::task::spawn_local(async move {
            if let Some(outcome) = answered(client, state, call.await) {
                finish(outcome);
            }
        });
    };
    let list_view = list_id.map(|(list_id, label, empty)| {
        view! {
            <div id=list_id tabindex="-1">
                {move || rows.get().map(|rows| row_list(rows, label, empty, act))}
            </div>
        }
    });
    let form_view = match form {
        Some(form) => {
            let values: Vec<RwSignal<String>> = form
                .fields
                .iter()
                .filter(|field| form.clear && field.choices.is_none())
                .map(|field| field.value)
                .collect();
            let send = form.send;
            let submit = move || {
                if state.busy.get_untracked() {
                    return;
                }
                let call = match send() {
                    Ok(call) => call,
                    Err(problems) => return state.refuse(problems),
                };
                state.start();
                let values = values.clone();
                leptos::task::spawn_local(async move {
                    if let Some(outcome) = answered(client, state, call.await) {
                        if finish(outcome) {
                            values.iter().for_each(|value| value.set(String::new()));
                        }
                    }
                });
            };
            Either::Left(view! {
                <SimpleForm form=state fields=form.fields submit=form.submit busy=form.busy on_submit=Arc::new(submit) />
            })
        }
        None => Either::Right(view! { <FormMessages form=state /> }),
    };
    view! {
        <section class="panel" aria-labelledby=id>
            <h2 id=id tabindex="-1">{title}</h2>
            {(!intro.is_empty()).then(|| view! { <p class="muted">{intro}</p> })}
            {list_view}
            {move || {
                secret.get().map(|(label, value)| {
                    view! {
                        <Secret id="secret" label=label value=value on_done=Callback::new(move |()| secret.set(None)) />
                    }
                })
            }}
            {form_view}
        </section>
    }
}

/// The rows of a list, each with its buttons; an empty list says so.
fn row_list(
    rows: Vec<Row>,
    label: &'static str,
    empty: &'static str,
    act: impl Fn(u64, Action) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    if rows.is_empty() {
        return Either::Left(view! { <p class="muted">{empty}</p> });
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            let key = row.id;
            let buttons = row
                .actions
                .iter()
                .map(|&action| {
                    view! {
                        <button
                            type="button"
                            class="secondary small-button"
                            aria-label=format!("{} {}", action.label(), row.name)
                            on:click=move |_| act(key, action)
                        >
                            {action.label()}
                        </button>
                    }
                })
                .collect_view();
            view! {
                <li class="row" class:inactive=row.inactive>
                    <div class="row-main">
                        <strong>{row.title}</strong>
                        {row.tags.into_iter().map(|tag| view! { <span class="tag">{tag}</span> }).collect_view()}
                        <span class="muted small">{row.detail}</span>
                    </div>
                    <div class="row-actions">{buttons}</div>
                </li>
            }
        })
        .collect_view();
    Either::Right(view! { <ul class="rows" aria-label=label>{rows}</ul> })
}
