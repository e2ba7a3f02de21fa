//! A run pausing at an approval gate, written in the journal's batch: the run becomes
//! `waiting_for_approval` and gives up its lease (a waiting run holds no worker slot),
//! its gate is inserted, and the `agent.gate.pending` webhook is put in the outbox, all
//! in the transaction that stores its `gate.pending` event. Only if the writer still
//! holds the lease and no cancel was asked for meanwhile.

use super::super::bus::Bus;
use super::super::RunEvent;
use super::{Journal, Write};
use crate::error::AppResult;
use crate::webhooks::outbox::Outgoing;
use crate::webhooks::{payload, EventType};
use entity::runs::{self, RunStatus};
use entity::{gates, runs::Column};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A run pausing at an approval gate, recorded only if the writer still holds its lease
/// and no cancel was asked for (see `pause`).
pub struct Pause {
    /// The run as it pauses (its totals so far).
    pub run: runs::Model,
    /// The lease holder the run row must still name.
    pub owner: String,
    /// The new gate (pending).
    pub gate: gates::Model,
    /// The run's `gate.pending` event.
    pub event: Arc<RunEvent>,
    /// Told whether the pause was recorded.
    pub done: oneshot::Sender<AppResult<bool>>,
}

impl Journal {
    /// Hands a run's pause at a gate (see [`Pause`]) to the journal; the answer comes
    /// on the returned channel once committed (true: recorded; then the event, the
    /// waiting run and the gate are published) or refused (false: the run's lease was
    /// lost or a cancel was asked for meanwhile; nothing was written).
    pub async fn pause(
        &self,
        run: runs::Model,
        owner: &str,
        gate: gates::Model,
        event: Arc<RunEvent>,
    ) -> AppResult<oneshot::Receiver<AppResult<bool>>> {
        let (done, answer) = oneshot::channel();
        let write = Write::Pause(Box::new(Pause {
            run,
            owner: owner.to_owned(),
            gate,
            event,
            done,
        }));
        self.send(write).await?;
        Ok(answer)
    }
}

/// After a pause was (or was not) committed: publish the event, the waiting run and its
/// gate; tell the executor.
pub(super) fn paused_run(bus: &Bus, p: Pause, res: AppResult<bool>) {
    if let Ok(true) = res {
        bus.publish_event(p.event);
        bus.publish_run(runs::Model {
            status: runs::RunStatus::WaitingForApproval,
            lease_owner: None,
            ..p.run
        });
        bus.publish_gate(p.gate);
    }
    let _ = p.done.send(res);
}

/// One pause of a batch: the run as it pauses (totals so far), the lease owner it needs,
/// the new gate and the `gate.pending` event.
pub(super) type PausePart<'a> = (&'a runs::Model, &'a str, &'a gates::Model, &'a RunEvent);

/// Writes the pauses of a batch; per pause whether it was recorded. The events of those
/// that were not are added to `dropped` (they are not stored); the webhook events of
/// those that were are added to `outgoing` (the batch puts them in the outbox, with its
/// endings', in one go).
pub(super) async fn write<'a>(
    txn: &DatabaseTransaction,
    pauses: &[PausePart<'a>],
    dropped: &mut HashSet<(&'a str, i64)>,
    outgoing: &mut Vec<Outgoing>,
) -> AppResult<Vec<bool>> {
    let mut kept = Vec::with_capacity(pauses.len());
    for (run, owner, gate, event) in pauses {
        let updated = runs::Entity::update_many()
            .col_expr(Column::Status, Expr::value(RunStatus::WaitingForApproval))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::TokensInput, Expr::value(run.tokens_input))
            .col_expr(Column::TokensOutput, Expr::value(run.tokens_output))
            .col_expr(Column::Cost, Expr::value(run.cost))
            .col_expr(Column::DurationMs, Expr::value(run.duration_ms))
            .filter(Column::Id.eq(&run.id))
            .filter(Column::LeaseOwner.eq(*owner))
            .filter(Column::Status.eq(RunStatus::Running))
            .filter(Column::CancelRequested.eq(false))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            dropped.insert((event.run_id.as_str(), event.seq));
            kept.push(false);
            continue;
        }
        gates::Entity::insert((*gate).clone().into_active_model())
            .exec_without_returning(txn)
            .await?;
        outgoing.push(Outgoing {
            org_id: gate.org_id.clone(),
            kind: EventType::GatePending,
            data: payload::gate(gate),
        });
        kept.push(true);
    }
    Ok(kept)
}
