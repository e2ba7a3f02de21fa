//! Run endings in a journal batch: each is recorded only if its writer still holds the
//! run's lease. On PostgreSQL all of a batch's endings are one statement (one round trip
//! however many runs end together); on SQLite, where a statement costs no round trip, one
//! statement per ending.

use crate::error::AppResult;
use entity::run_steps::{self, StepStatus};
use entity::runs::{self, RunStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    Statement, Value,
};
use std::collections::HashSet;

/// Endings per statement (10 bound values each: well under PostgreSQL's limit).
const PER_STATEMENT: usize = 200;

/// Records the endings whose lease is still held; returns, per ending, whether it was.
/// Steps cut short by a cancel, timeout or failure end with their run.
pub(super) async fn record(
    txn: &DatabaseTransaction,
    ends: &[(&runs::Model, &str)],
) -> AppResult<Vec<bool>> {
    let kept = match txn.get_database_backend() {
        DatabaseBackend::Postgres => {
            let mut ended = HashSet::new();
            for chunk in ends.chunks(PER_STATEMENT) {
                ended.extend(end_many_pg(txn, chunk).await?);
            }
            ends.iter().map(|(r, _)| ended.contains(&r.id)).collect()
        }
        _ => {
            let mut kept = Vec::with_capacity(ends.len());
            for (run, owner) in ends {
                kept.push(end_one(txn, run, owner).await?);
            }
            kept
        }
    };
    for ((run, _), kept) in ends.iter().zip(&kept) {
        if *kept && run.status != RunStatus::Completed {
            cut_steps(txn, run).await?;
        }
    }
    Ok(kept)
}

/// One `UPDATE ... FROM (VALUES ...)` for a chunk of endings; the ids it updated.
async fn end_many_pg(
    txn: &DatabaseTransaction,
    ends: &[(&runs::Model, &str)],
) -> AppResult<Vec<String>> {
    let mut sql = String::from(
        "UPDATE runs AS r SET status = v.status, output = v.output, error = v.error, \
         tokens_input = v.ti, tokens_output = v.tout, cost = v.cost, completed_at = v.ca, \
         duration_ms = v.dm, lease_owner = NULL FROM (VALUES ",
    );
    let mut values: Vec<Value> = Vec::with_capacity(ends.len() * 10);
    for (i, (run, owner)) in ends.iter().enumerate() {
        let n = i * 10;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}::varchar, ${}::varchar, ${}::varchar, ${}::text, ${}::json, ${}::bigint, \
             ${}::bigint, ${}::float8, ${}::timestamptz, ${}::bigint)",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8,
            n + 9,
            n + 10
        ));
        values.extend([
            run.id.clone().into(),
            (*owner).to_owned().into(),
            run.status.as_str().into(),
            run.output.clone().into(),
            run.error.clone().into(),
            run.tokens_input.into(),
            run.tokens_output.into(),
            run.cost.into(),
            run.completed_at.into(),
            run.duration_ms.into(),
        ]);
    }
    sql.push_str(
        ") AS v(id, owner, status, output, error, ti, tout, cost, ca, dm) \
         WHERE r.id = v.id AND r.lease_owner = v.owner RETURNING r.id",
    );
    let stmt = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
    let rows = txn.query_all_raw(stmt).await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "id").map_err(Into::into))
        .collect()
}

/// Records one ending if `owner` still holds the run's lease.
async fn end_one(txn: &DatabaseTransaction, run: &runs::Model, owner: &str) -> AppResult<bool> {
    let updated = runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(run.status))
        .col_expr(runs::Column::Output, Expr::value(run.output.clone()))
        .col_expr(runs::Column::Error, Expr::value(run.error.clone()))
        .col_expr(runs::Column::TokensInput, Expr::value(run.tokens_input))
        .col_expr(runs::Column::TokensOutput, Expr::value(run.tokens_output))
        .col_expr(runs::Column::Cost, Expr::value(run.cost))
        .col_expr(runs::Column::CompletedAt, Expr::value(run.completed_at))
        .col_expr(runs::Column::DurationMs, Expr::value(run.duration_ms))
        .col_expr(
            runs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .filter(runs::Column::Id.eq(&run.id))
        .filter(runs::Column::LeaseOwner.eq(owner))
        .exec(txn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Steps still running when their run ends otherwise than completed end with it.
async fn cut_steps(txn: &DatabaseTransaction, run: &runs::Model) -> AppResult<()> {
    let status = if run.status == RunStatus::Cancelled {
        StepStatus::Cancelled
    } else {
        StepStatus::Failed
    };
    run_steps::Entity::update_many()
        .col_expr(run_steps::Column::Status, Expr::value(status))
        .col_expr(
            run_steps::Column::CompletedAt,
            Expr::value(run.completed_at),
        )
        .filter(run_steps::Column::RunId.eq(&run.id))
        .filter(run_steps::Column::Status.eq(StepStatus::Running))
        .exec(txn)
        .await?;
    Ok(())
}
