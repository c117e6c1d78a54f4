//! First-run setup (`#/setup/<token>`, the link the server printed at its
//! first start): the first administrator's account; then the chat. On a
//! server set up already, the link is used up and the server says so
//! (`link_invalid`, in words under the form).

use super::signup::{NewAccount, NewAccountForm};
use leptos::prelude::*;

/// The setup page.
#[component]
pub fn SetupPage(
    /// The setup link's token.
    token: String,
) -> impl IntoView {
    view! {
        <main class="welcome">
            <NewAccountForm
                account=NewAccount::Setup(token)
                title="Set up Chat"
                intro="Create the first account: the server's administrator. This link works once."
                button="Create administrator"
            />
        </main>
    }
}
