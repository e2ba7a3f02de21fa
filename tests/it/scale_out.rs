//! Two instances on one PostgreSQL and one Redis: work is shared through the database,
//! live events through Redis. These need the services, so they are `#[ignore]`d in the
//! plain `cargo test` and run by CI's PostgreSQL pass (`--include-ignored`).

use crate::common::*;
use futures::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};

fn services() -> (String, String) {
    let db = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL=postgres://... for the multi-instance tests");
    assert!(
        db.starts_with("postgres"),
        "the multi-instance tests need PostgreSQL"
    );
    let redis =
        std::env::var("REDIS_URL").expect("REDIS_URL=redis://... for the multi-instance tests");
    (db, redis)
}

async fn pair() -> (TestServer, TestServer) {
    let (_, redis) = services();
    let r = redis.clone();
    let executor = TestServer::start_with(move |c| c.redis_url = Some(r)).await;
    let schema = executor.state.config.database_schema.clone();
    let api_only = TestServer::start_with(move |c| {
        c.database_schema = schema; // the same database as the executor
        c.redis_url = Some(redis);
        c.worker.enabled = false;
    })
    .await;
    (executor, api_only)
}

/// Reads an SSE body into (id, event) pairs until it ends.
async fn read_events(res: reqwest::Response) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut events = eventsource_stream::EventStream::new(res.bytes_stream());
    while let Some(Ok(ev)) = events.next().await {
        out.push((ev.id, ev.event));
    }
    out
}

#[tokio::test]
#[ignore = "needs DATABASE_URL=postgres://... and REDIS_URL (CI runs it with --include-ignored)"]
async fn a_run_executed_on_one_instance_streams_live_from_another() {
    let (a, b) = pair().await;
    // b shares a's database, so a's key works there.
    let on_b = b.api_with(Some(&a.admin_key));
    let agent = on_b
        .post("/v1/agents", json!({ "name": "x", "model": "mock/echo", "model_settings": { "token_delay_ms": 40 } }), 201)
        .await;
    let input = "one two three four five six seven eight nine ten";
    let run = on_b
        .post(
            &format!("/v1/agents/{}/run", agent["id"].as_str().unwrap()),
            json!({ "input": input, "mode": "async" }),
            202,
        )
        .await;
    let id = run["run_id"].as_str().unwrap();
    let started = Instant::now();
    let res = on_b
        .request(reqwest::Method::GET, &format!("/v1/runs/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let events = read_events(res).await;
    // Ten tokens 40 ms apart arrive as they are produced: through Redis, not the reader's
    // 10-second safety poll.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let kinds: Vec<&str> = events.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"run.created"));
    assert_eq!(kinds.last(), Some(&"run.completed"));
    assert_eq!(kinds.iter().filter(|k| **k == "token").count(), 10);
    let ids: Vec<i64> = events.iter().map(|(i, _)| i.parse().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    let done = on_b.get(&format!("/v1/runs/{id}"), 200).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"], input);
}

#[tokio::test]
#[ignore = "needs DATABASE_URL=postgres://... and REDIS_URL (CI runs it with --include-ignored)"]
async fn a_cancel_sent_to_one_instance_stops_the_run_on_another() {
    let (a, b) = pair().await;
    let on_b = b.api_with(Some(&a.admin_key));
    let agent = on_b
        .post("/v1/agents", json!({ "name": "x", "model": "mock/echo", "model_settings": { "token_delay_ms": 100 } }), 201)
        .await;
    let run = on_b
        .post(
            &format!("/v1/agents/{}/run", agent["id"].as_str().unwrap()),
            json!({ "input": "w ".repeat(200), "mode": "async" }),
            202,
        )
        .await;
    let id = run["run_id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while on_b.get(&format!("/v1/runs/{id}"), 200).await["status"] != "running" {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    on_b.post(&format!("/v1/runs/{id}/cancel"), json!({}), 200)
        .await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let status = on_b.get(&format!("/v1/runs/{id}"), 200).await["status"].clone();
        if status == "cancelled" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the executing instance did not stop the run: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
