//! The chat's web client, compiled to WebAssembly by trunk.
//!
//! For now a minimal Leptos app that proves the build (Leptos, client-side
//! rendering, the shared `common` crate on wasm32); the chat interface
//! itself comes with the client issue.

use leptos::prelude::*;

/// The page: a title and where to find the protocol it will speak.
#[component]
fn App() -> impl IntoView {
    view! {
        <main>
            <h1>"Chat"</h1>
            <p>
                "The server is running and speaks protocol v" {common::PROTOCOL_VERSION}
                " on " <code>"/ws"</code> "; the chat interface is on its way."
            </p>
        </main>
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
