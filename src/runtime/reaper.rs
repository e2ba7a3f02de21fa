//! The reaper: ends the runs whose instance died (its `instances` row is missing or
//! stale), `failed` with `worker_lost`, so no run stays `running` forever, and puts the
//! webhook deliveries such an instance was sending back to `pending`, due at once (sent
//! again with the same id: at-least-once). Which rows are orphans and the guarded
//! takeovers are the leases' (`jobs::runs`, `jobs::deliveries`); the run's closing (its
//! steps, its terminal event, its `agent.run.failed` webhook, the bus) is here.

use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::log::RunLog;
use crate::events::EventKind;
use crate::jobs::{deliveries, instances, runs as lease};
use crate::webhooks::outbox::{self, Outgoing};
use crate::webhooks::{payload, EventType};
use entity::run_steps::StepStatus;
use entity::runs::{Model, RunStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use std::time::Duration;

/// Ends the runs of instances not seen for `ttl` and requeues their webhook
/// deliveries, then forgets those instances' rows. Returns how many runs it ended.
pub async fn reap(db: &DatabaseConnection, bus: &Bus, ttl: Duration) -> AppResult<usize> {
    let now = crate::clock::now();
    let cutoff = instances::dead_before(ttl);
    let mut reaped = 0;
    for run in lease::orphans(db, cutoff).await? {
        if end_lost(db, bus, run, cutoff, now).await? {
            reaped += 1;
        }
    }
    let requeued = requeue_deliveries(db, cutoff, now).await?;
    if requeued > 0 {
        tracing::warn!(
            deliveries = requeued,
            "requeued webhook deliveries whose instance stopped while sending them"
        );
        bus.notify_deliveries();
    }
    // A missing row means what a stale one does, so dropping them changes no lease.
    instances::forget_dead(db, cutoff).await?;
    Ok(reaped)
}

/// Puts the deliveries dead instances were sending back to `pending`, due `now`.
async fn requeue_deliveries(
    db: &DatabaseConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<usize> {
    let mut n = 0;
    for d in deliveries::orphans(db, cutoff).await? {
        if deliveries::requeue_orphan(db, &d, cutoff, now).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Ends one orphan with its terminal event; false if it was no longer an orphan.
async fn end_lost(
    db: &DatabaseConnection,
    bus: &Bus,
    run: Model,
    cutoff: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<bool> {
    let error = json!({
        "code": crate::error::Code::WorkerLost,
        "message": "the instance executing this run stopped before it finished",
    });
    // The ending and its terminal event in one transaction: a run never shows `failed`
    // without the event that ends its stream. (Writes first, for SQLite.)
    let txn = db.begin().await?;
    if !lease::fail_orphan(&txn, &run, cutoff, &error, now).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    entity::run_steps::Entity::update_many()
        .col_expr(
            entity::run_steps::Column::Status,
            Expr::value(StepStatus::Failed),
        )
        .col_expr(entity::run_steps::Column::CompletedAt, Expr::value(now))
        .filter(entity::run_steps::Column::RunId.eq(&run.id))
        .filter(entity::run_steps::Column::Status.eq(StepStatus::Running))
        .exec(&txn)
        .await?;
    let mut log = RunLog::open(&txn, &run.id, &run.org_id).await?;
    let event = log
        .store(&txn, EventKind::RunFailed, json!({ "error": error }))
        .await?;
    let ended = Model {
        status: RunStatus::Failed,
        error: Some(error),
        lease_owner: None,
        completed_at: Some(now),
        ..run
    };
    let outgoing = Outgoing {
        org_id: ended.org_id.clone(),
        kind: EventType::RunFailed,
        data: payload::run(&ended),
    };
    let deliveries = outbox::record(&txn, &[outgoing]).await?;
    txn.commit().await?;
    bus.publish_event(event);
    bus.publish_run(ended);
    if deliveries > 0 {
        bus.notify_deliveries();
    }
    Ok(true)
}
