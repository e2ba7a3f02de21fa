//! Leases: the part every kind of leased work shares (runs today; gates, webhook
//! deliveries, indexing jobs and workflow nodes next).
//!
//! A kind of leased work is a table whose rows an instance *claims* (it sets the row's
//! status to its running value and `lease_owner` to its instance id), works on, and ends
//! (clearing `lease_owner`). A lease has no expiry of its own: it lives as long as its
//! owner's row in `instances` is fresh (see [`super::instances`]), so one heartbeat per
//! instance keeps every lease it holds. A row still held by an instance whose row is
//! missing or was last seen before the cutoff is an *orphan*: any instance's reaper takes
//! it over and ends or requeues it.
//!
//! A kind writes its statements once per backend, as constant strings, in a
//! [`LeaseKind`]; the functions here pick the backend's statement and bind the values in
//! the fixed order each statement's documentation gives, so a kind's SQL names only its
//! own columns and rules. The modelled queries are apalis-postgres's
//! `queries/backend/keep_alive.sql` and `reenqueue_orphaned.sql`.

use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, FromQueryResult, Statement, Value};

/// The statements of one kind of leased work, per backend.
#[derive(Debug)]
pub struct LeaseKind {
    /// The kind's name, for logs (`"runs"`).
    pub name: &'static str,
    /// Its statements on PostgreSQL (`$1`, `$2`, ... placeholders).
    pub postgres: Statements,
    /// Its statements on SQLite (`?1`, `?2`, ... placeholders).
    pub sqlite: Statements,
}

/// The SQL of one kind on one backend. Each statement documents the values it binds,
/// in order.
#[derive(Debug)]
pub struct Statements {
    /// Run in the claim's transaction before the claim, without values: on PostgreSQL an
    /// advisory lock makes claims take turns when a kind's eligibility rule reads rows
    /// another claim may be changing (the runs' conversation order). `None`: nothing.
    pub claim_lock: Option<&'static str>,
    /// Claims up to `limit` rows for `owner`, oldest first, `RETURNING *`.
    /// Binds: owner, now, limit.
    pub claim: &'static str,
    /// The orphans: every row held (`lease_owner` set, running status) by an instance
    /// whose `instances` row is missing or has `last_seen` before the cutoff, whole rows.
    /// Binds: cutoff.
    pub orphans: &'static str,
    /// Takes one orphan over: changes the row only while `owner` still holds it and is
    /// still dead (so a row its owner ended meanwhile, or an owner that came back, is
    /// left alone). Binds: id, owner, cutoff, then the kind's own values.
    pub take_orphan: &'static str,
}

impl LeaseKind {
    fn on(&self, backend: DbBackend) -> &Statements {
        match backend {
            DbBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        }
    }
}

/// Claims up to `limit` rows of `kind` for `owner` inside `txn`, in the order the claim
/// statement returns them.
pub async fn claim<M: FromQueryResult>(
    txn: &DatabaseTransaction,
    kind: &LeaseKind,
    owner: &str,
    limit: usize,
) -> AppResult<Vec<M>> {
    let backend = txn.get_database_backend();
    let sql = kind.on(backend);
    if let Some(lock) = sql.claim_lock {
        txn.execute_unprepared(lock).await?;
    }
    // Taken once the claim may proceed (after any lock wait).
    let now = crate::clock::now();
    let values: [Value; 3] = [owner.into(), now.into(), (limit as i64).into()];
    let stmt = Statement::from_sql_and_values(backend, sql.claim, values);
    Ok(M::find_by_statement(stmt).all(txn).await?)
}

/// [`claim`] for a kind whose claim statement binds more than owner, now and limit:
/// `extra` is bound after those three (a per-endpoint cap, say).
pub async fn claim_with<M: FromQueryResult>(
    txn: &DatabaseTransaction,
    kind: &LeaseKind,
    owner: &str,
    limit: usize,
    extra: impl IntoIterator<Item = Value>,
) -> AppResult<Vec<M>> {
    let backend = txn.get_database_backend();
    let sql = kind.on(backend);
    if let Some(lock) = sql.claim_lock {
        txn.execute_unprepared(lock).await?;
    }
    let now = crate::clock::now();
    let mut values: Vec<Value> = vec![owner.into(), now.into(), (limit as i64).into()];
    values.extend(extra);
    let stmt = Statement::from_sql_and_values(backend, sql.claim, values);
    Ok(M::find_by_statement(stmt).all(txn).await?)
}

/// The rows of `kind` whose owner's instance row is missing or last seen before `cutoff`.
pub async fn orphans<M: FromQueryResult>(
    db: &impl ConnectionTrait,
    kind: &LeaseKind,
    cutoff: DateTime<Utc>,
) -> AppResult<Vec<M>> {
    let backend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, kind.on(backend).orphans, [cutoff.into()]);
    Ok(M::find_by_statement(stmt).all(db).await?)
}

/// Takes orphan `id` of `kind` from `owner` (dead since before `cutoff`), with the kind's
/// own `values` bound after the common ones. False: the row was no longer `owner`'s
/// orphan (ended, taken by another reaper, or its owner came back).
pub async fn take_orphan(
    db: &impl ConnectionTrait,
    kind: &LeaseKind,
    id: &str,
    owner: &str,
    cutoff: DateTime<Utc>,
    values: impl IntoIterator<Item = Value>,
) -> AppResult<bool> {
    let backend = db.get_database_backend();
    let mut all: Vec<Value> = vec![id.into(), owner.into(), cutoff.into()];
    all.extend(values);
    let stmt = Statement::from_sql_and_values(backend, kind.on(backend).take_orphan, all);
    Ok(db.execute_raw(stmt).await?.rows_affected() > 0)
}
