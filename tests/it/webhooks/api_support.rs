//! What the webhook API tests share: a server whose delivery workers stay off (so a
//! delivery stays exactly as the API left it), endpoint creation, and direct reads of
//! the delivery rows.

use crate::common::{Api, TestServer};
use entity::webhook_deliveries::{self, DeliveryStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

/// A server with the delivery workers off: what the API writes is what the tests read.
pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// [`server`] after adjusting the configuration.
pub async fn server_with(adjust: impl FnOnce(&mut orchstack::config::Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.webhooks.enabled = false;
        adjust(c);
    })
    .await
}

/// A URL the test configuration accepts (127.0.0.1 is allow-listed, so `http` too).
pub fn hook_url(s: &TestServer, path: &str) -> String {
    format!("{}/{path}", s.base)
}

/// Creates an endpoint over REST subscribed to everything; returns the whole answer.
pub async fn create(api: &Api, url: &str) -> Value {
    api.post("/v1/webhooks", json!({ "url": url, "events": ["*"] }), 201)
        .await
}

/// The id of a JSON object.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// Every delivery row of an endpoint, read from the database.
pub async fn rows(s: &TestServer, endpoint: &str) -> Vec<webhook_deliveries::Model> {
    webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint))
        .all(&s.state.db)
        .await
        .expect("delivery rows")
}

/// Puts a delivery in `status` directly, as the delivery engine would (it has no API).
pub async fn force_status(s: &TestServer, delivery: &str, status: DeliveryStatus) {
    use sea_orm::sea_query::Expr;
    let done = matches!(status, DeliveryStatus::Failed | DeliveryStatus::Succeeded);
    let now = chrono::Utc::now();
    webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::Status, Expr::value(status))
        .col_expr(
            webhook_deliveries::Column::NextAttemptAt,
            Expr::value(if status == DeliveryStatus::Pending {
                Some(now)
            } else {
                None
            }),
        )
        .col_expr(
            webhook_deliveries::Column::CompletedAt,
            Expr::value(done.then_some(now)),
        )
        .filter(webhook_deliveries::Column::Id.eq(delivery))
        .exec(&s.state.db)
        .await
        .expect("status forced");
}
