//! Each run ending the executor records leaves as its event: completed, failed with an
//! error, failed by timeout, cancelled. Signed, with the run as `data`, the event id as
//! `webhook-id`, to every endpoint subscribed to its type and no other.

use super::*;
use crate::common::calls::trigger_async;
use crate::common::run_support::*;
use crate::common::webhooks_db::*;
use crate::common::*;
use std::collections::HashMap;

#[tokio::test]
async fn every_run_ending_is_delivered_signed_to_its_subscribers() {
    let provider = unreachable_url().await;
    let s = TestServer::start_with(move |c| {
        quick(c);
        c.runs.timeout = Duration::from_secs(1);
        c.providers.insert(
            "fake".into(),
            fake_provider(provider.trim_end_matches("/v1")),
        );
    })
    .await;
    let all = Receiver::start(|_| Answer::status(200)).await;
    let failed_only = Receiver::start(|_| Answer::status(204)).await;
    let db = &s.state.db;
    let every = insert_endpoint(db, &s.org_id, &all.url, json!(["*"])).await;
    let failures =
        insert_endpoint(db, &s.org_id, &failed_only.url, json!(["agent.run.failed"])).await;
    // Another organisation's endpoint hears nothing of these runs.
    let (other_org, _) = s.new_org("enterprise").await;
    let elsewhere = Receiver::start(|_| Answer::status(200)).await;
    insert_endpoint(db, &other_org, &elsewhere.url, json!(["*"])).await;

    let api = s.api();
    let echo = agent(&api, "mock/echo", json!({})).await;
    let broken = agent(&api, "fake/gpt-test", json!({})).await;
    let slow_agent = agent(&api, "mock/echo", slow(100)).await;

    let completed = trigger_async(&api, &echo, "hello there").await;
    let errored = trigger_async(&api, &broken, "hello").await;
    let timed_out = trigger_async(&api, &slow_agent, &words(100)).await;
    let cancelled = trigger_async(&api, &slow_agent, &words(100)).await;
    wait_until(&api, &cancelled, "running", |r| r["status"] == "running").await;
    api.post(&format!("/v1/runs/{cancelled}/cancel"), json!({}), 200)
        .await;
    let mut ended = HashMap::new();
    for id in [&completed, &errored, &timed_out, &cancelled] {
        let run = wait_end(&api, id).await;
        ended.insert(id.clone(), run);
    }
    assert_eq!(ended[&completed]["status"], "completed");
    assert_eq!(ended[&errored]["status"], "failed");
    assert_eq!(ended[&timed_out]["status"], "failed");
    assert_eq!(ended[&timed_out]["error"]["code"], "timeout");
    assert_eq!(ended[&cancelled]["status"], "cancelled");

    let got = all.wait_for(4, 10).await;
    let by_run: HashMap<String, &Got> = got
        .iter()
        .map(|g| (g.json()["data"]["run_id"].as_str().unwrap().to_owned(), g))
        .collect();
    assert_eq!(by_run.len(), 4, "one delivery per ending: {got:?}");
    let expect = [
        (&completed, "agent.run.completed"),
        (&errored, "agent.run.failed"),
        (&timed_out, "agent.run.failed"),
        (&cancelled, "agent.run.cancelled"),
    ];
    let stored: HashMap<String, entity::webhook_events::Model> = events(db, &s.org_id)
        .await
        .into_iter()
        .map(|e| (e.payload["data"]["run_id"].as_str().unwrap().to_owned(), e))
        .collect();
    for (run_id, kind) in expect {
        let g = by_run[run_id.as_str()];
        let body = g.json();
        assert_eq!(body["type"], kind, "{body}");
        let run = &ended[run_id];
        // `data` is the run as the API shows it once ended.
        assert_eq!(body["data"]["run_id"], run["id"]);
        for field in [
            "id",
            "status",
            "output",
            "tokens",
            "agent_id",
            "error",
            "completed_at",
        ] {
            assert_eq!(
                body["data"][field], run[field],
                "{field} of {body} vs {run}"
            );
        }
        assert!(body["timestamp"].is_string(), "{body}");
        // The webhook-id is the stored event's id; the body is its stored payload.
        let event = &stored[run_id.as_str()];
        assert_eq!(g.header("webhook-id"), event.id);
        assert!(event.id.starts_with("msg_"));
        assert_eq!(body, event.payload);
        assert_eq!(g.header("content-type"), "application/json");
        assert!(g.header("user-agent").starts_with("OrchStack-Webhooks/"));
        let ts: i64 = g.header("webhook-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        assert!(g.header("webhook-signature").starts_with("v1,"));
    }
    assert_signed(&every.secret, &got).await;

    let got = failed_only.wait_for(2, 10).await;
    let mut runs: Vec<&str> = got
        .iter()
        .map(|g| g.json()["data"]["run_id"].as_str().unwrap().to_owned())
        .map(|id| {
            if id == errored {
                "errored"
            } else if id == timed_out {
                "timed_out"
            } else {
                "other"
            }
        })
        .collect();
    runs.sort();
    assert_eq!(runs, ["errored", "timed_out"]);
    assert_signed(&failures.secret, &got).await;
    // Deliveries are recorded succeeded, one attempt each (a 204 is a 2xx).
    eventually(5, "the deliveries recorded succeeded", || async {
        let d = deliveries(db, &failures.id).await;
        (d.len() == 2
            && d.iter().all(|d| {
                d.status == entity::webhook_deliveries::DeliveryStatus::Succeeded
                    && d.attempts == 1
                    && d.completed_at.is_some()
                    && d.lease_owner.is_none()
            }))
        .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(all.got().len(), 4, "no delivery twice");
    assert_eq!(failed_only.got().len(), 2);
    assert!(
        elsewhere.got().is_empty(),
        "another organisation's endpoint was told"
    );
}
