//! What the account pages share: labelled fields (inputs and selects)
//! with their errors, the form's alert and status lines, and a secret
//! shown once, selected to copy.

use crate::account_forms::{explain, field_of, Field, Problems};
use crate::api::ApiError;
use crate::web;
use leptos::either::Either;
use leptos::prelude::*;
use std::sync::Arc;

/// The state of one form: its problems field by field, its alert (an
/// error not about one field), its status (what just succeeded), and
/// whether a request is on its way.
#[derive(Clone, Copy)]
pub struct FormState {
    /// What is wrong, field by field.
    pub problems: RwSignal<Problems>,
    /// An error about the whole form.
    pub alert: RwSignal<Option<String>>,
    /// What just succeeded.
    pub status: RwSignal<Option<String>>,
    /// A request is on its way: submitting again does nothing.
    pub busy: RwSignal<bool>,
    /// The id of each field's input.
    ids: fn(Field) -> &'static str,
}

impl FormState {
    /// A form whose fields have the inputs `ids` names.
    pub fn new(ids: fn(Field) -> &'static str) -> Self {
        Self {
            problems: RwSignal::new(Problems::new()),
            alert: RwSignal::new(None),
            status: RwSignal::new(None),
            busy: RwSignal::new(false),
            ids,
        }
    }

    /// The problem with `field`, if any (tracked).
    pub fn problem(self, field: Field) -> Option<String> {
        self.problems
            .with(|problems| problems.get(field).map(str::to_owned))
    }

    /// Whether `field` has a problem (tracked).
    pub fn has_problem(self, field: Field) -> bool {
        self.problems.with(|problems| problems.get(field).is_some())
    }

    /// Starts a request, unless one is on its way: clears what was said.
    /// Returns whether to go on.
    pub fn start(self) -> bool {
        if self.busy.get_untracked() {
            return false;
        }
        self.busy.set(true);
        self.problems.set(Problems::new());
        self.alert.set(None);
        self.status.set(None);
        true
    }

    /// Shows the problems of a form that was not sent, and focuses the
    /// first field with one.
    pub fn refuse(self, problems: Problems) {
        self.alert.set(None);
        self.status.set(None);
        if let Some(field) = problems.first() {
            web::focus((self.ids)(field));
        }
        self.problems.set(problems);
    }

    /// The request failed: shows why, at its field if it is about one.
    pub fn failed(self, error: &ApiError) {
        self.busy.set(false);
        let words = explain(error);
        match field_of(error.code()) {
            Some(field) => self.refuse(Problems::one(field, words)),
            None => self.alert.set(Some(words)),
        }
    }

    /// The request succeeded: says so.
    pub fn done(self, status: impl Into<String>) {
        self.busy.set(false);
        self.status.set(Some(status.into()));
    }
}

