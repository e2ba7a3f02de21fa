//! Gate events leave through the webhook outbox, written in the transaction of the change
//! they report: `agent.gate.pending` with the pause, `agent.gate.resolved` with the
//! resolution, `agent.run.cancelled` with the cancel of a waiting run. Their `data` is
//! the object the REST API shows.

use super::support::*;
use crate::common::run_support::*;
use entity::{webhook_deliveries, webhook_endpoints, webhook_events};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{json, Value};

/// Subscribes a (disabled, so nothing is sent) endpoint of the organisation to everything.
async fn endpoint(g: &Gated) -> String {
    let now = chrono::Utc::now();
    let id = orchstack::ids::new_id(orchstack::ids::WEBHOOK_ENDPOINT);
    webhook_endpoints::ActiveModel {
        id: Set(id.clone()),
        org_id: Set(g.s.org_id.clone()),
        url: Set("https://receiver.example/hook".into()),
        description: Set(None),
        events: Set(json!(["*"])),
        enabled: Set(false),
        disabled_reason: Set(Some("test".into())),
        secret: Set("whsec_dGVzdA==".into()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&g.s.state.db)
    .await
    .expect("endpoint");
    id
}

/// The outbox's gate and cancel events, oldest first: (type, data).
async fn outbox(g: &Gated) -> Vec<(String, Value)> {
    webhook_events::Entity::find()
        .filter(webhook_events::Column::OrgId.eq(&g.s.org_id))
        .filter(webhook_events::Column::Type.is_in([
            "agent.gate.pending",
            "agent.gate.resolved",
            "agent.run.cancelled",
        ]))
        .order_by_asc(webhook_events::Column::CreatedAt)
        .all(&g.s.state.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| (e.r#type, e.payload["data"].clone()))
        .collect()
}

#[tokio::test]
async fn gate_and_cancel_events_are_in_the_outbox_with_the_rest_objects() {
    let g = gated(refund_then_done, None).await;
    let endpoint = endpoint(&g).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let id = str_of(&gate, "id");
    let events = outbox(&g).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0], ("agent.gate.pending".to_owned(), gate.clone()));
    let approved = resolve(&g.api, id, "approve", json!({ "comment": "ok" }), 200).await;
    let events = outbox(&g).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1], ("agent.gate.resolved".to_owned(), approved));
    assert_eq!(wait_end(&g.api, &run_id).await["status"], "completed");

    // A waiting run cancelled: its gate expires and the run's cancel is reported too.
    let run_id = start(&g.api, &g.agent).await;
    pending_gate(&g.api, &run_id).await;
    g.api
        .post(&format!("/v1/runs/{run_id}/cancel"), json!({}), 200)
        .await;
    let events = outbox(&g).await;
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[2].0, "agent.gate.pending");
    // Recorded in one transaction (same timestamp): in either order.
    let of = |kind: &str| &events.iter().find(|(k, _)| k == kind).expect(kind).1;
    let expired = events[3..].iter().find(|(k, _)| k == "agent.gate.resolved");
    assert_eq!(
        expired.expect("the gate's expiry").1["status"],
        "expired",
        "{events:?}"
    );
    assert_eq!(of("agent.run.cancelled")["run_id"], run_id.as_str());
    assert_eq!(of("agent.run.cancelled")["status"], "cancelled");
    // One delivery per event to the subscribed endpoint, held while it is disabled.
    let held = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(&endpoint))
        .all(&g.s.state.db)
        .await
        .expect("deliveries");
    assert!(held.len() >= 5, "{held:?}");
}

#[tokio::test]
async fn cancelling_a_queued_run_records_agent_run_cancelled() {
    let g = gated(refund_then_done, None).await;
    endpoint(&g).await;
    // A run queued behind a waiting run of its conversation stays queued.
    let body = json!({ "input": "first", "session_id": "s1", "mode": "async" });
    let first = crate::common::calls::trigger(&g.api, &g.agent, body, 202).await;
    pending_gate(&g.api, str_of(&first, "run_id")).await;
    let body = json!({ "input": "second", "session_id": "s1", "mode": "async" });
    let second = crate::common::calls::trigger(&g.api, &g.agent, body, 202).await;
    let second = str_of(&second, "run_id");
    assert_eq!(get_run(&g.api, second).await["status"], "queued");
    let run = g
        .api
        .post(&format!("/v1/runs/{second}/cancel"), json!({}), 200)
        .await;
    assert_eq!(run["status"], "cancelled", "{run}");
    let events = outbox(&g).await;
    let cancelled: Vec<&Value> = events
        .iter()
        .filter(|(k, _)| k == "agent.run.cancelled")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(cancelled.len(), 1, "{events:?}");
    assert_eq!(cancelled[0]["run_id"], second);
    assert_eq!(cancelled[0]["status"], "cancelled");
}
