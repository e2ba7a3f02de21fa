//! Webhook deliveries as leased work (the second kind of [`super::lease`]): a delivery
//! worker claims due deliveries (`pending` with `next_attempt_at` passed), oldest due
//! first, as `sending` under its instance, and gives each up by recording its attempt
//! (the runtime's delivery loop, conditional on still holding the lease). A delivery
//! whose owner died goes back to `pending`, due at once: its attempt may or may not
//! have reached the receiver, and at-least-once means sending it again, with the same
//! `webhook-id`.
//!
//! One endpoint never has more than `per_endpoint_concurrency` deliveries `sending`,
//! across every instance: a claim takes, per endpoint, only the oldest due rows that
//! fit beside those already in flight (a window function numbers each endpoint's first
//! due rows), so one slow receiver cannot take every worker. On PostgreSQL claims take
//! turns on an advisory lock (the in-flight count cannot see another claim's
//! uncommitted rows) and lock the rows they take with `FOR UPDATE SKIP LOCKED`.

use super::lease::{self, LeaseKind, Statements};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::webhook_deliveries::Model;
use sea_orm::{ConnectionTrait, DatabaseTransaction};

// The deliveries to claim: for every endpoint, its oldest due ones up to the cap (an
// index seek each, so one endpoint's long backlog costs nothing here), numbered after
// the endpoint's deliveries already in flight and kept while within the cap; then the
// oldest due of those. Its arguments are the backend's placeholders for now, the cap
// and the limit. A macro so `concat!` builds each backend's statement at compile time.
macro_rules! claimable {
    ($now:literal, $cap:literal, $limit:literal) => {
        concat!(
            "SELECT c.id FROM (SELECT x.id, x.next_attempt_at, \
               ROW_NUMBER() OVER (PARTITION BY x.endpoint_id ORDER BY x.next_attempt_at, x.id) AS rn, \
               (SELECT COUNT(*) FROM webhook_deliveries s \
                 WHERE s.endpoint_id = e.id AND s.status = 'sending') AS busy \
             FROM webhook_endpoints e \
             JOIN webhook_deliveries x ON x.id IN (SELECT y.id FROM webhook_deliveries y \
               WHERE y.endpoint_id = e.id AND y.status = 'pending' AND y.next_attempt_at <= ",
            $now,
            " ORDER BY y.next_attempt_at, y.id LIMIT ",
            $cap,
            ")) c WHERE c.rn + c.busy <= ",
            $cap,
            " ORDER BY c.next_attempt_at, c.id LIMIT ",
            $limit
        )
    };
}

/// Claims take turns (see the module documentation).
const PG_CLAIM_LOCK: &str = "SELECT pg_advisory_xact_lock(7201146)";
/// Binds: owner, now, limit, per-endpoint cap.
const PG_CLAIM: &str = concat!(
    "UPDATE webhook_deliveries SET status = 'sending', lease_owner = $1 WHERE id IN (\
     SELECT x.id FROM webhook_deliveries x WHERE x.status = 'pending' AND x.id IN (",
    claimable!("$2", "$4", "$3"),
    ") FOR UPDATE SKIP LOCKED) AND status = 'pending' RETURNING *"
);
const SQLITE_CLAIM: &str = concat!(
    "UPDATE webhook_deliveries SET status = 'sending', lease_owner = ?1 WHERE id IN (",
    claimable!("?2", "?4", "?3"),
    ") AND status = 'pending' RETURNING *"
);
/// Binds: cutoff.
const PG_ORPHANS: &str = "SELECT d.* FROM webhook_deliveries d WHERE d.status = 'sending' \
     AND d.lease_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i \
       WHERE i.id = d.lease_owner AND i.last_seen >= $1) \
     ORDER BY d.created_at, d.id";
const SQLITE_ORPHANS: &str = "SELECT d.* FROM webhook_deliveries d WHERE d.status = 'sending' \
     AND d.lease_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i \
       WHERE i.id = d.lease_owner AND i.last_seen >= ?1) \
     ORDER BY d.created_at, d.id";
/// Puts the orphan back to `pending`, due at `now`. Binds: id, owner, cutoff, now.
const PG_REQUEUE_ORPHAN: &str = "UPDATE webhook_deliveries SET status = 'pending', \
     lease_owner = NULL, next_attempt_at = $4 \
     WHERE id = $1 AND lease_owner = $2 AND status = 'sending' \
     AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = $2 AND i.last_seen >= $3)";
const SQLITE_REQUEUE_ORPHAN: &str = "UPDATE webhook_deliveries SET status = 'pending', \
     lease_owner = NULL, next_attempt_at = ?4 \
     WHERE id = ?1 AND lease_owner = ?2 AND status = 'sending' \
     AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = ?2 AND i.last_seen >= ?3)";

/// Webhook deliveries as a kind of leased work.
pub const DELIVERIES: LeaseKind = LeaseKind {
    name: "webhook deliveries",
    postgres: Statements {
        claim_lock: Some(PG_CLAIM_LOCK),
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

/// Claims up to `limit` due deliveries for `owner`, at most `per_endpoint` in flight per
/// endpoint (counting those already sending anywhere), oldest due first.
pub async fn claim(
    txn: &DatabaseTransaction,
    owner: &str,
    limit: usize,
    per_endpoint: usize,
) -> AppResult<Vec<Model>> {
    let cap = i64::try_from(per_endpoint).unwrap_or(i64::MAX);
    let mut rows: Vec<Model> =
        lease::claim_with(txn, &DELIVERIES, owner, limit, [cap.into()]).await?;
    rows.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
    Ok(rows)
}

/// Deliveries still `sending` whose owner has been dead since before `cutoff`.
pub async fn orphans(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<Vec<Model>> {
    lease::orphans(db, &DELIVERIES, cutoff).await
}

/// Puts orphan `delivery` back to `pending`, due at `now`, if its owner still holds it
/// and is still dead since before `cutoff`; false otherwise (nothing changed).
pub async fn requeue_orphan(
    db: &impl ConnectionTrait,
    delivery: &Model,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let Some(owner) = delivery.lease_owner.as_deref() else {
        return Ok(false);
    };
    lease::take_orphan(db, &DELIVERIES, &delivery.id, owner, cutoff, [now.into()]).await
}

/// Gives back deliveries `owner` still holds (`sending`): `pending` again, due at `now`,
/// their attempt count unchanged. For results that could not be recorded: the attempt
/// is made again (at least once), instead of staying leased while this instance lives.
/// How many it gave back.
pub async fn release(
    db: &impl ConnectionTrait,
    owner: &str,
    ids: &[&str],
    now: DateTime<Utc>,
) -> AppResult<u64> {
    use entity::webhook_deliveries::{Column, DeliveryStatus, Entity};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::NextAttemptAt, Expr::value(Some(now)))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::LeaseOwner.eq(owner))
        .filter(Column::Status.eq(DeliveryStatus::Sending))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
