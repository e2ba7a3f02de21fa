//! Resolving approval gates: the one place approve, reject, expiry and cancel go
//! through. A resolution is one transaction that writes first: the gate leaves `pending`
//! only if it still is (so of two concurrent resolutions exactly one wins, on either
//! database), then its run is queued again (or, for a cancel, ended), `gate.resolved`
//! is appended to the run's log and the webhooks are put in the outbox. The expiry sweep
//! of every worker resolves gates past their time the same way.

use crate::error::{AppError, AppResult};
use crate::events::bus::Bus;
use crate::events::log::RunLog;
use crate::events::EventKind;
use crate::webhooks::outbox::{self, Outgoing};
use crate::webhooks::{payload, EventType};
use entity::gates::{self, GateStatus};
use entity::runs::{self, RunStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde_json::{json, Value};
use std::sync::Arc;

/// Gates expired in one sweep, at most (the next sweep takes the rest).
const SWEEP_BATCH: u64 = 100;

/// How a gate is resolved.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// `approved`, `rejected` or `expired`.
    pub status: GateStatus,
    /// The key (or user) that resolved it; none for expiry.
    pub by: Option<String>,
    /// The approver's comment.
    pub comment: Option<String>,
    /// Arguments that replace the model's (approval only).
    pub arguments: Option<Value>,
}

/// What happens to the gate's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// It is queued again and goes on (approve, reject, expiry).
    Requeue,
    /// It ends `cancelled` (its gate is expired by the cancel).
    Cancel,
}

/// Hands on what must wait for the caller's commit: run at once on the pool, deferred
/// to the end of a request's unit of work inside one (`Services::after_commit`).
pub type Defer<'a> = &'a (dyn Fn(Box<dyn FnOnce() + Send>) + Sync);

/// Runs at once: for callers on the pool.
pub fn now(f: Box<dyn FnOnce() + Send>) {
    f()
}

/// Resolves pending gate `id` and, per `then`, requeues or cancels its run, in one
/// transaction; then (through `after`) publishes the events, the run and the gate. A
/// gate that is not pending (any more): `gate_not_pending`, nothing written.
pub async fn resolve(
    db: &impl TransactionTrait<Transaction = DatabaseTransaction>,
    bus: &Arc<Bus>,
    id: &str,
    r: Resolution,
    then: Then,
    after: Defer<'_>,
) -> AppResult<(gates::Model, runs::Model)> {
    let now = crate::clock::now();
    let txn = db.begin().await?;
    let updated = gates::Entity::update_many()
        .col_expr(gates::Column::Status, Expr::value(r.status))
        .col_expr(gates::Column::ResolvedBy, Expr::value(r.by.clone()))
        .col_expr(gates::Column::Comment, Expr::value(r.comment.clone()))
        .col_expr(
            gates::Column::ResolvedArguments,
            Expr::value(r.arguments.clone()),
        )
        .col_expr(gates::Column::ResolvedAt, Expr::value(Some(now)))
        .filter(gates::Column::Id.eq(id))
        .filter(gates::Column::Status.eq(GateStatus::Pending))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::GateNotPending(format!(
            "gate {id} is not pending (it was already resolved)"
        )));
    }
    let gate = gates::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("gate {id} vanished")))?;
    let mut run_update = runs::Entity::update_many()
        .filter(runs::Column::Id.eq(&gate.run_id))
        .filter(runs::Column::Status.eq(RunStatus::WaitingForApproval));
    run_update = match then {
        Then::Requeue => run_update.col_expr(runs::Column::Status, Expr::value(RunStatus::Queued)),
        Then::Cancel => run_update
            .col_expr(runs::Column::Status, Expr::value(RunStatus::Cancelled))
            .col_expr(runs::Column::CancelRequested, Expr::value(true))
            .col_expr(runs::Column::CompletedAt, Expr::value(Some(now))),
    };
    let moved = run_update.exec(&txn).await?.rows_affected == 1;
    let run = runs::Entity::find_by_id(gate.run_id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the run of gate {id} vanished")))?;
    let mut log = RunLog::open(&txn, &run.id, &run.org_id).await?;
    let mut events = vec![
        log.store(&txn, EventKind::GateResolved, payload::gate(&gate))
            .await?,
    ];
    let mut outgoing = vec![Outgoing {
        org_id: gate.org_id.clone(),
        kind: EventType::GateResolved,
        data: payload::gate(&gate),
    }];
    if then == Then::Cancel && moved {
        events.push(
            log.store(
                &txn,
                EventKind::RunCancelled,
                json!({ "reason": "cancelled while waiting for approval", "gate_id": gate.id }),
            )
            .await?,
        );
        outgoing.push(Outgoing {
            org_id: run.org_id.clone(),
            kind: EventType::RunCancelled,
            data: payload::run(&run),
        });
    }
    let deliveries = outbox::record(&txn, &outgoing).await?;
    txn.commit().await?;
    let (bus, published, moved_run) = (bus.clone(), gate.clone(), run.clone());
    after(Box::new(move || {
        if deliveries > 0 {
            bus.notify_deliveries();
        }
        for event in events {
            bus.publish_event(event);
        }
        bus.publish_gate(published);
        if moved {
            bus.publish_run(moved_run);
            if then == Then::Requeue {
                bus.notify_work();
            }
        }
    }));
    Ok((gate, run))
}

/// Expires the pending gates past their time (also those that expired while no
/// instance was up); returns how many. Safe on several instances at once: each gate is
/// resolved by exactly one of them (the others get `gate_not_pending` and skip it).
pub async fn sweep(db: &DatabaseConnection, bus: &Arc<Bus>) -> AppResult<usize> {
    let due: Vec<String> = gates::Entity::find()
        .select_only()
        .column(gates::Column::Id)
        .filter(gates::Column::Status.eq(GateStatus::Pending))
        .filter(gates::Column::ExpiresAt.lte(crate::clock::now()))
        .order_by_asc(gates::Column::ExpiresAt)
        .limit(SWEEP_BATCH)
        .into_tuple()
        .all(db)
        .await?;
    let mut expired = 0;
    for id in due {
        let expire = Resolution {
            status: GateStatus::Expired,
            by: None,
            comment: None,
            arguments: None,
        };
        match resolve(db, bus, &id, expire, Then::Requeue, &now).await {
            Ok(_) => expired += 1,
            Err(AppError::GateNotPending(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(expired)
}

/// Whether a resolved gate lets its call go ahead: approved, or expired with
/// `on_timeout: approve`.
pub fn allows(gate: &gates::Model) -> bool {
    match gate.status {
        GateStatus::Approved => true,
        GateStatus::Expired => gate.on_timeout == "approve",
        GateStatus::Rejected | GateStatus::Pending => false,
    }
}

/// What the model is told about a call a person refused (or let expire).
pub fn refusal(gate: &gates::Model) -> String {
    let why = match gate.status {
        GateStatus::Expired => "nobody approved it in time, so it was refused",
        _ => "a person refused it",
    };
    let mut text = format!("The call to `{}` was not made: {why}.", gate.tool_name);
    if let Some(c) = gate.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        text.push_str(&format!(" Their comment: {c}"));
    }
    text
}
