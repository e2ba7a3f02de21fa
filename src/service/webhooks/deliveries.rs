//! An endpoint's deliveries as its owner sees them (each with its event and attempts),
//! retrying one by hand, and test events.
//!
//! A retry makes the delivery due now, whatever it ended as: a failed one gets one more
//! attempt (past the schedule's end it is failed again if that attempt fails too), a
//! succeeded one is sent again under the same `webhook-id` (receivers deduplicate on
//! it), a pending one stops waiting for its backoff. A delivery being sent at that
//! moment, or one of a disabled endpoint, is a conflict: re-enabling the endpoint is
//! what sends its held deliveries again.

use super::super::pagination::{self, Page, PageArgs, Sort};
use super::super::Services;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::ids;
use crate::webhooks::{outbox, EventType};
use entity::webhook_deliveries::{Column, DeliveryStatus, Entity, Model};
use entity::{webhook_attempts, webhook_endpoints, webhook_events};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;
use std::collections::HashMap;

/// Attempts shown per delivery at most (the latest ones).
pub const MAX_ATTEMPTS_SHOWN: usize = 50;

/// A delivery with its event and its attempts (oldest first).
#[derive(Debug, Clone)]
pub struct DeliveryView {
    /// The delivery.
    pub delivery: Model,
    /// The event it delivers (its id is the `webhook-id`).
    pub event: webhook_events::Model,
    /// Its attempts, oldest first (the latest [`MAX_ATTEMPTS_SHOWN`]).
    pub attempts: Vec<webhook_attempts::Model>,
}

/// Filters on delivery lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Deliveries in any of these statuses (all when empty).
    pub status: Vec<DeliveryStatus>,
}

pagination::keyset_by_created_at!(Model, Entity, Column);

/// The deliveries of `endpoint` (found by the caller for this principal), newest first.
pub async fn list(
    s: &Services,
    p: &Principal,
    endpoint: &webhook_endpoints::Model,
    filter: &DeliveryFilter,
    args: &PageArgs,
) -> AppResult<Page<DeliveryView>> {
    p.require(Scope::WebhooksRead)?;
    if endpoint.org_id != p.org_id {
        return Err(AppError::NotFound(format!(
            "webhook endpoint {} not found",
            endpoint.id
        )));
    }
    let mut select = Entity::find()
        .filter(Column::EndpointId.eq(&endpoint.id))
        .filter(Column::OrgId.eq(&p.org_id));
    if !filter.status.is_empty() {
        select = select.filter(Column::Status.is_in(filter.status.iter().copied()));
    }
    let sort = [Sort {
        field: (),
        desc: true,
    }];
    let page = pagination::paginate(&s.db, select, &sort, args).await?;
    let (cursors, rows): (Vec<String>, Vec<Model>) = page.items.into_iter().unzip();
    let views = views(&s.db, rows).await?;
    Ok(Page {
        items: cursors.into_iter().zip(views).collect(),
        has_next: page.has_next,
        has_previous: page.has_previous,
    })
}

/// Deliveries with their events and attempts: two queries for any number of them.
async fn views(db: &impl ConnectionTrait, rows: Vec<Model>) -> AppResult<Vec<DeliveryView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids: Vec<&str> = rows.iter().map(|d| d.event_id.as_str()).collect();
    let events: HashMap<String, webhook_events::Model> = webhook_events::Entity::find()
        .filter(webhook_events::Column::Id.is_in(event_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let delivery_ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    let mut attempts: HashMap<String, Vec<webhook_attempts::Model>> = HashMap::new();
    for a in webhook_attempts::Entity::find()
        .filter(webhook_attempts::Column::DeliveryId.is_in(delivery_ids))
        .order_by_asc(webhook_attempts::Column::AttemptedAt)
        .order_by_asc(webhook_attempts::Column::Id)
        .all(db)
        .await?
    {
        attempts.entry(a.delivery_id.clone()).or_default().push(a);
    }
    rows.into_iter()
        .map(|delivery| {
            let event = events.get(&delivery.event_id).cloned().ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("delivery {} has no event", delivery.id))
            })?;
            let mut tried = attempts.remove(&delivery.id).unwrap_or_default();
            let extra = tried.len().saturating_sub(MAX_ATTEMPTS_SHOWN);
            tried.drain(..extra);
            Ok(DeliveryView {
                delivery,
                event,
                attempts: tried,
            })
        })
        .collect()
}

