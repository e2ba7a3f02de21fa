//! Recording what attempts came to, many at once: one transaction writes a batch of
//! results (the attempt rows, each delivery's new state, its endpoint's health), the way
//! the journal group-commits run events. On SQLite one commit per delivery would cap the
//! rate at what the disk syncs per second.
//!
//! A delivery's new state is written only while this instance still holds its lease
//! (`lease_owner` and `sending`): one a reaper took over (this instance was taken for
//! dead) is another's now, and its attempt is only logged.

use super::attempt::Outcome;
use super::schedule::{self, Next};
use crate::config::WebhooksConfig;
use crate::error::AppResult;
use crate::ids;
use chrono::{DateTime, Utc};
use entity::webhook_deliveries::{self, DeliveryStatus};
use entity::{webhook_attempts, webhook_endpoints};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet};

/// Attempt rows per multi-row insert.
const ROWS_PER_INSERT: usize = 200;

/// Why a claimed delivery was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// Its endpoint is disabled (or gone): kept `held` for a replay.
    Disabled,
    /// Its endpoint or event could not be read just now: due again a second later,
    /// without counting an attempt.
    Unavailable,
}

/// How long a delivery whose endpoint or event could not be read waits.
const UNAVAILABLE_WAIT: chrono::Duration = chrono::Duration::seconds(1);

/// One claimed delivery, done with for now.
#[derive(Debug, Clone)]
pub struct Done {
    /// The delivery.
    pub delivery_id: String,
    /// Its endpoint.
    pub endpoint_id: String,
    /// Its organisation.
    pub org_id: String,
    /// Attempts made before this one.
    pub attempts_before: i32,
    /// What the attempt came to, or why there was none.
    pub outcome: Result<Outcome, Unsent>,
    /// The state it goes to (see [`decide`]; decided once: retry times are jittered).
    pub state: State,
}

/// The state a delivery goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A 2xx answer.
    Succeeded,
    /// Failed; tried again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed, and the schedule is spent.
    Failed,
    /// Kept until its endpoint is enabled again.
    Held,
}

/// A delivery's next state under `config`, after `attempts_before` earlier attempts and
/// this `outcome` (a 410 holds it: its endpoint is disabled at once, and re-enabling it
/// replays what it holds).
pub fn decide(
    config: &WebhooksConfig,
    attempts_before: i32,
    outcome: &Result<Outcome, Unsent>,
) -> State {
    let o = match outcome {
        Err(Unsent::Disabled) => return State::Held,
        Err(Unsent::Unavailable) => return State::RetryAt(crate::clock::now() + UNAVAILABLE_WAIT),
        Ok(o) => o,
    };
    if o.succeeded() {
        return State::Succeeded;
    }
    if o.gone() {
        return State::Held;
    }
    let attempt = u32::try_from(attempts_before).unwrap_or(0) + 1;
    let at = o.at + chrono::Duration::milliseconds(o.duration_ms);
    match schedule::after_failure(config, attempt, at, o.retry_after) {
        Next::RetryAt(t) => State::RetryAt(t),
        Next::GiveUp => State::Failed,
    }
}

/// What a batch changed besides the deliveries.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Results whose lease this instance no longer held (only their attempt was logged).
    pub lost: usize,
    /// Endpoints disabled by this batch (410, or failing for too long).
    pub disabled: usize,
}

