//! Webhook endpoints written straight into a test server's database, until the
//! endpoints API exists: the delivery tests need endpoints (and a rotated secret, a
//! disabled one) but exercise everything else through the real interfaces.

use base64::Engine;
use chrono::{DateTime, Utc};
use entity::{webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

/// A fresh `whsec_` secret (32 random bytes, like the API makes).
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Inserts an enabled endpoint of `org_id` at `url` subscribed to `events`; returns it.
pub async fn insert_endpoint(
    db: &impl ConnectionTrait,
    org_id: &str,
    url: &str,
    events: Value,
) -> webhook_endpoints::Model {
    let now = Utc::now();
    webhook_endpoints::ActiveModel {
        id: Set(orchstack::ids::new_id(orchstack::ids::WEBHOOK_ENDPOINT)),
        org_id: Set(org_id.to_owned()),
        url: Set(url.to_owned()),
        description: Set(None),
        events: Set(events),
        enabled: Set(true),
        disabled_reason: Set(None),
        secret: Set(new_secret()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert a webhook endpoint")
}

/// Rotates `endpoint`'s secret the way the API will: the old one signs beside the new
/// one until `until`. Returns the new secret.
pub async fn rotate(
    db: &impl ConnectionTrait,
    endpoint: &webhook_endpoints::Model,
    until: DateTime<Utc>,
) -> String {
    let secret = new_secret();
    let mut e: webhook_endpoints::ActiveModel = endpoint.clone().into();
    e.previous_secret = Set(Some(endpoint.secret.clone()));
    e.previous_secret_expires_at = Set(Some(until));
    e.secret = Set(secret.clone());
    e.update(db).await.expect("rotate the secret");
    secret
}

/// The endpoint as stored now.
pub async fn endpoint(db: &impl ConnectionTrait, id: &str) -> webhook_endpoints::Model {
    webhook_endpoints::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("read the endpoint")
        .expect("the endpoint")
}

/// An endpoint's deliveries, oldest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    endpoint_id: &str,
) -> Vec<webhook_deliveries::Model> {
    webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id))
        .order_by_asc(webhook_deliveries::Column::CreatedAt)
        .order_by_asc(webhook_deliveries::Column::Id)
        .all(db)
        .await
        .expect("read the deliveries")
}

/// A delivery's attempts, in order.
pub async fn attempts(
    db: &impl ConnectionTrait,
    delivery_id: &str,
) -> Vec<webhook_attempts::Model> {
    webhook_attempts::Entity::find()
        .filter(webhook_attempts::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(webhook_attempts::Column::AttemptedAt)
        .all(db)
        .await
        .expect("read the attempts")
}

/// Every event of an organisation, oldest first.
pub async fn events(db: &impl ConnectionTrait, org_id: &str) -> Vec<webhook_events::Model> {
    webhook_events::Entity::find()
        .filter(webhook_events::Column::OrgId.eq(org_id))
        .order_by_asc(webhook_events::Column::CreatedAt)
        .all(db)
        .await
        .expect("read the events")
}
