//! The end of a run: its outcome recorded on the run row and as its terminal event,
//! steps cut short closed, and the lease given up; plus the cancel watcher for instances
//! that share no bus.

use super::executor::Executor;
use crate::error::{AppError, AppResult};
use crate::events::log::RunLog;
use crate::events::{RUN_CANCELLED, RUN_COMPLETED, RUN_FAILED};
use entity::runs;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use std::time::Duration;
/// How a run ended.
pub(super) enum Outcome {
    Completed(String),
    Failed { code: String, message: String },
    Cancelled,
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

impl Executor {
    pub(super) async fn finish(
        &self,
        run: runs::Model,
        owner: &str,
        log: &mut RunLog,
        outcome: Outcome,
        totals: Totals,
        elapsed: Duration,
    ) -> AppResult<()> {
        let duration_ms = elapsed.as_millis() as i64;
        let (status, output, error, kind) = match &outcome {
            Outcome::Completed(text) => ("completed", Some(text.clone()), None, RUN_COMPLETED),
            Outcome::Failed { code, message } => (
                "failed",
                None,
                Some(json!({ "code": code, "message": message })),
                RUN_FAILED,
            ),
            Outcome::Cancelled => ("cancelled", None, None, RUN_CANCELLED),
        };
        let now = crate::service::now();
        // Steps cut short by a cancel or timeout end with the run.
        entity::run_steps::Entity::update_many()
            .col_expr(
                entity::run_steps::Column::Status,
                Expr::value(if status == "cancelled" {
                    "cancelled"
                } else {
                    "failed"
                }),
            )
            .col_expr(entity::run_steps::Column::CompletedAt, Expr::value(now))
            .filter(entity::run_steps::Column::RunId.eq(&run.id))
            .filter(entity::run_steps::Column::Status.eq("running"))
            .exec(&self.db)
            .await?;
        let updated = runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(status))
            .col_expr(runs::Column::Output, Expr::value(output.clone()))
            .col_expr(runs::Column::Error, Expr::value(error.clone()))
            .col_expr(runs::Column::TokensInput, Expr::value(totals.input as i64))
            .col_expr(
                runs::Column::TokensOutput,
                Expr::value(totals.output as i64),
            )
            .col_expr(runs::Column::Cost, Expr::value(totals.cost))
            .col_expr(runs::Column::CompletedAt, Expr::value(now))
            .col_expr(runs::Column::DurationMs, Expr::value(duration_ms))
            .col_expr(
                runs::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .filter(runs::Column::Id.eq(&run.id))
            .filter(runs::Column::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 0 {
            // The lease was lost (reaped as worker_lost); that outcome stands.
            return Ok(());
        }
        let data = json!({
            "output": output,
            "error": error,
            "tokens": { "input": totals.input, "output": totals.output },
            "cost": totals.cost,
            "duration_ms": duration_ms,
        });
        log.append(&self.db, &self.bus, kind, data).await?;
        if let Some(run) = runs::Entity::find_by_id(run.id.clone())
            .one(&self.db)
            .await?
        {
            self.bus.publish_run(run);
        }
        Ok(())
    }
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
