//! The outbox: an event that leaves the server is a `webhook_events` row plus one
//! `webhook_deliveries` row per endpoint subscribed to its type, written inside the
//! transaction of the state change it reports (the journal batch that ends a run, the
//! transaction that opens or resolves a gate). A crash after that commit still delivers
//! it; a rolled-back change never does.

use super::EventType;
use crate::error::AppResult;
use crate::ids;
use entity::webhook_deliveries::{self, DeliveryStatus};
use entity::{webhook_endpoints, webhook_events};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Rows per multi-row insert (well under both backends' bound-value limits).
const ROWS_PER_INSERT: usize = 200;

/// One event to record.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The organisation whose endpoints receive it.
    pub org_id: String,
    /// Its type.
    pub kind: EventType,
    /// The `data` of the payload (the run, the gate, ...).
    pub data: Value,
}

/// Whether an endpoint's `events` list takes `kind`.
pub fn subscribes(events: &Value, kind: EventType) -> bool {
    events
        .as_array()
        .is_some_and(|a| a.iter().any(|e| e == "*" || e == kind.as_str()))
}

/// Records `events` in `txn`: for each, the event row and a delivery to every endpoint of
/// its organisation subscribed to its type (due now; `held` while the endpoint is
/// disabled). An event no endpoint takes writes nothing. Returns how many deliveries
/// are due now (the caller wakes the delivery workers after its commit when > 0; held
/// ones wait for their endpoint to be enabled, so they wake nobody).
pub async fn record(txn: &impl ConnectionTrait, events: &[Outgoing]) -> AppResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let orgs: BTreeSet<&str> = events.iter().map(|e| e.org_id.as_str()).collect();
    let endpoints = webhook_endpoints::Entity::find()
        .filter(webhook_endpoints::Column::OrgId.is_in(orgs))
        .all(txn)
        .await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let now = crate::clock::now();
    let mut event_rows = Vec::new();
    let mut delivery_rows = Vec::new();
    for e in events {
        let targets: Vec<&webhook_endpoints::Model> = endpoints
            .iter()
            .filter(|w| w.org_id == e.org_id && subscribes(&w.events, e.kind))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let id = ids::new_id(ids::WEBHOOK_EVENT);
        for w in targets {
            delivery_rows.push(delivery(&id, w, now));
        }
        event_rows.push(webhook_events::ActiveModel {
            id: Set(id),
            org_id: Set(e.org_id.clone()),
            r#type: Set(e.kind.as_str().to_owned()),
            payload: Set(payload(e.kind, &e.data, now)),
            created_at: Set(now),
        });
    }
    let due = delivery_rows
        .iter()
        .filter(|d| d.status.as_ref() == &DeliveryStatus::Pending)
        .count();
    for chunk in event_rows.chunks(ROWS_PER_INSERT) {
        webhook_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    for chunk in delivery_rows.chunks(ROWS_PER_INSERT) {
        webhook_deliveries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(due)
}

/// A new delivery of event `event_id` to `endpoint`, due at once (held while disabled).
pub fn delivery(
    event_id: &str,
    endpoint: &webhook_endpoints::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> webhook_deliveries::ActiveModel {
    let (status, due) = if endpoint.enabled {
        (DeliveryStatus::Pending, Some(now))
    } else {
        (DeliveryStatus::Held, None)
    };
    webhook_deliveries::ActiveModel {
        id: Set(ids::new_id(ids::WEBHOOK_DELIVERY)),
        event_id: Set(event_id.to_owned()),
        endpoint_id: Set(endpoint.id.clone()),
        org_id: Set(endpoint.org_id.clone()),
        status: Set(status),
        attempts: Set(0),
        next_attempt_at: Set(due),
        lease_owner: Set(None),
        created_at: Set(now),
        last_attempt_at: Set(None),
        completed_at: Set(None),
    }
}

/// The body every delivery of an event sends: `{"type", "timestamp", "data"}`.
pub fn payload(kind: EventType, data: &Value, at: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "type": kind.as_str(),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
}
