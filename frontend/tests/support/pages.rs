//! The settings and administration pages as a person uses them: opened
//! from the chat's links, their panels (each a `<section>` named by its
//! heading, with its alert and status lines), the browser's confirmation
//! dialog of an action that asks first, and API tokens tried over plain
//! HTTP as a script would.

use super::{eventually, Page};
use fantoccini::Locator;
use serde_json::json;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The signed-in pages' heading, which has the focus once a page opens.
pub const PAGE_TITLE: &str = "#page-title";

impl Page {
    /// Follows the chat's link `css` (`#settings-link`, `#admin-link`)
    /// and waits until its page has opened (its heading has the focus).
    pub async fn open_page(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .expect("follow the link");
        self.wait_for_focus(PAGE_TITLE).await;
    }

    /// The text of the panel's line `what` (`[role=alert]` or
    /// `[role=status]`) of the panel headed by the element `heading_id`,
    /// once it says something.
    pub async fn panel_says(&self, heading_id: &str, what: &str) -> String {
        let css = format!("section[aria-labelledby='{heading_id}'] {what}");
        let who = format!("{}: {css} to say something", self.name);
        eventually(&who, || async {
            let text = self
                .client
                .find(Locator::Css(&css))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (!text.is_empty()).then_some(text)
        })
        .await
    }

    /// Waits until the panel's line `what` contains `words`.
    pub async fn wait_for_panel(&self, heading_id: &str, what: &str, words: &str) -> String {
        let css = format!("section[aria-labelledby='{heading_id}'] {what}");
        let who = format!("{}: {css} to say {words:?}", self.name);
        eventually(&who, || async {
            let text = self
                .client
                .find(Locator::Css(&css))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains(words).then_some(text)
        })
        .await
    }

    /// Presses Enter in the field `css`, which sends its form.
    pub async fn press_enter(&self, css: &str) {
        self.find(css)
            .await
            .send_keys(super::keys::ENTER)
            .await
            .expect("press Enter");
    }

    /// What a refused form says at its field `#id`, once the focus has
    /// gone back to that field (its problem is in `#id-error`).
    pub async fn field_problem(&self, id: &str) -> String {
        self.wait_for_focus(&format!("#{id}")).await;
        self.find(&format!("#{id}-error"))
            .await
            .text()
            .await
            .expect("text")
    }

    /// Empties the field `css` as typing does (WebDriver's clear sends no
    /// `input` event), then types `value` into it.
    pub async fn fill(&self, css: &str, value: &str) {
        self.eval(&format!(
            "const f = document.querySelector({}); f.value = ''; \
             f.dispatchEvent(new Event('input', {{bubbles: true}}));",
            json!(css)
        ))
        .await;
        self.find(css)
            .await
            .send_keys(value)
            .await
            .expect("type into the field");
    }

    /// The text of a form's alert (the sign-in page's), once it says
    /// something.
    pub async fn form_alert(&self) -> String {
        let what = format!("{}: the form's alert", self.name);
        eventually(&what, || async {
            let alert = self
                .client
                .find(Locator::Css("form [role=alert]"))
                .await
                .ok()?;
            let text = alert.text().await.ok()?;
            (!text.is_empty()).then_some(text)
        })
        .await
    }

    /// Waits for the browser's confirmation dialog, accepts it, and
    /// returns its question.
    pub async fn confirm(&self) -> String {
        let what = format!("{}: a confirmation dialog", self.name);
        let question =
            eventually(&what, || async { self.client.get_alert_text().await.ok() }).await;
        self.client.accept_alert().await.expect("accept the dialog");
        question
    }

    /// Clicks the button whose accessible name (`aria-label`) is `label`.
    pub async fn press_button(&self, label: &str) {
        self.wait_for(&format!("button[aria-label={}]", json!(label)))
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("{}: clicking {label:?}: {err}", self.name));
    }

    /// The value of the secret shown once (a token or a link).
    pub async fn secret(&self) -> String {
        let value = self
            .wait_for("#secret")
            .await
            .prop("value")
            .await
            .expect("the secret's value");
        value.unwrap_or_default()
    }
}

/// The status of `GET path` with `Authorization: Bearer <token>`, as a
/// script sends it (no cookie, no `Origin`).
pub async fn bearer_status(addr: SocketAddr, path: &str, token: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("read the answer");
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}
