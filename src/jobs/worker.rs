//! The run worker of one instance: claims queued runs (up to `concurrency` at once),
//! executes them, renews its leases, and ends runs whose instance died. On shutdown it
//! stops claiming and gives in-flight runs a grace period to finish; any still going
//! keep their lease until it expires, and are then ended by another instance's reaper.

use crate::config::WorkerConfig;
use crate::runtime::executor::Executor;
use crate::service::runs::lease;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Runs claimed in one statement, at most.
const CLAIM_BATCH: usize = 16;

/// Runs the worker until `stop` is cancelled and in-flight runs are done (or the grace
/// period passed).
pub async fn run(executor: Executor, owner: String, config: WorkerConfig, stop: CancellationToken) {
    let ttl = lease_ttl(&config);
    let poll = config.poll_interval;
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let mut running = JoinSet::new();
    let upkeep = tokio::spawn(upkeep(
        executor.clone(),
        owner.clone(),
        config.clone(),
        stop.clone(),
    ));
    loop {
        let first = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.cancelled() => break,
        };
        // Claim as many runs as there are free slots (up to CLAIM_BATCH) in one statement.
        let mut permits = vec![first];
        while permits.len() < CLAIM_BATCH {
            match slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        while running.try_join_next().is_some() {}
        match executor.journal.claim(&owner, ttl, permits.len()).await {
            Ok(runs) if !runs.is_empty() => {
                for (run, permit) in runs.into_iter().zip(permits.drain(..)) {
                    let (ex, owner) = (executor.clone(), owner.clone());
                    running.spawn(async move {
                        ex.execute(run, &owner).await;
                        drop(permit);
                    });
                }
            }
            Ok(_) => {
                drop(permits);
                tokio::select! {
                    _ = executor.bus.work_queued() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.cancelled() => break,
                }
            }
            Err(err) => {
                drop(permits);
                tracing::warn!(error = ?err, "could not claim runs");
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.cancelled() => break,
                }
            }
        }
    }
    let grace = config.shutdown_grace;
    if tokio::time::timeout(grace, async {
        while running.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!(
            still_running = running.len(),
            "shutdown grace period over; leases will expire"
        );
        running.abort_all();
    }
    upkeep.abort();
}

/// Heartbeats for this instance's leases and the reaper for everyone's expired ones.
async fn upkeep(executor: Executor, owner: String, config: WorkerConfig, stop: CancellationToken) {
    let ttl = lease_ttl(&config);
    let every = Duration::from_secs((config.lease_ttl.as_secs() / 3).max(1));
    let mut beat = tokio::time::interval(every);
    let mut reap = tokio::time::interval(config.reap_interval.max(Duration::from_secs(1)));
    loop {
        tokio::select! {
            _ = beat.tick() => {
                if let Err(err) = lease::heartbeat(&executor.db, &owner, ttl).await {
                    tracing::warn!(error = ?err, "could not renew run leases");
                }
            }
            _ = reap.tick() => match lease::reap(&executor.db, &executor.bus).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(runs = n, "ended runs whose instance stopped (worker_lost)"),
                Err(err) => tracing::warn!(error = ?err, "could not reap expired leases"),
            },
            _ = stop.cancelled() => break,
        }
    }
}

/// The lease TTL as the database's time arithmetic wants it (the configuration allows
/// 1 s to 1 h, so it always fits).
fn lease_ttl(config: &WorkerConfig) -> chrono::Duration {
    chrono::Duration::from_std(config.lease_ttl).unwrap_or(chrono::Duration::hours(1))
}
