//! The journal's own thread: a current-thread runtime that runs nothing but the journal,
//! so the operating system wakes it as soon as the database answers (see
//! [`super::Journal::spawn`]).

use std::future::Future;

/// Runs `job` on a new thread with its own runtime (as a task of the calling runtime if
/// no runtime can be built).
pub(super) fn start(job: impl Future<Output = ()> + Send + 'static) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => {
            let spawned = std::thread::Builder::new()
                .name("orchstack-journal".into())
                .spawn(move || runtime.block_on(job));
            if let Err(err) = spawned {
                // Not started: senders see a closed channel and report it.
                tracing::error!(error = %err, "could not start the journal thread");
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "no runtime for the journal thread; it runs as a task");
            tokio::spawn(job);
        }
    }
}
