//! The one "list with actions" of the settings and administration pages
//! (sessions, tokens, accounts, invites): a list of [`Row`]s, each with
//! its tags, details and buttons. An action that cannot be undone asks
//! first, in the row, naming what it is done to
//! ([`Action::confirmation`]); the question takes the focus, and "Cancel"
//! gives it back to the button.

use crate::account_lists::{Action, Row};
use crate::web;
use leptos::prelude::*;

/// A list of rows; `None` while it loads.
#[component]
pub fn Rows(
    /// The id of the list's wrapper, and the prefix of its elements' ids
    /// (unique in the page).
    id: &'static str,
    /// The list's accessible name.
    label: &'static str,
    /// The rows.
    rows: RwSignal<Option<Vec<Row>>>,
    /// What an empty list says.
    empty: &'static str,
    /// Runs an action on the row with this id (once confirmed, if it
    /// asks).
    on_action: Callback<(u64, Action)>,
) -> impl IntoView {
    let asked = RwSignal::new(None::<(u64, Action)>);
    // The focus goes to the list when a button it had goes away: after
    // an action (the list is drawn again) or a question answered.
    let run = move |key: u64, action: Action| {
        asked.set(None);
        web::focus(id);
        on_action.run((key, action));
    };
    let list = move || match rows.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(rows) if rows.is_empty() => view! { <p class="muted">{empty}</p> }.into_any(),
        Some(rows) => view! {
            <ul class="rows" aria-label=label>
                {rows.into_iter().map(|row| row_view(id, row, asked, run)).collect_view()}
            </ul>
        }
        .into_any(),
    };
    view! { <div id=id tabindex="-1">{list}</div> }
}

/// One row: what it is, and its buttons; under them, the question of an
/// action that asks first.
fn row_view(
    prefix: &'static str,
    row: Row,
    asked: RwSignal<Option<(u64, Action)>>,
    run: impl Fn(u64, Action) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let key = row.id;
    let name = StoredValue::new(row.name);
    let button_id = move |action: Action| format!("{prefix}-{key}-{}", action.slug());
    let buttons = row
        .actions
        .into_iter()
        .map(|action| {
            let click = move |_| match name.with_value(|name| action.confirmation(name)) {
                Some(_) => {
                    asked.set(Some((key, action)));
                    request_animation_frame(move || web::focus(&format!("{prefix}-confirm")));
                }
                None => run(key, action),
            };
            view! {
                <button
                    type="button"
                    class="secondary small-button"
                    id=button_id(action)
                    aria-label=name.with_value(|name| format!("{} {name}", action.label()))
                    on:click=click
                >
                    {action.label()}
                </button>
            }
        })
        .collect_view();
    let question = move || {
        let (_, action) = asked.get().filter(|(asked, _)| *asked == key)?;
        let text = name.with_value(|name| action.confirmation(name))?;
        let cancel = move |_| {
            asked.set(None);
            request_animation_frame(move || web::focus(&button_id(action)));
        };
        Some(view! {
            <div class="confirm" role="group" aria-labelledby=format!("{prefix}-question")>
                <p id=format!("{prefix}-question")>{text}</p>
                <div class="row-actions">
                    <button type="button" class="primary small-button" id=format!("{prefix}-confirm") on:click=move |_| run(key, action)>
                        {action.label()}
                    </button>
                    <button type="button" class="secondary small-button" on:click=cancel>"Cancel"</button>
                </div>
            </div>
        })
    };
    view! {
        <li class="row" class:inactive=row.inactive>
            <div class="row-main">
                <strong>{row.title}</strong>
                {row.tags.into_iter().map(|tag| view! { <span class="tag">{tag}</span> }).collect_view()}
                <span class="muted small">{row.detail}</span>
            </div>
            <div class="row-actions">{buttons}</div>
            {question}
        </li>
    }
}
