//! Indexing jobs as leased work (a kind of [`super::lease`]): every knowledge document
//! is its own job. A worker claims due documents (`pending` with `next_attempt_at`
//! passed), oldest due first, as `indexing` under its instance, counting the attempt;
//! it gives each up by recording the outcome (indexed, failed, or pending again with a
//! later `next_attempt_at`), conditional on still holding the lease. A document whose
//! owner died goes back to `pending`, due at once: its chunks are written in one
//! transaction at the end, so nothing half-done is left to clean up.

use super::lease::{self, LeaseKind, Statements};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::knowledge_documents::Model;
use sea_orm::{ConnectionTrait, DatabaseTransaction};

/// Binds: owner, now, limit. The rows are picked in a CTE, evaluated once: as an `IN`
/// subquery PostgreSQL may run the `LIMIT ... SKIP LOCKED` pick more than once and
/// claim more rows than asked for.
const PG_CLAIM: &str = "WITH picked AS (SELECT id FROM knowledge_documents \
       WHERE status = 'pending' AND next_attempt_at <= $2 \
       ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     UPDATE knowledge_documents d SET status = 'indexing', lease_owner = $1, \
     attempts = d.attempts + 1, started_at = $2, updated_at = $2, progress_done = 0 \
     FROM picked WHERE d.id = picked.id RETURNING d.*";
const SQLITE_CLAIM: &str = "UPDATE knowledge_documents SET status = 'indexing', lease_owner = ?1, \
     attempts = attempts + 1, started_at = ?2, updated_at = ?2, progress_done = 0 \
     WHERE id IN (SELECT id FROM knowledge_documents WHERE status = 'pending' \
       AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT ?3) \
     AND status = 'pending' RETURNING *";
/// Binds: cutoff.
const PG_ORPHANS: &str = "SELECT d.* FROM knowledge_documents d WHERE d.status = 'indexing' \
     AND d.lease_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i \
       WHERE i.id = d.lease_owner AND i.last_seen >= $1) ORDER BY d.created_at, d.id";
const SQLITE_ORPHANS: &str = "SELECT d.* FROM knowledge_documents d WHERE d.status = 'indexing' \
     AND d.lease_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i \
       WHERE i.id = d.lease_owner AND i.last_seen >= ?1) ORDER BY d.created_at, d.id";
/// Back to `pending`, due at `now`. Binds: id, owner, cutoff, now.
const PG_REQUEUE_ORPHAN: &str = "UPDATE knowledge_documents SET status = 'pending', \
     lease_owner = NULL, next_attempt_at = $4, updated_at = $4 \
     WHERE id = $1 AND lease_owner = $2 AND status = 'indexing' \
     AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = $2 AND i.last_seen >= $3)";
const SQLITE_REQUEUE_ORPHAN: &str = "UPDATE knowledge_documents SET status = 'pending', \
     lease_owner = NULL, next_attempt_at = ?4, updated_at = ?4 \
     WHERE id = ?1 AND lease_owner = ?2 AND status = 'indexing' \
     AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = ?2 AND i.last_seen >= ?3)";

/// Indexing jobs as a kind of leased work.
pub const INDEXING: LeaseKind = LeaseKind {
    name: "indexing jobs",
    postgres: Statements {
        claim_lock: None,
        claim: PG_CLAIM,
        orphans: PG_ORPHANS,
        take_orphan: PG_REQUEUE_ORPHAN,
    },
    sqlite: Statements {
        claim_lock: None,
        claim: SQLITE_CLAIM,
        orphans: SQLITE_ORPHANS,
        take_orphan: SQLITE_REQUEUE_ORPHAN,
    },
};

/// Claims up to `limit` due documents for `owner`, oldest due first.
pub async fn claim(txn: &DatabaseTransaction, owner: &str, limit: usize) -> AppResult<Vec<Model>> {
    let mut rows: Vec<Model> = lease::claim(txn, &INDEXING, owner, limit).await?;
    rows.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
    Ok(rows)
}

/// Documents still `indexing` whose owner has been dead since before `cutoff`.
pub async fn orphans(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<Vec<Model>> {
    lease::orphans(db, &INDEXING, cutoff).await
}

/// Puts orphan `doc` back to `pending`, due at `now`, if its owner still holds it and is
/// still dead since before `cutoff`; false otherwise.
pub async fn requeue_orphan(
    db: &impl ConnectionTrait,
    doc: &Model,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let Some(owner) = doc.lease_owner.as_deref() else {
        return Ok(false);
    };
    lease::take_orphan(db, &INDEXING, &doc.id, owner, cutoff, [now.into()]).await
}
