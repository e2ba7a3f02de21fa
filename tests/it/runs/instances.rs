//! Two instances on one PostgreSQL database without Redis: a run executed by one is
//! followed and cancelled through the other.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

/// Instance A serves the API with no worker; instance B, on the same database, executes
/// the runs; there is no Redis (`scale_out.rs` covers the pair with Redis). A client of A
/// must still see its runs end, and a cancel sent to A must stop the run on B.
#[tokio::test]
#[ignore = "needs DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn without_redis_a_run_executed_by_another_instance_is_followed_and_cancellable() {
    let url = std::env::var("DATABASE_URL").unwrap_or_default();
    assert!(
        url.starts_with("postgres"),
        "needs DATABASE_URL=postgres://..."
    );
    let b = TestServer::start_with(|c| {
        c.redis_url = None;
        c.worker.poll_interval = Duration::from_millis(50);
    })
    .await;
    let schema = b.state.config.database_schema.clone();
    let a = TestServer::start_with(move |c| {
        c.database_schema = schema; // B's database
        c.redis_url = None;
        c.worker.enabled = false;
        c.runs.wait_timeout = Duration::from_secs(4);
    })
    .await;
    let api = a.api_with(Some(&b.admin_key));
    let quick = agent(&api, "mock/echo", slow(20)).await;

    // A synchronous run answers once the run ends (the reader polls the log), not when
    // the wait runs out.
    let t0 = Instant::now();
    let body = trigger(&api, &quick, json!({ "input": words(5) }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert!(
        t0.elapsed() < Duration::from_millis(2_500),
        "the sync answer waited {:?} for a run that took ~0.2 s",
        t0.elapsed()
    );

    // The event stream follows the run and ends with it.
    let body = trigger(
        &api,
        &quick,
        json!({ "input": words(5), "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(kinds(&events), one_step(5), "{events:?}");

    // A cancel sent to A stops the run B executes.
    let slow_agent = agent(&api, "mock/echo", slow(200)).await;
    let body = trigger(
        &api,
        &slow_agent,
        json!({ "input": words(20), "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");
    wait_until(&api, id, "running", |r| r["status"] == "running").await;
    api.send(
        api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
        200,
    )
    .await;
    let run = wait_until(&api, id, "ended", |r| r["status"] != "running").await;
    assert_eq!(run["status"], "cancelled", "{run}");
}