/// A labelled input with its hint and its error (announced politely), the
/// input described by both.
#[component]
pub fn TextField(
    /// The input's id.
    id: &'static str,
    /// The label's text.
    label: &'static str,
    /// The value, as typed.
    value: RwSignal<String>,
    /// The form it is in.
    form: FormState,
    /// Which of the form's fields it is.
    field: Field,
    /// The input's type.
    #[prop(default = "text")]
    kind: &'static str,
    /// The input's `autocomplete`.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// A hint under the field.
    #[prop(default = None)]
    hint: Option<&'static str>,
    /// For a `<select>`: its choices, as `(value, words)`.
    #[prop(default = None)]
    choices: Option<Vec<(&'static str, &'static str)>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = match hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    let control = match choices {
        Some(choices) => Either::Left(view! {
            <select id=id name=id aria-describedby=described on:change:target=move |event| value.set(event.target().value())>
                {choices
                    .into_iter()
                    .map(|(option, words)| {
                        // Chosen once, when drawn: only the person changes a
                        // choice (forms empty their text fields, never their
                        // choices), and the select keeps what they chose.
                        let selected = value.with_untracked(|value| value == option);
                        view! {
                            <option value=option selected=selected>
                                {words}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        }),
        None => Either::Right(view! {
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                autocapitalize="none"
                spellcheck="false"
                aria-invalid=move || form.has_problem(field).to_string()
                aria-describedby=described
                prop:value=move || value.get()
                on:input:target=move |event| value.set(event.target().value())
            />
        }),
    };
    view! {
        <label for=id>{label}</label>
        {control}
        {hint.map(|hint| view! { <p id=hint_id class="hint">{hint}</p> })}
        <p id=error_id class="field-error" aria-live="polite">
            {move || form.problem(field)}
        </p>
    }
}

/// The form's error (an alert) and its status (polite), both always in
/// the page so that screen readers hear what changes in them.
#[component]
pub fn FormMessages(
    /// The form.
    form: FormState,
) -> impl IntoView {
    view! {
        <p class="field-error" role="alert">{move || form.alert.get()}</p>
        <p class="form-status" role="status">{move || form.status.get()}</p>
    }
}

/// The submit button, saying what is going on while busy.
#[component]
pub fn Submit(
    /// The form.
    form: FormState,
    /// What the button says.
    label: &'static str,
    /// What it says while the request is on its way.
    busy_label: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class="primary" aria-disabled=move || form.busy.get().to_string()>
            {move || if form.busy.get() { busy_label } else { label }}
        </button>
    }
}

/// The brand mark of the cards.
#[component]
pub fn BrandMark() -> impl IntoView {
    view! {
        <span class="brand-mark" aria-hidden="true">
            <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"></path>
            </svg>
        </span>
    }
}

/// The ids of the fields of a new account of one's own (setup, signup)
/// and of a new password (reset).
pub fn account_field_id(field: Field) -> &'static str {
    match field {
        Field::Username => "username",
        Field::DisplayName => "display-name",
        Field::CurrentPassword => "current-password",
        Field::Password => "password",
        Field::PasswordAgain => "password-again",
        Field::TokenName => "token-name",
        Field::MaxUses => "invite-uses",
        Field::Kind => "new-kind",
        Field::Role => "new-role",
        Field::Expiry => "invite-expiry",
    }
}

/// The hints of the new-account fields.
pub const USERNAME_HINT: &str = "2 to 32 characters: a–z, 0–9, dot, underscore and hyphen.";
/// See [`USERNAME_HINT`].
pub const DISPLAY_NAME_HINT: &str = "Shown next to your messages; up to 32 characters.";
/// See [`USERNAME_HINT`].
pub const PASSWORD_HINT: &str = "At least 8 characters; a long phrase is best.";

/// A text field of a [`SimpleForm`].
pub struct FieldSpec {
    /// Which field it is (its problems are shown at it).
    pub field: Field,
    /// The input's id.
    pub id: &'static str,
    /// The label's text.
    pub label: &'static str,
    /// The value, as typed.
    pub value: RwSignal<String>,
    /// The input's type.
    pub kind: &'static str,
    /// The input's `autocomplete`.
    pub autocomplete: &'static str,
    /// A hint under it.
    pub hint: Option<&'static str>,
    /// A `<select>`'s choices, as `(value, words)`; `None` for an input.
    pub choices: Option<Vec<(&'static str, &'static str)>>,
}

/// A text field: `text`, no autocompletion, no hint.
pub fn text_field(
    field: Field,
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
) -> FieldSpec {
    FieldSpec {
        field,
        id,
        label,
        value,
        kind: "text",
        autocomplete: "off",
        hint: None,
        choices: None,
    }
}

/// A `<select>` of `choices`, as `(value, words)`; `value` is the chosen
/// one's.
pub fn choice_field(
    field: Field,
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    choices: Vec<(&'static str, &'static str)>,
) -> FieldSpec {
    FieldSpec {
        choices: Some(choices),
        ..text_field(field, id, label, value)
    }
}

impl FieldSpec {
    /// With this `autocomplete`.
    pub fn autocomplete(mut self, autocomplete: &'static str) -> Self {
        self.autocomplete = autocomplete;
        self
    }

    /// A password input with this `autocomplete`.
    pub fn password(mut self, autocomplete: &'static str) -> Self {
        self.kind = "password";
        self.autocomplete = autocomplete;
        self
    }

    /// With a hint.
    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }
}

/// A form of text fields, with what comes before them (`children`), its
/// alert and status, and its submit button; `on_submit` runs on submit.
/// Every form of the account pages is one, so the client has its code
/// once.
#[component]
pub fn SimpleForm(
    /// The form's state.
    form: FormState,
    /// Its text fields.
    fields: Vec<FieldSpec>,
    /// What the submit button says.
    submit: &'static str,
    /// What it says while the request is on its way.
    busy: &'static str,
    /// Runs on submit.
    on_submit: Arc<dyn Fn() + Send + Sync>,
    /// The form's class.
    #[prop(default = "")]
    class: &'static str,
    /// What comes before the fields.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <form
            class=class
            novalidate
            on:submit=move |event: leptos::ev::SubmitEvent| {
                event.prevent_default();
                on_submit();
            }
        >
            {children.map(|children| children())}
            {fields
                .into_iter()
                .map(|spec| {
                    view! {
                        <TextField
                            id=spec.id
                            label=spec.label
                            value=spec.value
                            form=form
                            field=spec.field
                            kind=spec.kind
                            autocomplete=spec.autocomplete
                            hint=spec.hint
                            choices=spec.choices
                        />
                    }
                })
                .collect_view()}
            <FormMessages form=form />
            <div class="actions">
                <Submit form=form label=submit busy_label=busy />
            </div>
        </form>
    }
}

/// A secret shown once (an API token, an invite or reset link): selected
/// in a read-only text area with the focus, to copy, and the words that it
/// will not be shown again. "Done" forgets it.
#[component]
pub fn Secret(
    /// The field's id.
    id: &'static str,
    /// What it is, as the field's label.
    label: String,
    /// The secret.
    value: String,
    /// Forgets it.
    on_done: Callback<()>,
) -> impl IntoView {
    let note_id = format!("{id}-note");
    request_animation_frame(move || web::focus(id));
    view! {
        <div class="secret">
            <label for=id>{label}</label>
            <div class="secret-row">
                // A text area, so that a long token or link wraps
                // instead of hiding its end on a narrow screen.
                <textarea
                    id=id
                    readonly
                    rows="3"
                    spellcheck="false"
                    aria-describedby=note_id.clone()
                    prop:value=value
                    on:focus:target=|event| event.target().select()
                ></textarea>
                <button type="button" class="secondary" on:click=move |_| on_done.run(())>"Done"</button>
            </div>
            <p id=note_id class="hint">
                "Copy it now (it is selected: Ctrl+C, or ⌘C on a Mac): it will not be shown again."
            </p>
        </div>
    }
}
