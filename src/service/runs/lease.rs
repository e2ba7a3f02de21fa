//! Work leases on runs. A worker claims the oldest queued run whose conversation has
//! nothing in progress, keeps its lease alive with heartbeats, and gives it up by
//! ending the run. A run whose lease expired (its instance died) is ended `failed`
//! with `worker_lost` by any instance's reaper, so no run stays `running` forever.

use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::log::RunLog;
use crate::events::RUN_FAILED;
use chrono::{Duration, Utc};
use entity::runs::{Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement, TransactionTrait,
};
use serde_json::json;

const CLAIM_SQLITE: &str = "UPDATE runs SET status = 'running', lease_owner = ?, lease_expires_at = ?, \
     attempts = attempts + 1, started_at = COALESCE(started_at, MAX(?, created_at)) \
     WHERE id = (SELECT r.id FROM runs r WHERE r.status = 'queued' AND NOT EXISTS \
       (SELECT 1 FROM runs b WHERE b.session_key = r.session_key AND b.status IN ('running', 'waiting_for_approval')) \
       ORDER BY r.created_at, r.id LIMIT 1) \
     RETURNING *";

const CLAIM_POSTGRES: &str = "UPDATE runs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
     attempts = attempts + 1, started_at = COALESCE(started_at, GREATEST($3, created_at)) \
     WHERE id = (SELECT r.id FROM runs r WHERE r.status = 'queued' AND NOT EXISTS \
       (SELECT 1 FROM runs b WHERE b.session_key = r.session_key AND b.status IN ('running', 'waiting_for_approval')) \
       ORDER BY r.created_at, r.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING *";

/// Claims the next runnable run for `owner`, if any.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    ttl: Duration,
) -> AppResult<Option<Model>> {
    // Taken when the claim may proceed (after any lock wait); the statement also never
    // stamps a start before the run's creation.
    let values = || {
        let now = crate::service::now();
        vec![owner.into(), (now + ttl).into(), now.into()]
    };
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        // The session check cannot see another claimer's uncommitted update, so claims
        // take turns (each is one short statement).
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7201145)")
            .await?;
        let stmt = Statement::from_sql_and_values(backend, CLAIM_POSTGRES, values());
        let run = Entity::find().from_raw_sql(stmt).one(&txn).await?;
        txn.commit().await?;
        Ok(run)
    } else {
        let stmt = Statement::from_sql_and_values(backend, CLAIM_SQLITE, values());
        Ok(Entity::find().from_raw_sql(stmt).one(db).await?)
    }
}

/// Extends every lease `owner` holds.
pub async fn heartbeat(db: &impl ConnectionTrait, owner: &str, ttl: Duration) -> AppResult<u64> {
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
    let now = crate::service::now();
    let expired = Entity::find()
        .filter(Column::Status.eq("running"))
        .filter(Column::LeaseExpiresAt.lt(now))
        .all(db)
        .await?;
    let mut reaped = 0;
    for run in expired {
        let error = json!({
            "code": "worker_lost",
            "message": "the instance executing this run stopped before it finished",
        });
        let res = Entity::update_many()
            .col_expr(Column::Status, Expr::value("failed"))
            .col_expr(Column::Error, Expr::value(error.clone()))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::CompletedAt, Expr::value(now))
            .filter(Column::Id.eq(&run.id))
            .filter(Column::Status.eq("running"))
            .filter(Column::LeaseExpiresAt.lt(now))
            .exec(db)
            .await?;
        if res.rows_affected == 1 {
            let mut log = RunLog::open(db, &run.id, &run.org_id).await?;
            log.append(db, bus, RUN_FAILED, json!({ "error": error }))
                .await?;
            if let Some(run) = Entity::find_by_id(run.id.clone()).one(db).await? {
                bus.publish_run(run);
            }
            reaped += 1;
        }
    }
    Ok(reaped)
}
