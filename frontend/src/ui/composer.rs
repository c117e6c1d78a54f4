//! The message box: Enter sends, Shift+Enter starts a new line; the length
//! counter appears before the limit is hit; typing tells the room.

use super::capitalized;
use crate::compose::{Counter, TypingAction, TypingNotice};
use crate::web::{self, Client};
use common::{MessageText, RoomName, ValidationError};
use leptos::html::Textarea;
use leptos::prelude::*;

/// The tallest the message box grows, in CSS pixels, before it scrolls.
const MAX_BOX_HEIGHT_PX: i32 = 200;

/// The message box of one room.
#[component]
pub fn Composer(
    /// The room written to.
    room: RoomName,
) -> impl IntoView {
    let client = expect_context::<Client>();
    // What was written but not sent stays with its room while others are shown.
    let text = RwSignal::new(
        client
            .chat
            .with_untracked(|chat| chat.room(&room).map(|entry| entry.draft().to_owned()))
            .unwrap_or_default(),
    );
    let draft_room = room.clone();
    on_cleanup(move || {
        let draft = text.try_get_untracked().unwrap_or_default();
        client.keep_draft(&draft_room, draft);
    });
    let counter = Memo::new(move |_| text.with(|text| Counter::for_text(text)));
    // Why the text cannot be sent, once Send was tried (a control character
    // pasted in, say); cleared by the next edit.
    let problem = RwSignal::new(None::<String>);
    let typing = StoredValue::new(TypingNotice::new());
    let area = NodeRef::<Textarea>::new();
    let sendable = Memo::new(move |_| {
        text.with(|text| !text.trim().is_empty()) && !matches!(counter.get(), Counter::Over(_))
    });

    // Grow with the text, up to a limit.
    let fit_height = move || {
        if let Some(area) = area.get_untracked() {
            let style =
                leptos::wasm_bindgen::JsCast::unchecked_ref::<web_sys::HtmlElement>(&area).style();
            let _ = style.set_property("height", "auto");
            let height = area.scroll_height().min(MAX_BOX_HEIGHT_PX);
            let _ = style.set_property("height", &format!("{height}px"));
        }
    };

    // A draft brought back may span several lines.
    request_animation_frame(fit_height);

    let send_room = room.clone();
    let send = move || {
        let message = match MessageText::parse(text.get_untracked()) {
            Ok(message) => message,
            // Nothing written: nothing to say either.
            Err(ValidationError::TextEmpty) => return,
            Err(err) => {
                problem.set(Some(capitalized(&err.to_string())));
                return;
            }
        };
        let room = send_room.clone();
        client.act(move |chat| chat.post(&room, message, web::new_nonce()));
        typing.update_value(TypingNotice::sent);
        text.set(String::new());
        client.keep_draft(&send_room, String::new());
        request_animation_frame(fit_height);
    };
    let on_submit = {
        let send = send.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            send();
            web::focus("message");
        }
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        // While an input method composes, Enter picks a candidate.
        if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
            event.prevent_default();
            send();
        }
    };
    let typing_room = room.clone();
    let on_input =
        move |event: leptos::ev::Targeted<leptos::ev::Event, web_sys::HtmlTextAreaElement>| {
            let value = event.target().value();
            // Kept at once: a reload or the session's end loses nothing.
            client.keep_draft(&typing_room, value.clone());
            text.set(value);
            problem.set(None);
            fit_height();
            let notify = move |room: RoomName| {
                client.act(move |chat| chat.typing_frame(&room).into_iter().collect());
            };
            match typing.try_update_value(|notice| notice.keystroke(web::now())) {
                Some(TypingAction::Send) => notify(typing_room.clone()),
                Some(TypingAction::SendIn(ms)) => {
                    let room = typing_room.clone();
                    set_timeout(
                        move || {
                            // Only if the box is still there (the room may have
                            // been left) and the person is still writing.
                            let writing =
                                text.try_with_untracked(|text| !text.is_empty()) == Some(true);
                            let send = typing
                                .try_update_value(|notice| notice.timer_fired(web::now(), writing))
                                .unwrap_or(false);
                            if send {
                                notify(room);
                            }
                        },
                        std::time::Duration::from_millis(ms.max(0.0) as u64),
                    );
                }
                Some(TypingAction::Nothing) | None => {}
            }
        };
    let placeholder = format!("Message #{room}");
    // Why posting here is refused, told before one tries: a moderator's
    // mute (until its end; the server still decides, so a mute that has
    // just ended does not stop a message), or an archived room.
    let blocked = Memo::new(move |_| {
        client.chat.with(|chat| {
            let entry = chat.room(&room)?;
            if entry.settings().is_some_and(|settings| settings.archived) {
                return Some("This room is archived: it can be read, not written in.".to_owned());
            }
            let until = entry
                .muted_until()
                .filter(|until| *until as f64 > web::now())?;
            Some(format!(
                "A moderator muted you here until {}: you can read, not post.",
                web::local_time(until)
            ))
        })
    });
    view! {
        {move || blocked.get().map(|why| view! { <p class="banner warning" id="blocked">{why}</p> })}
        <form class="composer" on:submit=on_submit>
            <div class="composer-box" class:over=move || matches!(counter.get(), Counter::Over(_))>
                <textarea
                    id="message"
                    node_ref=area
                    rows="1"
                    aria-label="Message"
                    aria-describedby="counter"
                    placeholder=placeholder
                    prop:value=move || text.get()
                    on:input:target=on_input
                    on:keydown=on_keydown
                ></textarea>
                <button type="submit" class="primary send" disabled=move || !sendable.get()>
                    "Send"
                </button>
            </div>
            <div class="composer-foot">
                <span class="muted small hint">"Enter to send, Shift+Enter for a new line"</span>
                <span
                    id="counter"
                    class="counter small"
                    class:over=move || {
                        problem.with(Option::is_some) || matches!(counter.get(), Counter::Over(_))
                    }
                    aria-live="polite"
                >
                    {move || problem.get().unwrap_or_else(|| counter.get().label())}
                </span>
            </div>
        </form>
    }
}
