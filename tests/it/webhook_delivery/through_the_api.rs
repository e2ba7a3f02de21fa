//! The three parts of webhooks together, through the public API only: an endpoint made
//! with `POST /v1/webhooks` receives a gate's `agent.gate.pending` and
//! `agent.gate.resolved`, the run's `agent.run.completed`, a `webhook.test` on request,
//! and after `rotate-secret` deliveries signed by the old and the new secret; the
//! reference library verifies every one, and the deliveries list shows each with its
//! attempt.

use super::*;
use crate::common::TestServer;
use crate::gates::support::*;

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no `{key}` in {v}"))
}

#[tokio::test]
async fn gate_run_and_test_events_reach_an_endpoint_made_through_the_api() {
    let g = gated(refund_then_done, None).await;
    let receiver = Receiver::start(|_| Answer::status(200)).await;
    let made = g
        .api
        .post(
            "/v1/webhooks",
            json!({ "url": receiver.url, "events": ["*"], "description": "all of it" }),
            201,
        )
        .await;
    let (wh, secret) = (str_at(&made, "id"), str_at(&made, "secret"));

    // A run pauses at its gate: the receiver hears of it with the gate as `data`.
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got[0].json()["type"], "agent.gate.pending");
    assert_eq!(got[0].json()["data"], gate);

    // Approved: the resolution, then the run's end.
    resolve(&g.api, str_at(&gate, "id"), "approve", json!({}), 200).await;
    let got = receiver.wait_for(3, 10).await;
    let types: Vec<String> = got.iter().map(|r| r.json()["type"].to_string()).collect();
    assert_eq!(
        types,
        [
            "\"agent.gate.pending\"",
            "\"agent.gate.resolved\"",
            "\"agent.run.completed\""
        ],
        "in the order they were committed"
    );
    assert_eq!(got[1].json()["data"]["status"], "approved");
    assert_eq!(got[2].json()["data"]["run_id"], run_id.as_str());
    assert_eq!(got[2].json()["data"]["status"], "completed");
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 3, "one id per event");
    assert_signed(secret, &got).await;

    // A test event on request.
    let sent = g
        .api
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await;
    let got = receiver.wait_for(4, 10).await;
    assert_eq!(got[3].json()["type"], "webhook.test");
    assert_signed(secret, &got[3..]).await;

    // Rotated: during the grace period each delivery carries both signatures, and the
    // library accepts it with either secret.
    let rotated = g
        .api
        .post(&format!("/v1/webhooks/{wh}/rotate-secret"), json!({}), 200)
        .await;
    let new_secret = str_at(&rotated, "secret");
    assert_ne!(new_secret, secret);
    g.api
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await;
    let got = receiver.wait_for(5, 10).await;
    let last = &got[4];
    assert_eq!(
        last.header("webhook-signature").matches("v1,").count(),
        2,
        "{:?}",
        last.headers
    );
    let verdicts = verify(&[(secret, last), (new_secret, last)]).await;
    assert_eq!(verdicts, ["ok", "ok"]);

    // The deliveries list: every event with its one successful attempt.
    let list = g
        .api
        .get(&format!("/v1/webhooks/{wh}/deliveries?limit=10"), 200)
        .await;
    let data = list["data"].as_array().expect("data");
    assert_eq!(data.len(), 5, "{list}");
    for d in data {
        assert_eq!(d["status"], "succeeded", "{d}");
        let attempts = d["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 1, "{d}");
        assert_eq!(attempts[0]["status_code"], 200, "{d}");
    }
    let test_event = str_at(&sent, "event_id");
    assert_eq!(got[3].header("webhook-id"), test_event);
    assert!(
        data.iter().any(|d| d["event"]["id"] == test_event),
        "the test event is listed: {list}"
    );
}

#[tokio::test]
async fn deleting_an_endpoint_mid_delivery_does_not_hold_up_other_endpoints() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    // Both receivers answer after the same pause, so the two results are recorded in
    // one batch; one endpoint is deleted while its delivery is in flight.
    let doomed = Receiver::start(|_| Answer {
        wait_ms: 600,
        ..Answer::status(200)
    })
    .await;
    let kept = Receiver::start(|_| Answer {
        wait_ms: 600,
        ..Answer::status(200)
    })
    .await;
    let mut ids = Vec::new();
    for r in [&doomed, &kept] {
        let made = api
            .post(
                "/v1/webhooks",
                json!({ "url": r.url, "events": ["*"] }),
                201,
            )
            .await;
        ids.push(str_at(&made, "id").to_owned());
    }
    for id in &ids {
        api.post(&format!("/v1/webhooks/{id}/test"), json!({}), 202)
            .await;
    }
    doomed.wait_for(1, 10).await;
    kept.wait_for(1, 10).await;
    api.delete(&format!("/v1/webhooks/{}", ids[0]), 200).await;
    let path = format!("/v1/webhooks/{}/deliveries", ids[1]);
    // Recorded with its batch, not after the batch's retries give up.
    let delivery = eventually(3, "the kept endpoint's delivery recorded", || {
        let (api, path) = (&api, &path);
        async move {
            let list = api.get(path, 200).await;
            let d = list["data"][0].clone();
            (d["status"] == "succeeded").then_some(d)
        }
    })
    .await;
    assert_eq!(delivery["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(kept.got().len(), 1, "sent once");
    api.get(&format!("/v1/webhooks/{}", ids[0]), 404).await;
}

#[tokio::test]
async fn a_large_2xx_answer_is_a_success_and_only_its_start_is_kept() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    // Larger than outbound.max_response_bytes (1 MiB): what a tool may not answer, a
    // webhook receiver may (only its status counts).
    let big = "x".repeat(2 * 1024 * 1024);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move || {
        let big = big.clone();
        async move { big }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let made = api
        .post("/v1/webhooks", json!({ "url": url, "events": ["*"] }), 201)
        .await;
    let wh = str_at(&made, "id");
    api.post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await;
    let path = format!("/v1/webhooks/{wh}/deliveries");
    let d = eventually(10, "the delivery recorded", || {
        let (api, path) = (&api, &path);
        async move {
            let list = api.get(path, 200).await;
            let d = list["data"][0].clone();
            (d["attempt_count"].as_i64() >= Some(1)).then_some(d)
        }
    })
    .await;
    assert_eq!(d["status"], "succeeded", "{d}");
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["status_code"], 200);
    assert_eq!(attempt["response"].as_str().map(str::len), Some(1024));
}
