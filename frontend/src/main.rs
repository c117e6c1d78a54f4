//! The chat's web client, compiled to WebAssembly by trunk: mounts
//! [`frontend::ui::App`] in the page. Everything else is in the library.

fn main() {
    frontend::ui::mount();
}
