//! Work leases on runs. A worker claims the oldest queued run whose conversation has
//! nothing in progress, keeps its lease alive with heartbeats, and gives it up by
//! ending the run. A run whose lease expired (its instance died) is ended `failed`
//! with `worker_lost` by any instance's reaper, so no run stays `running` forever.

use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::log::RunLog;
use crate::events::EventKind;
use chrono::{Duration, Utc};
use entity::runs::{Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use serde_json::json;

// The runs to claim: queued, the oldest queued of their conversation, and their
// conversation has nothing in progress (so a conversation's runs execute in order, one at
// a time, even when several are claimed at once).
const RUNNABLE: &str = "SELECT r.id FROM runs r WHERE r.status = 'queued' \
     AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.session_key = r.session_key \
       AND b.status IN ('running', 'waiting_for_approval')) \
     AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.session_key = r.session_key \
       AND o.status = 'queued' AND (o.created_at < r.created_at OR (o.created_at = r.created_at AND o.id < r.id))) \
     ORDER BY r.created_at, r.id";

/// Claims up to `limit` runnable runs for `owner`, oldest first, inside `txn` (the
/// journal's batch transaction: on SQLite it is then the only writer).
pub async fn claim(
    txn: &DatabaseTransaction,
    owner: &str,
    ttl: Duration,
    limit: usize,
) -> AppResult<Vec<Model>> {
    // Taken when the claim may proceed (after any lock wait); the statement also never
    // stamps a start before the run's creation.
    let values = || {
        let now = crate::clock::now();
        vec![
            owner.into(),
            (now + ttl).into(),
            now.into(),
            (limit as i64).into(),
        ]
    };
    let backend = txn.get_database_backend();
    let mut runs = if backend == DbBackend::Postgres {
        let sql = format!(
            "UPDATE runs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, started_at = COALESCE(started_at, GREATEST($3, created_at)) \
             WHERE id IN ({RUNNABLE} LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
        );
        // The conversation checks cannot see another claimer's uncommitted update, so
        // claims take turns (the lock is held until the transaction ends).
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7201145)")
            .await?;
        let stmt = Statement::from_sql_and_values(backend, sql, values());
        Entity::find().from_raw_sql(stmt).all(txn).await?
    } else {
        let sql = format!(
            "UPDATE runs SET status = 'running', lease_owner = ?, lease_expires_at = ?, \
             attempts = attempts + 1, started_at = COALESCE(started_at, MAX(?, created_at)) \
             WHERE id IN ({RUNNABLE} LIMIT ?) RETURNING *"
        );
        let stmt = Statement::from_sql_and_values(backend, sql, values());
        Entity::find().from_raw_sql(stmt).all(txn).await?
    };
    runs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(runs)
}

/// Extends every lease `owner` holds.
pub async fn heartbeat(db: &impl ConnectionTrait, owner: &str, ttl: Duration) -> AppResult<u64> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        // Rows the journal holds (runs ending right now) are skipped rather than waited
        // for: locking many rows in another order than the journal could deadlock.
        let stmt = Statement::from_sql_and_values(
            backend,
            "UPDATE runs SET lease_expires_at = $1 WHERE id IN (SELECT id FROM runs \
             WHERE lease_owner = $2 AND status = 'running' FOR UPDATE SKIP LOCKED)",
            [(Utc::now() + ttl).into(), owner.into()],
        );
        return Ok(db.execute_raw(stmt).await?.rows_affected());
    }
    let res = Entity::update_many()
        .col_expr(Column::LeaseExpiresAt, Expr::value(Utc::now() + ttl))
        .filter(Column::LeaseOwner.eq(owner))
        .filter(Column::Status.eq("running"))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Ends runs whose lease expired: their instance stopped without finishing them.
pub async fn reap(db: &DatabaseConnection, bus: &Bus) -> AppResult<usize> {
    let now = crate::clock::now();
    let expired = Entity::find()
        .filter(Column::Status.eq("running"))
        .filter(Column::LeaseExpiresAt.lt(now))
        .all(db)
        .await?;
    let mut reaped = 0;
    for run in expired {
        let error = json!({
            "code": crate::error::Code::WorkerLost,
            "message": "the instance executing this run stopped before it finished",
        });
        // The ending and its terminal event in one transaction: a run never shows
        // `failed` without the event that ends its stream. (Writes first, for SQLite.)
        let txn = db.begin().await?;
        let res = Entity::update_many()
            .col_expr(Column::Status, Expr::value("failed"))
            .col_expr(Column::Error, Expr::value(error.clone()))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::CompletedAt, Expr::value(now))
            .filter(Column::Id.eq(&run.id))
            .filter(Column::Status.eq("running"))
            .filter(Column::LeaseExpiresAt.lt(now))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            continue;
        }
        entity::run_steps::Entity::update_many()
            .col_expr(entity::run_steps::Column::Status, Expr::value("failed"))
            .col_expr(entity::run_steps::Column::CompletedAt, Expr::value(now))
            .filter(entity::run_steps::Column::RunId.eq(&run.id))
            .filter(entity::run_steps::Column::Status.eq("running"))
            .exec(&txn)
            .await?;
        let mut log = RunLog::open(&txn, &run.id, &run.org_id).await?;
        let event = log
            .store(&txn, EventKind::RunFailed, json!({ "error": error }))
            .await?;
        txn.commit().await?;
        bus.publish_event(event);
        bus.publish_run(Model {
            status: entity::runs::RunStatus::Failed,
            error: Some(error),
            lease_owner: None,
            completed_at: Some(now),
            ..run
        });
        reaped += 1;
    }
    Ok(reaped)
}

/// The sequence number of the last stored event of a run just claimed.
pub async fn last_seq(db: &DatabaseConnection, run: &Model) -> AppResult<i64> {
    // On its first claim a run's log holds only `run.created` (seq 1): nothing else
    // appends to a queued run's log, except a cancel, which also ends the run.
    if run.attempts <= 1 {
        return Ok(1);
    }
    let last: Option<i64> = entity::run_events::Entity::find()
        .select_only()
        .column_as(entity::run_events::Column::Seq.max(), "last")
        .filter(entity::run_events::Column::RunId.eq(&run.id))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    Ok(last.unwrap_or(0))
}
