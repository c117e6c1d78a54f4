//! What the unit tests of several modules share.

/// Runs `future` to completion on a current-thread runtime inside a
/// `LocalSet`, as the generator runs its clients (`spawn_local` works).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tokio::task::LocalSet::new().block_on(&runtime, future)
}