async fn view(db: &impl ConnectionTrait, delivery: Model) -> AppResult<DeliveryView> {
    views(db, vec![delivery])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a delivery view went missing")))
}

fn not_found(delivery_id: &str) -> AppError {
    AppError::NotFound(format!("webhook delivery {delivery_id} not found"))
}

/// Makes a delivery of the caller's endpoint due now (see the module's notes) and
/// wakes the delivery workers.
pub async fn retry(
    s: &Services,
    p: &Principal,
    endpoint_id: &str,
    delivery_id: &str,
) -> AppResult<DeliveryView> {
    p.require(Scope::WebhooksWrite)?;
    let now = crate::clock::now();
    let enabled_endpoint = Query::select()
        .column(webhook_endpoints::Column::Id)
        .from(webhook_endpoints::Entity)
        .and_where(webhook_endpoints::Column::Id.eq(endpoint_id))
        .and_where(webhook_endpoints::Column::OrgId.eq(&p.org_id))
        .and_where(webhook_endpoints::Column::Enabled.eq(true))
        .to_owned();
    let txn = s.db.begin().await?;
    // One conditional write decides it: not while a worker sends it, not while its
    // endpoint is disabled (checked in the same statement).
    let retried = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending))
        .col_expr(Column::NextAttemptAt, Expr::value(Some(now)))
        .col_expr(
            Column::CompletedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(Column::Id.eq(delivery_id))
        .filter(Column::EndpointId.eq(endpoint_id))
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::Status.ne(DeliveryStatus::Sending))
        .filter(Column::EndpointId.in_subquery(enabled_endpoint))
        .exec(&txn)
        .await?;
    if retried.rows_affected == 0 {
        txn.rollback().await?;
        let endpoint = super::find(&s.db, p, endpoint_id).await?;
        let delivery = Entity::find_by_id(delivery_id.to_owned())
            .filter(Column::EndpointId.eq(endpoint_id))
            .filter(Column::OrgId.eq(&p.org_id))
            .one(&s.db)
            .await?
            .ok_or_else(|| not_found(delivery_id))?;
        return Err(if !endpoint.enabled {
            AppError::Conflict(
                "the endpoint is disabled; re-enable it, which sends its held deliveries again"
                    .into(),
            )
        } else {
            AppError::Conflict(format!(
                "the delivery is {} right now; retry when it is done",
                delivery.status
            ))
        });
    }
    let delivery = Entity::find_by_id(delivery_id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| not_found(delivery_id))?;
    let shown = view(&txn, delivery).await?;
    txn.commit().await?;
    super::wake_deliveries(s);
    Ok(shown)
}

/// Records a `webhook.test` event with one delivery, to this endpoint only (whatever
/// it subscribes to), due now. A disabled endpoint is a conflict.
pub async fn send_test(s: &Services, p: &Principal, endpoint_id: &str) -> AppResult<DeliveryView> {
    p.require(Scope::WebhooksWrite)?;
    let endpoint = super::find(&s.db, p, endpoint_id).await?;
    if !endpoint.enabled {
        return Err(AppError::Conflict(
            "the endpoint is disabled; enable it to send it a test event".into(),
        ));
    }
    let now = crate::clock::now();
    let kind = EventType::Test;
    let data = json!({
        "webhook_id": endpoint.id,
        "message": "This is a test event from OrchStack.",
    });
    let event_id = ids::new_id(ids::WEBHOOK_EVENT);
    let txn = s.db.begin().await?;
    let event = webhook_events::ActiveModel {
        id: Set(event_id.clone()),
        org_id: Set(p.org_id.clone()),
        r#type: Set(kind.as_str().to_owned()),
        payload: Set(outbox::payload(kind, &data, now)),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let delivery = outbox::delivery(&event_id, &endpoint, now)
        .insert(&txn)
        .await?;
    txn.commit().await?;
    super::wake_deliveries(s);
    Ok(DeliveryView {
        delivery,
        event,
        attempts: Vec::new(),
    })
}