/// Writes `done` in one transaction for lease owner `owner`.
pub async fn record(
    db: &DatabaseConnection,
    owner: &str,
    config: &WebhooksConfig,
    done: &[Done],
) -> AppResult<Recorded> {
    let now = crate::clock::now();
    let txn = db.begin().await?;
    let mut rec = Recorded::default();
    // Successes (most results) in one statement per attempt count; the rest one by one.
    let mut succeeded: BTreeMap<i32, Vec<&Done>> = BTreeMap::new();
    for d in done {
        if d.state == State::Succeeded && d.outcome.is_ok() {
            succeeded.entry(d.attempts_before).or_default().push(d);
        } else if !update_delivery(&txn, owner, d, d.state, now).await? {
            rec.lost += 1;
        }
    }
    for (before, group) in succeeded {
        for chunk in group.chunks(ROWS_PER_INSERT) {
            let updated = update_succeeded(&txn, owner, before, chunk, now).await?;
            rec.lost += chunk.len().saturating_sub(updated);
        }
    }
    // The attempts, after the writes above (SQLite) and only of deliveries that still
    // exist: an endpoint deleted while its deliveries were in flight took them with it,
    // and their attempts must not fail the batch of everyone else's results. On
    // PostgreSQL the rows are locked until the commit, so a delete cannot come between.
    let existing = existing(&txn, done).await?;
    let attempts: Vec<webhook_attempts::ActiveModel> = done
        .iter()
        .filter(|d| existing.contains(d.delivery_id.as_str()))
        .filter_map(|d| d.outcome.as_ref().ok().map(|o| attempt_row(d, o)))
        .collect();
    for chunk in attempts.chunks(ROWS_PER_INSERT) {
        webhook_attempts::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    // Endpoint health from each endpoint's latest attempt in the batch.
    let mut latest: BTreeMap<&str, &Outcome> = BTreeMap::new();
    let mut gone = BTreeSet::new();
    for d in done {
        if let Ok(o) = &d.outcome {
            if o.gone() {
                gone.insert(d.endpoint_id.as_str());
            }
            let e = latest.entry(d.endpoint_id.as_str()).or_insert(o);
            if o.at >= e.at {
                *e = o;
            }
        }
    }
    let (ok, failing): (Vec<_>, Vec<_>) = latest.into_iter().partition(|(_, o)| o.succeeded());
    let ok: Vec<&str> = ok.into_iter().map(|(id, _)| id).collect();
    let failing: Vec<&str> = failing.into_iter().map(|(id, _)| id).collect();
    if !ok.is_empty() {
        webhook_endpoints::Entity::update_many()
            .col_expr(
                webhook_endpoints::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_endpoints::Column::Id.is_in(ok))
            .filter(webhook_endpoints::Column::FailingSince.is_not_null())
            .exec(&txn)
            .await?;
    }
    if !failing.is_empty() {
        webhook_endpoints::Entity::update_many()
            .col_expr(webhook_endpoints::Column::FailingSince, Expr::value(now))
            .filter(webhook_endpoints::Column::Id.is_in(failing.iter().copied()))
            .filter(webhook_endpoints::Column::FailingSince.is_null())
            .exec(&txn)
            .await?;
        let cutoff =
            now - chrono::Duration::from_std(config.disable_after).unwrap_or(chrono::Duration::MAX);
        rec.disabled += disable(&txn, &failing, "failing", Some(cutoff), now).await?;
    }
    if !gone.is_empty() {
        let gone: Vec<&str> = gone.into_iter().collect();
        rec.disabled += disable(&txn, &gone, "gone", None, now).await?;
    }
    // A disabled endpoint's pending deliveries (this batch's retries, and any another
    // instance put back meanwhile) are held until it is enabled again.
    if !failing.is_empty() || rec.disabled > 0 {
        let disabled = Query::select()
            .column(webhook_endpoints::Column::Id)
            .from(webhook_endpoints::Entity)
            .and_where(webhook_endpoints::Column::Enabled.eq(false))
            .to_owned();
        let touched: BTreeSet<&str> = done.iter().map(|d| d.endpoint_id.as_str()).collect();
        webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::Status,
                Expr::value(DeliveryStatus::Held),
            )
            .col_expr(
                webhook_deliveries::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_deliveries::Column::EndpointId.is_in(touched))
            .filter(webhook_deliveries::Column::EndpointId.in_subquery(disabled))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rec)
}

