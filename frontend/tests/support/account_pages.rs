//! What several browser tests do on the account pages and in the chat
//! beside them: fill the new-account form (setup, sign-up through an
//! invite) and read the member list (the form's alert is
//! [`Page::form_alert`], in `pages`).

use super::accounts::{self, PASSWORD};
use super::{eventually, keys, Page};

impl Page {
    /// Fills the new-account form (the setup link's, or an invite's) for
    /// `name`, with [`PASSWORD`], and sends it with Enter.
    pub async fn fill_new_account(&self, name: &str) {
        let username = accounts::username_of(name);
        for (css, value) in [
            ("#username", username.as_str()),
            ("#display-name", name),
            ("#password", PASSWORD),
            ("#password-again", PASSWORD),
        ] {
            self.wait_for(css)
                .await
                .send_keys(value)
                .await
                .expect("type into the new-account form");
        }
        self.find("#password-again")
            .await
            .send_keys(keys::ENTER)
            .await
            .expect("press Enter");
    }

    /// The names in the member list.
    pub async fn members(&self) -> serde_json::Value {
        self.eval(
            "return Array.from(document.querySelectorAll('.member-list .member-name'))\
             .map(e => e.textContent)",
        )
        .await
    }

    /// Waits until the member list is `expected`.
    pub async fn wait_for_members(&self, expected: serde_json::Value) {
        let what = format!("{}: the members to be {expected}", self.name);
        eventually(&what, || async {
            (self.members().await == expected).then_some(())
        })
        .await;
    }
}
