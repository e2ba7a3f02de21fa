//! Runs as leased work (the first kind of [`super::lease`]): a worker claims the oldest
//! queued run whose conversation has nothing in progress, and gives it up by ending it
//! (the journal's ending checks `lease_owner`). A run whose owner died is ended `failed`
//! with `worker_lost` by any instance's reaper, so no run stays `running` forever.

use super::lease::{self, LeaseKind, Statements};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::runs::Model;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};

// The runs to claim: queued, the oldest queued of their conversation, and their
// conversation has nothing in progress (so a conversation's runs execute in order, one at
// a time, even when several are claimed at once). A macro, not a const, so `concat!`
// builds each backend's claim from it at compile time.
macro_rules! runnable {
    () => {
        "SELECT r.id FROM runs r WHERE r.status = 'queued' \
         AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.session_key = r.session_key \
           AND b.status IN ('running', 'waiting_for_approval')) \
         AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.session_key = r.session_key \
           AND o.status = 'queued' AND (o.created_at < r.created_at OR (o.created_at = r.created_at AND o.id < r.id))) \
         ORDER BY r.created_at, r.id"
    };
}

/// The claim lock: the conversation checks cannot see another claimer's uncommitted
/// update, so claims take turns (the lock is held until the transaction ends).
const PG_CLAIM_LOCK: &str = "SELECT pg_advisory_xact_lock(7201145)";
/// Binds: owner, now (the start, never before the run's creation), limit.
const PG_CLAIM: &str = concat!(
    "UPDATE runs SET status = 'running', lease_owner = $1, attempts = attempts + 1, \
     started_at = COALESCE(started_at, GREATEST($2, created_at)) WHERE id IN (",
    runnable!(),
    " LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *"
);
const SQLITE_CLAIM: &str = concat!(
    "UPDATE runs SET status = 'running', lease_owner = ?1, attempts = attempts + 1, \
     started_at = COALESCE(started_at, MAX(?2, created_at)) WHERE id IN (",
    runnable!(),
    " LIMIT ?3) RETURNING *"
);
/// Binds: cutoff.
const PG_ORPHANS: &str = "SELECT r.* FROM runs r WHERE r.status = 'running' \
     AND r.lease_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i \
       WHERE i.id = r.lease_owner AND i.last_seen >= $1) \
     ORDER BY r.created_at, r.id";
const SQLITE_ORPHANS: &str = "SELECT r.* FROM runs r WHERE r.status = 'running' \
     AND r.lease_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i \
       WHERE i.id = r.lease_owner AND i.last_seen >= ?1) \
     ORDER BY r.created_at, r.id";
/// Ends the orphan `failed`. Binds: id, owner, cutoff, error, now.
const PG_FAIL_ORPHAN: &str = "UPDATE runs SET status = 'failed', error = $4, \
     lease_owner = NULL, completed_at = $5 \
     WHERE id = $1 AND lease_owner = $2 AND status = 'running' \
     AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = $2 AND i.last_seen >= $3)";
const SQLITE_FAIL_ORPHAN: &str = "UPDATE runs SET status = 'failed', error = ?4, \
     lease_owner = NULL, completed_at = ?5 \
     WHERE id = ?1 AND lease_owner = ?2 AND status = 'running' \
     AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = ?2 AND i.last_seen >= ?3)";

/// Runs as a kind of leased work.
pub const RUNS: LeaseKind = LeaseKind {
    name: "runs",
    postgres: Statements {
        claim_lock: Some(PG_CLAIM_LOCK),
        claim: PG_CLAIM,
        orphans: PG_ORPHANS,
        take_orphan: PG_FAIL_ORPHAN,
    },
    sqlite: Statements {
        claim_lock: None,
        claim: SQLITE_CLAIM,
        orphans: SQLITE_ORPHANS,
        take_orphan: SQLITE_FAIL_ORPHAN,
    },
};

/// Claims up to `limit` runnable runs for `owner`, oldest first, inside `txn` (the
/// journal's batch transaction: on SQLite it is then the only writer).
pub async fn claim(txn: &DatabaseTransaction, owner: &str, limit: usize) -> AppResult<Vec<Model>> {
    let mut runs: Vec<Model> = lease::claim(txn, &RUNS, owner, limit).await?;
    runs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(runs)
}

/// Runs still `running` whose owner has been dead since before `cutoff`, oldest first.
pub async fn orphans(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<Vec<Model>> {
    lease::orphans(db, &RUNS, cutoff).await
}

/// Ends orphan `run` `failed` with `error` at `now`, if its owner still holds it and is
/// still dead since before `cutoff`; false otherwise (nothing changed).
pub async fn fail_orphan(
    db: &impl ConnectionTrait,
    run: &Model,
    cutoff: DateTime<Utc>,
    error: &serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let Some(owner) = run.lease_owner.as_deref() else {
        return Ok(false);
    };
    let values = [error.clone().into(), now.into()];
    lease::take_orphan(db, &RUNS, &run.id, owner, cutoff, values).await
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