/// Disables the enabled endpoints among `ids` for `reason` (only those failing since
/// before `failing_before`, when given); how many it disabled.
async fn disable(
    txn: &sea_orm::DatabaseTransaction,
    ids: &[&str],
    reason: &str,
    failing_before: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut q = webhook_endpoints::Entity::update_many()
        .col_expr(webhook_endpoints::Column::Enabled, Expr::value(false))
        .col_expr(
            webhook_endpoints::Column::DisabledReason,
            Expr::value(reason),
        )
        .col_expr(webhook_endpoints::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoints::Column::Id.is_in(ids.iter().copied()))
        .filter(webhook_endpoints::Column::Enabled.eq(true));
    if let Some(cutoff) = failing_before {
        q = q.filter(webhook_endpoints::Column::FailingSince.lte(cutoff));
    }
    let n = q.exec(txn).await?.rows_affected;
    if n > 0 {
        tracing::warn!(endpoints = n, reason, "disabled webhook endpoints");
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The ids of `done`'s deliveries that still exist, locked on PostgreSQL.
async fn existing(
    txn: &sea_orm::DatabaseTransaction,
    done: &[Done],
) -> AppResult<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    for chunk in done.chunks(ROWS_PER_INSERT) {
        let mut q = webhook_deliveries::Entity::find()
            .select_only()
            .column(webhook_deliveries::Column::Id)
            .filter(
                webhook_deliveries::Column::Id.is_in(chunk.iter().map(|d| d.delivery_id.as_str())),
            );
        if txn.get_database_backend() == DbBackend::Postgres {
            q = q.lock_shared();
        }
        let ids: Vec<String> = q.into_tuple().all(txn).await?;
        found.extend(ids);
    }
    Ok(found)
}

fn attempt_row(d: &Done, o: &Outcome) -> webhook_attempts::ActiveModel {
    webhook_attempts::ActiveModel {
        id: Set(ids::new_id(ids::WEBHOOK_ATTEMPT)),
        delivery_id: Set(d.delivery_id.clone()),
        org_id: Set(d.org_id.clone()),
        attempted_at: Set(o.at),
        status_code: Set(o.status.map(i32::from)),
        duration_ms: Set(o.duration_ms),
        response: Set(o.response.clone()),
        error: Set(o.error.clone()),
    }
}

/// Marks `group` (deliveries that had `before` attempts, each answered 2xx now)
/// succeeded where `owner` still holds them; how many it updated. Their
/// `last_attempt_at` is the latest attempt of the group (they were sent within one
/// batch; each attempt row keeps its own time).
async fn update_succeeded(
    txn: &sea_orm::DatabaseTransaction,
    owner: &str,
    before: i32,
    group: &[&Done],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    use webhook_deliveries::Column as C;
    let last = group
        .iter()
        .filter_map(|d| d.outcome.as_ref().ok().map(|o| o.at))
        .max()
        .unwrap_or(now);
    let res = webhook_deliveries::Entity::update_many()
        .col_expr(C::Status, Expr::value(DeliveryStatus::Succeeded))
        .col_expr(C::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(C::Attempts, Expr::value(before.saturating_add(1)))
        .col_expr(C::LastAttemptAt, Expr::value(Some(last)))
        .col_expr(C::CompletedAt, Expr::value(Some(now)))
        .filter(C::Id.is_in(group.iter().map(|d| d.delivery_id.as_str())))
        .filter(C::LeaseOwner.eq(owner))
        .filter(C::Status.eq(DeliveryStatus::Sending))
        .exec(txn)
        .await?;
    Ok(usize::try_from(res.rows_affected).unwrap_or(usize::MAX))
}

/// Moves one delivery to `state` if `owner` still holds it; false if it did not.
async fn update_delivery(
    txn: &sea_orm::DatabaseTransaction,
    owner: &str,
    d: &Done,
    state: State,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    use webhook_deliveries::Column as C;
    let none: Option<DateTime<Utc>> = None;
    let (status, next, completed) = match state {
        State::Succeeded => (DeliveryStatus::Succeeded, none, Some(now)),
        State::RetryAt(t) => (DeliveryStatus::Pending, Some(t), none),
        State::Failed => (DeliveryStatus::Failed, none, Some(now)),
        State::Held => (DeliveryStatus::Held, none, none),
    };
    let mut q = webhook_deliveries::Entity::update_many()
        .col_expr(C::Status, Expr::value(status))
        .col_expr(C::NextAttemptAt, Expr::value(next))
        .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None));
    if let Ok(o) = &d.outcome {
        q = q
            .col_expr(
                C::Attempts,
                Expr::value(d.attempts_before.saturating_add(1)),
            )
            .col_expr(C::LastAttemptAt, Expr::value(Some(o.at)));
    }
    if completed.is_some() {
        q = q.col_expr(C::CompletedAt, Expr::value(completed));
    }
    let res = q
        .filter(C::Id.eq(&d.delivery_id))
        .filter(C::LeaseOwner.eq(owner))
        .filter(C::Status.eq(DeliveryStatus::Sending))
        .exec(txn)
        .await?;
    Ok(res.rows_affected > 0)
}
