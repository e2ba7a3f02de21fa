//! The run worker of one instance: keeps the instance's row alive (one heartbeat for all
//! its leases), claims queued runs (up to `concurrency` at once), executes them, and
//! ends runs whose instance died. On shutdown it stops claiming and gives in-flight runs
//! a grace period to finish; then it deletes its instance row, so any run still going is
//! taken for orphaned at once and ended by another instance's reaper (or by the next
//! instance started on this database).

use super::executor::Executor;
use super::reaper;
use crate::config::WorkerConfig;
use crate::jobs::instances::Instance;
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
    let ttl = config.lease_ttl;
    let poll = config.poll_interval;
    let instance = Arc::new(Instance::new(executor.db.clone(), owner.clone(), ttl));
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let mut running = JoinSet::new();
    // Until the end of the grace period: the runs finishing in it keep their leases.
    let upkeep = tokio::spawn(upkeep(executor.clone(), instance.clone(), config.clone()));
    loop {
        let Some(mut permits) = super::slots::take(&slots, CLAIM_BATCH, &stop).await else {
            break;
        };
        while running.try_join_next().is_some() {}
        let claimed = match instance.ensure_fresh().await {
            // Waits in the journal up to `poll` for a run to become claimable.
            Ok(()) => {
                let room = Some((slots.clone(), CLAIM_BATCH));
                executor
                    .journal
                    .claim(&owner, permits.len(), poll, room)
                    .await
            }
            Err(err) => Err(err),
        };
        match claimed {
            Ok(runs) if !runs.is_empty() => {
                for run in runs {
                    // Runs beyond the slots held came from slots freed while the claim
                    // waited: still free, as only this loop takes slots. A run claimed
                    // is executed even if none were (it is leased to this instance).
                    let permit = permits
                        .pop()
                        .or_else(|| slots.clone().try_acquire_owned().ok());
                    let (ex, owner) = (executor.clone(), owner.clone());
                    running.spawn(async move {
                        ex.execute(run, &owner).await;
                        drop(permit);
                    });
                }
                drop(permits);
            }
            Ok(_) => {
                // The claim already waited (in the journal) for work or `poll`.
                drop(permits);
                if stop.is_cancelled() {
                    break;
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
            "shutdown grace period over; the runs still going will be ended as worker_lost"
        );
        running.abort_all();
    }
    upkeep.abort();
    let _ = upkeep.await;
    if let Err(err) = instance.leave().await {
        tracing::warn!(error = ?err, "could not delete this instance's row; it will go stale");
    }
}

/// The heartbeat of this instance, the reaper of every instance's orphaned runs, the
/// expiry sweep of every organisation's gates and the pruning of expired idempotency keys.
async fn upkeep(executor: Executor, instance: Arc<Instance>, config: WorkerConfig) {
    let ttl = config.lease_ttl;
    let mut beat = tokio::time::interval(instance.beat_interval());
    let mut reap = tokio::time::interval(config.reap_interval.max(Duration::from_secs(1)));
    // Gates past their time are expired here, on every instance (each gate by one).
    let mut sweep = tokio::time::interval(executor.config.gates.sweep_interval);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Idempotency keys past their time; one instance at a time prunes.
    let mut prune = tokio::time::interval(executor.config.idempotency.sweep_interval);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = prune.tick() => {
                let db = &executor.db;
                match crate::jobs::idempotency::prune(db, crate::jobs::idempotency::PRUNE_BATCH).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(keys = n, "pruned expired idempotency keys"),
                    Err(err) => tracing::warn!(error = ?err, "could not prune idempotency keys"),
                }
            }
            _ = sweep.tick() => match super::gates::sweep(&executor.db, &executor.bus).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(gates = n, "expired gates past their time"),
                Err(err) => tracing::warn!(error = ?err, "could not expire gates"),
            },
            _ = beat.tick() => {
                if let Err(err) = instance.beat().await {
                    tracing::warn!(error = ?err, "could not renew this instance's heartbeat");
                }
            }
            _ = reap.tick() => match reaper::reap(&executor.db, &executor.bus, ttl).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(runs = n, "ended runs whose instance stopped (worker_lost)"),
                Err(err) => tracing::warn!(error = ?err, "could not reap orphaned runs"),
            },
        }
    }
}
