//! Cancelling a running run waits briefly (`runs.cancel_wait`) for it to end: the
//! answer is its final state (200), or the run as it is when the wait ran out (REST
//! 202; GraphQL returns it the same way).

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use entity::runs;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn cancelling_a_running_run_answers_its_final_state() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    for via_graphql in [false, true] {
        let body = json!({ "input": words(40), "mode": "async" });
        let id = str_of(&trigger(&api, &agent, body, 202).await, "run_id").to_owned();
        wait_until(&api, &id, "running", |r| r["status"] == "running").await;
        let run = if via_graphql {
            let res = api
                .gql(
                    "mutation($id: ID!) { cancelRun(id: $id) { id status completedAt } }",
                    json!({ "id": id }),
                )
                .await;
            let run = res["data"]["cancelRun"].clone();
            assert!(run.is_object(), "{res}");
            json!({ "status": run["status"].as_str().unwrap_or("").to_ascii_lowercase(), "completed_at": run["completedAt"] })
        } else {
            api.send(
                api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
                200,
            )
            .await
        };
        assert_eq!(run["status"], "cancelled", "graphql: {via_graphql}: {run}");
        assert!(run["completed_at"].is_string(), "{run}");
    }
}

/// A run no executor on this instance ends (its worker is elsewhere, or slow to stop):
/// the cancel waits `cancel_wait`, then answers 202 with the run still running.
#[tokio::test]
async fn a_run_still_going_after_the_cancel_wait_is_answered_202() {
    let s = TestServer::start_with(|c| {
        c.worker.enabled = false;
        c.runs.cancel_wait = Duration::from_millis(400);
    })
    .await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let body = json!({ "input": "hello", "mode": "async" });
        ids.push(str_of(&trigger(&api, &agent, body, 202).await, "run_id").to_owned());
    }
    // As a worker elsewhere would have it.
    runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value("running"))
        .filter(runs::Column::Id.is_in(ids.clone()))
        .exec(&s.state.db)
        .await
        .expect("mark the runs running");

    let t0 = Instant::now();
    let run = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{}/cancel", ids[0])),
            202,
        )
        .await;
    let waited = t0.elapsed();
    assert_eq!(run["id"], ids[0].as_str(), "{run}");
    assert_eq!(run["status"], "running", "{run}");
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "the cancel waited {waited:?}, not about 400 ms"
    );

    let t0 = Instant::now();
    let res = api
        .gql(
            "mutation($id: ID!) { cancelRun(id: $id) { id status } }",
            json!({ "id": ids[1] }),
        )
        .await;
    assert!(
        t0.elapsed() >= Duration::from_millis(400),
        "no wait in GraphQL"
    );
    let status = res["data"]["cancelRun"]["status"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(status.to_ascii_lowercase(), "running", "{res}");
    // The cancel is recorded: the run's executor stops it when it looks.
    let row = runs::Entity::find_by_id(ids[1].clone())
        .one(&s.state.db)
        .await
        .expect("read")
        .expect("the run");
    assert!(row.cancel_requested);
}

/// With `cancel_wait = "0s"` a cancel answers at once, as before the wait existed.
#[tokio::test]
async fn a_zero_cancel_wait_answers_at_once() {
    let s = TestServer::start_with(|c| {
        c.worker.enabled = false;
        c.runs.cancel_wait = Duration::ZERO;
    })
    .await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = json!({ "input": "hello", "mode": "async" });
    let id = str_of(&trigger(&api, &agent, body, 202).await, "run_id").to_owned();
    runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value("running"))
        .filter(runs::Column::Id.eq(&id))
        .exec(&s.state.db)
        .await
        .expect("mark the run running");
    let t0 = Instant::now();
    let run = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
            202,
        )
        .await;
    assert_eq!(run["status"], "running", "{run}");
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t0.elapsed()
    );
}
