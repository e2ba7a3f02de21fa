//! Idempotency keys on runs: the run row and the key commit together; a synchronous
//! run replays its final answer; retries racing on two instances make one run.

use super::keyed;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn slow_agent(api: &Api, delay_ms: u64) -> String {
    let agent = api
        .post(
            "/v1/agents",
            json!({ "name": "slow", "model": "mock/echo", "model_settings": { "token_delay_ms": delay_ms } }),
            201,
        )
        .await;
    agent["id"].as_str().unwrap().to_owned()
}

async fn run_ids(api: &Api) -> Vec<String> {
    let list = api.get("/v1/runs?limit=100", 200).await;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_async_run_with_a_key_is_created_once() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = slow_agent(&api, 1).await;
    let path = format!("/v1/agents/{agent}/run");
    let body = json!({ "input": "hello", "mode": "async" });
    let (status, _, first) = keyed(&api, Method::POST, &path, "r-1", Some(body.clone())).await;
    assert_eq!(status, 202, "{first}");
    let (status, replayed, again) = keyed(&api, Method::POST, &path, "r-1", Some(body)).await;
    assert_eq!(
        (status, replayed.as_deref()),
        (202, Some("true")),
        "{again}"
    );
    assert_eq!(again["run_id"], first["run_id"]);
    assert_eq!(
        run_ids(&api).await,
        vec![first["run_id"].as_str().unwrap().to_owned()]
    );
}

#[tokio::test]
async fn a_sync_run_retried_while_running_gets_409_then_its_final_answer() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = slow_agent(&api, 60).await;
    let path = format!("/v1/agents/{agent}/run");
    let body = json!({ "input": "one two three four five six seven eight" });
    let first = {
        let (api, path, body) = (api.clone(), path.clone(), body.clone());
        tokio::spawn(async move { keyed(&api, Method::POST, &path, "r-2", Some(body)).await })
    };
    // Wait until the run exists (it commits before the call waits for it).
    let mut tries = 0;
    while run_ids(&api).await.is_empty() {
        tries += 1;
        assert!(tries < 200, "the run never appeared");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, _, busy) = keyed(&api, Method::POST, &path, "r-2", Some(body.clone())).await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(busy["code"], "idempotency_key_in_use");
    let (status, replayed, done) = first.await.unwrap();
    assert_eq!((status, replayed), (200, None), "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    let (status, replayed, again) = keyed(&api, Method::POST, &path, "r-2", Some(body)).await;
    assert_eq!((status, replayed.as_deref()), (200, Some("true")));
    assert_eq!(again, done, "the final answer replays");
    assert_eq!(run_ids(&api).await.len(), 1);
}

#[tokio::test]
async fn a_streamed_run_with_a_key_replays_as_a_redirect_to_its_event_stream() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = slow_agent(&api, 1).await;
    let path = format!("/v1/agents/{agent}/run");
    let body = json!({ "input": "hi there", "stream": true });
    let res = api
        .request(Method::POST, &path)
        .header("Idempotency-Key", "r-3")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains("run.completed"), "{text}");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .post(format!("{}{path}", s.base))
        .bearer_auth(&s.admin_key)
        .header("Idempotency-Key", "r-3")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let ids = run_ids(&api).await;
    assert_eq!(ids.len(), 1);
    let location = res.headers()["location"].to_str().unwrap();
    assert_eq!(location, format!("/v1/runs/{}/events", ids[0]));
}

#[tokio::test]
#[ignore = "needs DATABASE_URL=postgres://... and REDIS_URL: two instances on one database"]
async fn fifty_concurrent_retries_on_two_instances_make_one_run() {
    let redis = std::env::var("REDIS_URL").expect("REDIS_URL");
    let r = redis.clone();
    let a = TestServer::start_with(move |c| c.redis_url = Some(r)).await;
    let schema = a.state.config.database_schema.clone();
    let b = TestServer::start_with(move |c| {
        c.database_schema = schema;
        c.redis_url = Some(redis);
    })
    .await;
    let on_a = a.api();
    let on_b = b.api_with(Some(&a.admin_key));
    let agent = slow_agent(&on_a, 5).await;
    let path = format!("/v1/agents/{agent}/run");
    let body = json!({ "input": "race me", "mode": "async" });
    let mut tasks = Vec::new();
    for n in 0..50 {
        let api = if n % 2 == 0 {
            on_a.clone()
        } else {
            on_b.clone()
        };
        let (path, body) = (path.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            keyed(&api, Method::POST, &path, "race", Some(body)).await
        }));
    }
    let mut answers: Vec<(u16, Option<String>, Value)> = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let firsts = answers
        .iter()
        .filter(|(s, r, _)| *s == 202 && r.is_none())
        .count();
    let replays = answers
        .iter()
        .filter(|(s, r, _)| *s == 202 && r.as_deref() == Some("true"))
        .count();
    let busy = answers.iter().filter(|(s, _, _)| *s == 409).count();
    assert_eq!(firsts, 1, "{answers:?}");
    assert_eq!(replays + busy, 49, "{answers:?}");
    assert_eq!(run_ids(&on_a).await.len(), 1, "exactly one run");
}
