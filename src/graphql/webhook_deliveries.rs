//! Webhook deliveries in GraphQL: a delivery with its event and attempts.

use super::scalars::DateTime;
use crate::service::webhooks::deliveries::DeliveryView;
use async_graphql::{Enum, InputObject, Json, Object, ID};
use entity::{webhook_attempts, webhook_events};
use serde_json::Value;

/// Where a delivery is (REST spells these in lower case).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::webhook_deliveries::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Due at `nextAttemptAt`.
    Pending,
    /// Being sent right now.
    Sending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every attempt of the retry schedule failed.
    Failed,
    /// Kept while its endpoint is disabled; sent when it is re-enabled.
    Held,
}

/// Filters on delivery lists.
#[derive(InputObject, Default)]
pub struct WebhookDeliveryFilter {
    /// Deliveries in any of these statuses.
    pub status: Option<Vec<WebhookDeliveryStatus>>,
}

/// One event to one endpoint: its status in the retry schedule, the event, the attempts.
pub struct WebhookDelivery(pub DeliveryView);

#[Object]
impl WebhookDelivery {
    /// `dlv_...`
    pub async fn id(&self) -> ID {
        ID(self.0.delivery.id.clone())
    }
    /// The endpoint it goes to.
    async fn endpoint_id(&self) -> ID {
        ID(self.0.delivery.endpoint_id.clone())
    }
    /// The event's id: the `webhook-id` header of every attempt.
    async fn event_id(&self) -> ID {
        ID(self.0.delivery.event_id.clone())
    }
    /// Where it is.
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.delivery.status.into()
    }
    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.0.delivery.attempts
    }
    /// When the next attempt is due (pending deliveries).
    async fn next_attempt_at(&self) -> Option<DateTime> {
        self.0.delivery.next_attempt_at.map(Into::into)
    }
    /// When it was last attempted.
    async fn last_attempt_at(&self) -> Option<DateTime> {
        self.0.delivery.last_attempt_at.map(Into::into)
    }
    /// When it succeeded or finally failed.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.delivery.completed_at.map(Into::into)
    }
    /// When it was made (with its event).
    async fn created_at(&self) -> DateTime {
        self.0.delivery.created_at.into()
    }
    /// The event delivered.
    async fn event(&self) -> WebhookEvent {
        WebhookEvent(self.0.event.clone())
    }
    /// Its attempts, oldest first (the latest 50).
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.0
            .attempts
            .iter()
            .cloned()
            .map(WebhookAttempt)
            .collect()
    }
}

/// An event that left (or leaves) the server.
pub struct WebhookEvent(pub webhook_events::Model);

#[Object]
impl WebhookEvent {
    /// `msg_...`: the `webhook-id` of each of its deliveries, identical on every retry.
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// `agent.run.completed`, `webhook.test`, ...
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.r#type
    }
    /// The body sent: `{"type", "timestamp", "data"}`.
    async fn payload(&self) -> Json<Value> {
        Json(self.0.payload.clone())
    }
    /// When it happened.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// One try of a delivery.
pub struct WebhookAttempt(pub webhook_attempts::Model);

#[Object]
impl WebhookAttempt {
    /// `att_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When it was made.
    async fn attempted_at(&self) -> DateTime {
        self.0.attempted_at.into()
    }
    /// The HTTP status the endpoint answered (none when it did not answer).
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    /// How long it took.
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    /// The first 1 KiB of the answer's body.
    async fn response(&self) -> Option<&str> {
        self.0.response.as_deref()
    }
    /// Why it failed without an answer (refused, timed out, unreachable).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}
