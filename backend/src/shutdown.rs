//! The signals that stop the server: Ctrl-C (SIGINT) and SIGTERM.

use std::future::Future;

/// Starts watching for Ctrl-C and SIGTERM now, and returns the future
/// that resolves when one of them arrives (or has arrived since this call).
///
/// The watch must be set up when the process starts, before it opens the
/// database or says anything, not when the returned future is first
/// polled (which is only once the server accepts connections):
///
/// - until a handler is installed, SIGTERM has its default action and
///   kills the process outright, with no graceful shutdown;
/// - Tokio installs the handler and only then subscribes the listener
///   (`signal_enable`, then `register_listener`, in tokio's
///   `signal/unix.rs`): a SIGTERM that arrives in between is taken by the
///   handler, handed to no one, and lost, and the server then runs on
///   until a second signal. Whoever stops the server as soon as it says
///   it is up (the setup link on standard output, "listening on" in the
///   log) hit exactly that gap when the watch was set up lazily, after
///   both lines, and a test's server did not exit after its SIGTERM.
///
/// Set up here, the gap is in the process's first moments, before it has
/// told anyone that it runs, and a signal during the start (while the
/// database opens or its schema is upgraded) is kept: the server stops
/// gracefully as soon as it has started.
///
/// Must be called within the Tokio runtime. A signal that cannot be
/// watched is logged and ignored rather than taken as a request to stop.
#[cfg(unix)]
pub fn watch() -> impl Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = watched(signal(SignalKind::interrupt()), "Ctrl-C");
    let mut terminate = watched(signal(SignalKind::terminate()), "SIGTERM");
    async move {
        tokio::select! {
            () = received(interrupt.as_mut()) => tracing::info!("Ctrl-C received"),
            () = received(terminate.as_mut()) => tracing::info!("SIGTERM received"),
        }
    }
}

/// Elsewhere, only Ctrl-C, watched from the first poll on.
#[cfg(not(unix))]
pub fn watch() -> impl Future<Output = ()> {
    async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot watch for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received");
    }
}

/// The listener of one signal, or `None` (logged) when it cannot be
/// watched.
#[cfg(unix)]
fn watched(
    listener: std::io::Result<tokio::signal::unix::Signal>,
    name: &str,
) -> Option<tokio::signal::unix::Signal> {
    listener
        .inspect_err(|err| tracing::warn!(error = %err, "cannot watch for {name}"))
        .ok()
}

/// Resolves when `listener`'s signal arrives; never without a listener.
#[cfg(unix)]
async fn received(listener: Option<&mut tokio::signal::unix::Signal>) {
    match listener {
        Some(listener) => {
            listener.recv().await;
        }
        None => std::future::pending().await,
    }
}
