//! An endpoint's deliveries through the API: test events, the deliveries list (each
//! with its event and attempts), retrying by hand, and disabling / re-enabling an
//! endpoint, which holds and replays its deliveries. The delivery workers are off here:
//! what the API wrote is what is read back.

use super::api_support::*;
use crate::common::calls::call;
use crate::common::run_support::time;
use entity::webhook_deliveries::DeliveryStatus;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{json, Value};

fn due_now(v: &Value) {
    let due = time(&v["next_attempt_at"]);
    let age = chrono::Utc::now().signed_duration_since(due);
    assert!(age.num_seconds().abs() < 30, "not due now: {v}");
}

#[tokio::test]
async fn a_test_event_makes_one_pending_delivery_to_that_endpoint_only() {
    let s = server().await;
    let api = s.api();
    let wh = id(&create(&api, &hook_url(&s, "tested")).await);
    let other = id(&create(&api, &hook_url(&s, "bystander")).await);
    let sent = api
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await;
    assert!(id(&sent).starts_with("dlv_"), "{sent}");
    assert_eq!(sent["status"], "pending");
    assert_eq!(sent["endpoint_id"], wh.as_str());
    assert_eq!(sent["attempts"], json!([]));
    due_now(&sent);
    let event = &sent["event"];
    assert!(event["id"].as_str().unwrap().starts_with("msg_"), "{sent}");
    assert_eq!(sent["event_id"], event["id"]);
    assert_eq!(event["type"], "webhook.test");
    assert_eq!(event["payload"]["type"], "webhook.test");
    assert_eq!(event["payload"]["data"]["webhook_id"], wh.as_str());
    assert!(event["payload"]["data"]["message"].is_string());
    assert!(event["payload"]["timestamp"].is_string());

    let rows_tested = rows(&s, &wh).await;
    assert_eq!(rows_tested.len(), 1);
    assert_eq!(rows_tested[0].id, id(&sent));
    assert_eq!(rows_tested[0].status, DeliveryStatus::Pending);
    assert!(
        rows(&s, &other).await.is_empty(),
        "only the tested endpoint"
    );
    let stored = entity::webhook_events::Entity::find_by_id(rows_tested[0].event_id.clone())
        .one(&s.state.db)
        .await
        .unwrap()
        .expect("the event row");
    assert_eq!(stored.r#type, "webhook.test");
    assert_eq!(stored.org_id, s.org_id);
    assert_eq!(
        api.get(&format!("/v1/webhooks/{other}/deliveries"), 200)
            .await["data"],
        json!([])
    );
}

#[tokio::test]
async fn deliveries_list_newest_first_with_events_attempts_and_a_status_filter() {
    let s = server().await;
    let api = s.api();
    let wh = id(&create(&api, &hook_url(&s, "listed")).await);
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(id(&api
            .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
            .await));
    }
    // Two attempts of the oldest, as the delivery engine records them.
    let first = chrono::Utc::now() - chrono::Duration::seconds(10);
    for (i, (code, response, error)) in [
        (
            None,
            None,
            Some("the destination did not answer within 15000 ms"),
        ),
        (Some(500), Some("oops"), None),
    ]
    .into_iter()
    .enumerate()
    {
        entity::webhook_attempts::ActiveModel {
            id: Set(orchstack::ids::new_id(orchstack::ids::WEBHOOK_ATTEMPT)),
            delivery_id: Set(sent[0].clone()),
            org_id: Set(s.org_id.clone()),
            attempted_at: Set(first + chrono::Duration::seconds(i as i64)),
            status_code: Set(code),
            duration_ms: Set(15 + i as i64),
            response: Set(response.map(str::to_owned)),
            error: Set(error.map(str::to_owned)),
        }
        .insert(&s.state.db)
        .await
        .unwrap();
    }
    force_status(&s, &sent[0], DeliveryStatus::Failed).await;

    let page = api
        .get(&format!("/v1/webhooks/{wh}/deliveries?limit=2"), 200)
        .await;
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sent[2].as_str(), sent[1].as_str()]);
    assert_eq!(page["has_more"], true);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = api
        .get(
            &format!("/v1/webhooks/{wh}/deliveries?limit=2&cursor={cursor}"),
            200,
        )
        .await;
    assert_eq!(rest["has_more"], false);
    let oldest = &rest["data"][0];
    assert_eq!(oldest["id"], sent[0].as_str());
    assert_eq!(oldest["status"], "failed");
    let attempts = oldest["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{oldest}");
    assert_eq!(attempts[0]["status_code"], Value::Null);
    assert!(attempts[0]["error"].as_str().unwrap().contains("15000 ms"));
    assert_eq!(attempts[1]["status_code"], 500);
    assert_eq!(attempts[1]["response"], "oops");
    assert_eq!(attempts[1]["duration_ms"], 16);
    assert!(attempts[0]["attempted_at"].as_str() < attempts[1]["attempted_at"].as_str());

    let failed = api
        .get(&format!("/v1/webhooks/{wh}/deliveries?status=failed"), 200)
        .await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 1);
    assert_eq!(failed["data"][0]["id"], sent[0].as_str());
    let pending = api
        .get(
            &format!("/v1/webhooks/{wh}/deliveries?status=pending,held"),
            200,
        )
        .await;
    assert_eq!(pending["data"].as_array().unwrap().len(), 2);
    api.get(&format!("/v1/webhooks/{wh}/deliveries?status=lost"), 400)
        .await;
    api.get(
        &format!("/v1/webhooks/{wh}/deliveries?sort=created_at"),
        400,
    )
    .await;
}

