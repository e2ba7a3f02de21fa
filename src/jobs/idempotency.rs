//! Pruning idempotency keys past their time (`idempotency.ttl`). The keys themselves
//! are `service::idempotency`'s; expired ones are also ignored when claimed, so the
//! sweep only keeps the table small.

use crate::error::AppResult;
use entity::idempotency_keys::{Column, Entity};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};

/// Rows deleted per sweep, at most (the next sweep takes the rest).
pub const PRUNE_BATCH: u64 = 1_000;

/// Deletes keys past their time, oldest first, at most `limit`; returns how many. On
/// PostgreSQL one instance at a time prunes (a transaction-scoped advisory lock that the
/// others skip rather than wait for); SQLite has one writer anyway.
pub async fn prune(db: &sea_orm::DatabaseConnection, limit: u64) -> AppResult<u64> {
    use sea_orm::{QueryOrder, QuerySelect, TransactionTrait};
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        let row = txn
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock(7310001) AS held",
            ))
            .await?;
        let held: bool = match row {
            Some(row) => row.try_get("", "held")?,
            None => false,
        };
        if !held {
            txn.rollback().await?;
            return Ok(0);
        }
    }
    let ids: Vec<String> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ExpiresAt.lte(crate::clock::now()))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .into_tuple()
        .all(&txn)
        .await?;
    let deleted = match ids.is_empty() {
        true => 0,
        false => {
            Entity::delete_many()
                .filter(Column::Id.is_in(ids))
                .exec(&txn)
                .await?
                .rows_affected
        }
    };
    txn.commit().await?;
    Ok(deleted)
}
