//! The end of a run: its outcome recorded on the run row and as its terminal event,
//! steps cut short closed, and the lease given up; plus the cancel watcher for instances
//! that share no bus.

use crate::error::{AppError, AppResult};
use crate::events::journal::RunJournal;
use crate::events::EventKind;
use entity::runs::{self, RunStatus};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use std::time::Duration;

/// How a run ended.
pub(super) enum Outcome {
    Completed(String),
    Failed {
        code: String,
        message: String,
    },
    Cancelled,
    /// Paused at an approval gate (already recorded): the run is not ended.
    Paused,
}

impl Outcome {
    pub(super) fn failed(code: &str, message: impl Into<String>) -> Self {
        Self::Failed {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<AppError> for Outcome {
    fn from(err: AppError) -> Self {
        tracing::error!(error = ?err, "run failed on an internal error");
        Self::failed("internal", "the run failed on an internal error")
    }
}

/// Token totals of a run.
#[derive(Default)]
pub(super) struct Totals {
    pub(super) input: u64,
    pub(super) output: u64,
    pub(super) cost: f64,
}

impl Totals {
    /// The totals a run already has (a run resumed after a gate goes on from them).
    pub(super) fn of(run: &runs::Model) -> Self {
        Self {
            input: run.tokens_input.max(0) as u64,
            output: run.tokens_output.max(0) as u64,
            cost: run.cost,
        }
    }
}

/// Records how `run` ended (it is `owner`'s): the run row, its terminal event, and the
/// lease given up, all through the run's journal.
pub(super) async fn finish(
    run: runs::Model,
    owner: &str,
    log: &mut RunJournal,
    outcome: Outcome,
    totals: Totals,
    elapsed: Duration,
) -> AppResult<()> {
    // A run resumed after a gate adds this execution's time to what it had spent.
    let duration_ms = run.duration_ms.unwrap_or(0) + elapsed.as_millis() as i64;
    let (status, output, error, kind) = match &outcome {
        Outcome::Completed(text) => (
            RunStatus::Completed,
            Some(text.clone()),
            None,
            EventKind::RunCompleted,
        ),
        Outcome::Failed { code, message } => (
            RunStatus::Failed,
            None,
            Some(json!({ "code": code, "message": message })),
            EventKind::RunFailed,
        ),
        Outcome::Cancelled | Outcome::Paused => {
            (RunStatus::Cancelled, None, None, EventKind::RunCancelled)
        }
    };
    let data = json!({
        "output": output,
        "error": error,
        "tokens": { "input": totals.input, "output": totals.output },
        "cost": totals.cost,
        "duration_ms": duration_ms,
    });
    let ended = runs::Model {
        status,
        output,
        error,
        tokens_input: totals.input as i64,
        tokens_output: totals.output as i64,
        cost: totals.cost,
        completed_at: Some(crate::clock::now()),
        duration_ms: Some(duration_ms),
        lease_owner: None,
        ..run
    };
    // False when the lease was lost (reaped as worker_lost): that outcome stands.
    log.finish(ended, owner, kind, data).await?;
    Ok(())
}

/// Cancels `token` once the run's `cancel_requested` is set in the database.
pub(super) async fn watch_cancel(
    db: DatabaseConnection,
    run_id: String,
    token: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        match runs::Entity::find_by_id(run_id.clone()).one(&db).await {
            Ok(Some(run)) if run.cancel_requested => return token.cancel(),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, run_id, "could not check for a cancel"),
        }
    }
}