#[tokio::test]
async fn retry_makes_a_failed_or_succeeded_delivery_due_now_but_not_one_being_sent() {
    let s = server().await;
    let api = s.api();
    let wh = id(&create(&api, &hook_url(&s, "retried")).await);
    let dlv = id(&api
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await);
    let retry = format!("/v1/webhooks/{wh}/deliveries/{dlv}/retry");
    for status in [
        DeliveryStatus::Failed,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Pending,
    ] {
        force_status(&s, &dlv, status).await;
        let retried = api.post(&retry, json!({}), 202).await;
        assert_eq!(retried["status"], "pending", "{status}: {retried}");
        assert_eq!(retried["completed_at"], Value::Null);
        due_now(&retried);
        let row = &rows(&s, &wh).await[0];
        assert_eq!(row.status, DeliveryStatus::Pending);
        assert_eq!(
            row.event_id,
            retried["event_id"].as_str().unwrap(),
            "same webhook-id"
        );
    }
    force_status(&s, &dlv, DeliveryStatus::Sending).await;
    let r = call(api.request(Method::POST, &retry)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], "conflict");
    assert_eq!(rows(&s, &wh).await[0].status, DeliveryStatus::Sending);
    let r = call(api.request(
        Method::POST,
        &format!("/v1/webhooks/{wh}/deliveries/dlv_nope/retry"),
    ))
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn disabling_holds_deliveries_and_re_enabling_replays_them() {
    let s = server().await;
    let api = s.api();
    let wh = id(&create(&api, &hook_url(&s, "switched")).await);
    let pending = id(&api
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await);
    let done = id(&api
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await);
    force_status(&s, &done, DeliveryStatus::Succeeded).await;

    let off = api
        .patch(
            &format!("/v1/webhooks/{wh}"),
            json!({ "enabled": false }),
            200,
        )
        .await;
    assert_eq!(off["enabled"], false);
    assert_eq!(off["disabled_reason"], Value::Null, "a person disabled it");
    let status_of = |rows: &[entity::webhook_deliveries::Model], id: &str| {
        rows.iter()
            .find(|r| r.id == id)
            .map(|r| (r.status, r.next_attempt_at.is_some()))
    };
    let now = rows(&s, &wh).await;
    assert_eq!(
        status_of(&now, &pending),
        Some((DeliveryStatus::Held, false))
    );
    assert_eq!(
        status_of(&now, &done),
        Some((DeliveryStatus::Succeeded, false))
    );
    // While disabled: no test events, no retries (re-enabling is the way back).
    for path in [
        format!("/v1/webhooks/{wh}/test"),
        format!("/v1/webhooks/{wh}/deliveries/{pending}/retry"),
        format!("/v1/webhooks/{wh}/deliveries/{done}/retry"),
    ] {
        let r = call(api.request(Method::POST, &path)).await;
        assert_eq!(r.status, 409, "{path}: {}", r.body);
    }
    assert_eq!(rows(&s, &wh).await.len(), 2);

    // As if the server had disabled it for failing.
    let row = entity::webhook_endpoints::Entity::find_by_id(wh.clone())
        .one(&s.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut failing: entity::webhook_endpoints::ActiveModel = row.into();
    failing.disabled_reason = Set(Some("failing".into()));
    failing.failing_since = Set(Some(chrono::Utc::now() - chrono::Duration::days(5)));
    failing.update(&s.state.db).await.unwrap();
    let got = api.get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_eq!(got["disabled_reason"], "failing");

    let on = api
        .patch(
            &format!("/v1/webhooks/{wh}"),
            json!({ "enabled": true }),
            200,
        )
        .await;
    assert_eq!(on["enabled"], true);
    assert_eq!(on["disabled_reason"], Value::Null);
    assert_eq!(on["failing_since"], Value::Null);
    let now = rows(&s, &wh).await;
    assert_eq!(
        status_of(&now, &pending),
        Some((DeliveryStatus::Pending, true))
    );
    assert_eq!(
        status_of(&now, &done),
        Some((DeliveryStatus::Succeeded, false)),
        "not resent"
    );
    let replayed = api
        .get(&format!("/v1/webhooks/{wh}/deliveries?status=pending"), 200)
        .await;
    due_now(&replayed["data"][0]);
    // Enabling an enabled endpoint changes nothing.
    api.patch(
        &format!("/v1/webhooks/{wh}"),
        json!({ "enabled": true }),
        200,
    )
    .await;
    assert_eq!(rows(&s, &wh).await.len(), 2);
}

#[tokio::test]
async fn an_endpoint_created_disabled_holds_what_it_is_sent() {
    let s = server().await;
    let api = s.api();
    let created = api
        .post(
            "/v1/webhooks",
            json!({ "url": hook_url(&s, "later"), "events": ["*"], "enabled": false }),
            201,
        )
        .await;
    assert_eq!(created["enabled"], false);
    let wh = id(&created);
    let r = call(api.request(Method::POST, &format!("/v1/webhooks/{wh}/test"))).await;
    assert_eq!(r.status, 409, "{}", r.body);
    // Deleting it takes its deliveries with it.
    api.patch(
        &format!("/v1/webhooks/{wh}"),
        json!({ "enabled": true }),
        200,
    )
    .await;
    api.post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await;
    assert_eq!(rows(&s, &wh).await.len(), 1);
    api.delete(&format!("/v1/webhooks/{wh}"), 200).await;
    assert!(rows(&s, &wh).await.is_empty());
}
