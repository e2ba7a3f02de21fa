//! The reaper: ends the runs whose instance died (its `instances` row is missing or
//! stale), `failed` with `worker_lost`, so no run stays `running` forever. Which runs are
//! orphans and the guarded ending are the lease's (`jobs::runs`); the run's closing (its
//! steps, its terminal event, the bus) is here.

use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::log::RunLog;
use crate::events::EventKind;
use crate::jobs::{instances, runs as lease};
use entity::run_steps::StepStatus;
use entity::runs::{Model, RunStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use std::time::Duration;

/// Ends the runs of instances not seen for `ttl`, then forgets those instances' rows.
/// Returns how many runs it ended.
pub async fn reap(db: &DatabaseConnection, bus: &Bus, ttl: Duration) -> AppResult<usize> {
    let now = crate::clock::now();
    let cutoff = instances::dead_before(ttl);
    let mut reaped = 0;
    for run in lease::orphans(db, cutoff).await? {
        if end_lost(db, bus, run, cutoff, now).await? {
            reaped += 1;
        }
    }
    // A missing row means what a stale one does, so dropping them changes no lease.
    instances::forget_dead(db, cutoff).await?;
    Ok(reaped)
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
    txn.commit().await?;
    bus.publish_event(event);
    bus.publish_run(Model {
        status: RunStatus::Failed,
        error: Some(error),
        lease_owner: None,
        completed_at: Some(now),
        ..run
    });
    Ok(true)
}
