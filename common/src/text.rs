//! [`NameText`], the string inside a [`crate::Username`] and a
//! [`crate::DisplayName`].
//!
//! On the server, every connection holds the username and display name
//! it signed in with, so these are kept inline up to 24 bytes (most names)
//! rather than in an allocation of their own each: 64 bytes less per idle
//! connection (docs/BENCHMARKS.md, `idle`). The web client holds a few
//! names, and keeps plain `String`s rather than carry the crate's code.

/// The text of a name: inline up to 24 bytes on the server.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type NameText = compact_str::CompactString;

/// The text of a name: a plain `String` in the web client.
#[cfg(target_arch = "wasm32")]
pub(crate) type NameText = String;

/// The text as a `String` (moved, when it is one already).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn into_string(text: NameText) -> String {
    text.into_string()
}

/// The text as a `String` (moved, when it is one already).
#[cfg(target_arch = "wasm32")]
pub(crate) fn into_string(text: NameText) -> String {
    text
}
