//! Cancelling a run: a queued run ends at once, a run waiting at a gate too (its gate
//! expires), a running one is told to stop and the answer waits (bounded) for its end.

use super::find;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::events::log::RunLog;
use crate::events::reader::EndWatch;
use crate::events::EventKind;
use crate::runtime::gates::{self, Resolution, Then};
use crate::service::Services;
use crate::webhooks::outbox::{self, Outgoing};
use crate::webhooks::{payload, EventType};
use entity::gates::GateStatus;
use entity::runs::{Column, Entity, Model, RunStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;

/// Cancels a run: a queued run ends at once; a running one is told to stop (its
/// executor ends it `cancelled` within moments), and the answer waits up to `runs.cancel_wait` for
/// that end, so a caller usually gets the final state rather than `running`. A run
/// still going after that is returned as it is (REST answers it with 202). A finished
/// run is a `conflict`.
pub async fn cancel(s: &Services, p: &Principal, id: &str) -> AppResult<Model> {
    let (db, bus) = (&s.db, &s.bus);
    // Waiting for the executor inside a unit of work would hold its transaction (and on
    // SQLite the write lock the executor needs) open: a cancel there answers at once.
    let wait = match db.unit() {
        Some(_) => std::time::Duration::ZERO,
        None => s.config.runs.cancel_wait,
    };
    p.require(Scope::RunsWrite)?;
    let run = find(db, p, id).await?;
    if !run.status.is_active() {
        return Err(AppError::Conflict(format!(
            "run {id} already ended ({})",
            run.status
        )));
    }
    // Watching before the cancel is requested: the end cannot slip by unseen.
    let watch = (!wait.is_zero()).then(|| EndWatch::new(bus, id));
    request_cancel(s, run).await?;
    let now = find(db, p, id).await?;
    match watch {
        Some(watch) if now.status.is_active() => {
            // After `wait` the run is answered as it is then.
            let _ = tokio::time::timeout(wait, watch.ended(db.pool(), bus)).await;
            find(db, p, id).await
        }
        _ => Ok(now),
    }
}

pub(super) async fn request_cancel(s: &Services, run: Model) -> AppResult<()> {
    let (db, bus) = (&s.db, &s.bus);
    if run.status == RunStatus::WaitingForApproval && cancel_waiting(s, &run).await? {
        return Ok(());
    }
    let now = crate::clock::now();
    // A queued run has no executor: end it here, guarded on it still being queued, with
    // its terminal event and its webhook in the same transaction.
    let txn = db.begin().await?;
    let ended = Entity::update_many()
        .col_expr(Column::Status, Expr::value(RunStatus::Cancelled))
        .col_expr(Column::CancelRequested, Expr::value(true))
        .col_expr(Column::CompletedAt, Expr::value(now))
        .filter(Column::Id.eq(&run.id))
        .filter(Column::Status.eq(RunStatus::Queued))
        .exec(&txn)
        .await?;
    if ended.rows_affected == 1 {
        let mut log = RunLog::open(&txn, &run.id, &run.org_id).await?;
        let event = log
            .store(
                &txn,
                EventKind::RunCancelled,
                json!({ "reason": "cancelled before it started" }),
            )
            .await?;
        let ended = Model {
            status: RunStatus::Cancelled,
            cancel_requested: true,
            completed_at: Some(now),
            ..run
        };
        let deliveries = outbox::record(
            &txn,
            &[Outgoing {
                org_id: ended.org_id.clone(),
                kind: EventType::RunCancelled,
                data: payload::run(&ended),
            }],
        )
        .await?;
        txn.commit().await?;
        let bus = bus.clone();
        s.after_commit(Box::new(move || {
            bus.publish_event(event);
            bus.publish_run(ended);
            if deliveries > 0 {
                bus.notify_deliveries();
            }
        }));
        return Ok(());
    }
    txn.rollback().await?;
    Entity::update_many()
        .col_expr(Column::CancelRequested, Expr::value(true))
        .filter(Column::Id.eq(&run.id))
        .exec(db)
        .await?;
    let (bus2, id) = (bus.clone(), run.id.clone());
    s.after_commit(Box::new(move || bus2.cancel(&id)));
    // A run that paused at a gate just before the cancel was asked for has no executor
    // any more to hear it: end it here.
    if let Some(now) = Entity::find_by_id(run.id.clone()).one(db).await? {
        if now.status == RunStatus::WaitingForApproval {
            cancel_waiting(s, &now).await?;
        }
    }
    Ok(())
}

/// Ends a run that waits at a gate: the gate expires (`gate.resolved`) and the run is
/// `cancelled` (`run.cancelled`), in one transaction. False if its gate was resolved
/// meanwhile (the run is queued again; the caller cancels it as such).
async fn cancel_waiting(s: &Services, run: &Model) -> AppResult<bool> {
    let db = &s.db;
    let gate = entity::gates::Entity::find()
        .filter(entity::gates::Column::RunId.eq(&run.id))
        .filter(entity::gates::Column::Status.eq(GateStatus::Pending))
        .one(db)
        .await?;
    let Some(gate) = gate else {
        return Ok(false);
    };
    let expire = Resolution {
        status: GateStatus::Expired,
        by: None,
        comment: Some("the run was cancelled".into()),
        arguments: None,
    };
    let after = |f| s.after_commit(f);
    match gates::resolve(db, &s.bus, &gate.id, expire, Then::Cancel, &after).await {
        Ok(_) => Ok(true),
        Err(AppError::GateNotPending(_)) => Ok(false),
        Err(err) => Err(err),
    }
}
