//! The SQL of one journal batch: one transaction, multi-row inserts.

use super::super::RunEvent;
use crate::error::AppResult;
use crate::jobs::runs as lease;
use crate::webhooks::outbox::{self, Outgoing};
use crate::webhooks::{payload, EventType};
use entity::runs::RunStatus;
use entity::{run_events, run_steps, runs};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, TransactionTrait,
};
use std::collections::HashSet;

/// Rows per multi-row insert (well under SQLite's and PostgreSQL's bound-value limits).
const ROWS_PER_INSERT: usize = 256;

/// What one transaction writes.
#[derive(Default)]
pub(super) struct Parts<'a> {
    /// New runs, each with its first event.
    pub(super) runs: Vec<(&'a runs::Model, &'a RunEvent)>,
    pub(super) events: Vec<&'a RunEvent>,
    pub(super) steps: Vec<&'a run_steps::Model>,
    /// Run endings: the run as it ends, the lease owner it needs, its terminal event.
    pub(super) ends: Vec<(&'a runs::Model, &'a str, &'a RunEvent)>,
    /// Claims of queued runs: lease owner, how many runs at most.
    pub(super) claims: Vec<(&'a str, usize)>,
    /// Runs pausing at approval gates (see `pause`).
    pub(super) pauses: Vec<super::pause::PausePart<'a>>,
}

/// What a batch did besides writing.
pub(super) struct Written {
    /// Per ending: whether it was recorded (false: the lease was lost).
    pub(super) kept: Vec<bool>,
    /// Per claim: the runs claimed.
    pub(super) claimed: Vec<Vec<runs::Model>>,
    /// Per pause: whether it was recorded.
    pub(super) paused: Vec<bool>,
    /// Webhook deliveries written for the recorded endings and pauses (wake the delivery workers
    /// after the commit when > 0).
    pub(super) deliveries: usize,
}

/// Writes one batch in one transaction: new runs, steps, run endings (each only if its
/// lease is still held; steps cut short end with their run), events, then claims.
pub(super) async fn write(db: &DatabaseConnection, parts: &Parts<'_>) -> AppResult<Written> {
    let txn = db.begin().await?;
    for chunk in parts.runs.chunks(ROWS_PER_INSERT / 4) {
        let rows = chunk
            .iter()
            .map(|(r, _)| (*r).clone().into_active_model().reset_all());
        runs::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in parts.steps.chunks(ROWS_PER_INSERT / 2) {
        let rows = chunk
            .iter()
            .map(|s| (*s).clone().into_active_model().reset_all());
        run_steps::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(run_steps::Column::Id)
                    .update_columns([
                        run_steps::Column::Output,
                        run_steps::Column::TokensInput,
                        run_steps::Column::TokensOutput,
                        run_steps::Column::Cost,
                        run_steps::Column::Status,
                        run_steps::Column::Error,
                        run_steps::Column::CompletedAt,
                        run_steps::Column::DurationMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let pairs: Vec<_> = parts.ends.iter().map(|(r, o, _)| (*r, *o)).collect();
    let kept = super::ends::record(&txn, &pairs).await?;
    let mut dropped = HashSet::new();
    let mut outgoing = Vec::new();
    for ((run, _, event), ok) in parts.ends.iter().zip(&kept) {
        if !ok {
            dropped.insert((event.run_id.as_str(), event.seq));
        } else if let Some(kind) = ending_event(run.status) {
            outgoing.push(Outgoing {
                org_id: run.org_id.clone(),
                kind,
                data: payload::run(run),
            });
        }
    }
    let paused = super::pause::write(&txn, &parts.pauses, &mut dropped, &mut outgoing).await?;
    // The webhook events of the endings and pauses, in the transaction that records
    // them: a crash after the commit still delivers them, a rolled-back batch never does.
    // One query for the batch's organisations' endpoints.
    let deliveries = outbox::record(&txn, &outgoing).await?;
    let rows = parts
        .runs
        .iter()
        .map(|(_, e)| *e)
        .chain(parts.events.iter().copied())
        .chain(parts.ends.iter().map(|(_, _, e)| *e))
        .chain(parts.pauses.iter().map(|(_, _, _, e)| *e))
        .filter(|e| !dropped.contains(&(e.run_id.as_str(), e.seq)))
        .collect::<Vec<_>>();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let rows = chunk.iter().map(|e| super::super::log::row(e));
        run_events::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    // Claims last: they see the runs created and ended in this batch (a conversation's
    // next run can start in the batch that ends the previous one), and on PostgreSQL the
    // claim lock is held only until the commit right after.
    let mut claimed = Vec::with_capacity(parts.claims.len());
    for (owner, limit) in &parts.claims {
        claimed.push(lease::claim(&txn, owner, *limit).await?);
    }
    txn.commit().await?;
    Ok(Written {
        kept,
        claimed,
        paused,
        deliveries,
    })
}

/// The webhook event a run's ending sends, if its status is an ending.
fn ending_event(status: RunStatus) -> Option<EventType> {
    match status {
        RunStatus::Completed => Some(EventType::RunCompleted),
        RunStatus::Failed => Some(EventType::RunFailed),
        RunStatus::Cancelled => Some(EventType::RunCancelled),
        RunStatus::Queued | RunStatus::Running | RunStatus::WaitingForApproval => None,
    }
}
