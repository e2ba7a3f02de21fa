//! Liveness is per instance: each instance keeps one `instances` row fresh, and a run
//! lives as long as its owner's row does. Two servers on one database (one SQLite file,
//! or one PostgreSQL schema with `DATABASE_URL`): a run held by an instance whose row went
//! stale is ended `failed`/`worker_lost` by the other; a live instance keeps its long run
//! however old the run's own lease expiry looks.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use entity::{instances, run_events, runs};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::time::{Duration, Instant};

/// A second server on `first`'s database.
async fn beside(
    first: &TestServer,
    adjust: impl FnOnce(&mut orchstack::config::Config),
) -> TestServer {
    let (url, schema) = (
        first.state.config.database_url.clone(),
        first.state.config.database_schema.clone(),
    );
    TestServer::start_with(move |c| {
        c.database_url = url;
        c.database_schema = schema;
        adjust(c);
    })
    .await
}

/// Polls the run until it is no longer queued or running (`secs` at most).
async fn ended_within(api: &Api, id: &str, secs: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let run = get_run(api, id).await;
        if !matches!(run["status"].as_str(), Some("queued" | "running")) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "run {id} still going after {secs} s: {run}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Instance A executes a run but beats only at start (its TTL of 10 minutes spaces its
/// heartbeats 200 s apart), so for B (TTL 2 s) A's row is stale within seconds, as if A
/// had stopped: B ends the run `failed`/`worker_lost` with one terminal event, A's own
/// ending does not replace it, and B forgets A's row.
#[tokio::test]
async fn a_run_whose_instance_went_stale_is_ended_by_another_instance() {
    let a = TestServer::start_with(|c| {
        c.worker.lease_ttl = Duration::from_secs(600);
        c.worker.reap_interval = Duration::from_secs(3600);
    })
    .await;
    let api = a.api();
    let agent_id = agent(&api, "mock/echo", slow(50)).await;
    let body = json!({ "input": words(300), "mode": "async" });
    let id = str_of(&trigger(&api, &agent_id, body, 202).await, "run_id").to_owned();
    let run = wait_until(&api, &id, "running", |r| r["status"] == "running").await;
    let owner = a.state.instance_id.clone();
    let held = runs::Entity::find_by_id(&id)
        .one(&a.state.db)
        .await
        .expect("read the run")
        .expect("the run");
    assert_eq!(held.lease_owner.as_deref(), Some(owner.as_str()), "{run}");

    let b = beside(&a, |c| {
        c.worker.lease_ttl = Duration::from_secs(2);
        c.worker.reap_interval = Duration::from_secs(1);
    })
    .await;
    // A's key, B's address: the servers share the database, so the key works on both.
    let on_b = b.api_with(Some(&a.admin_key));
    let run = ended_within(&on_b, &id, 10).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "worker_lost", "{run}");
    assert_eq!(
        run["error"]["message"], "the instance executing this run stopped before it finished",
        "{run}"
    );
    // A's executor learns it lost the run (its next event collides) and stops; its own
    // ending must not replace the reaper's.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let run = get_run(&api, &id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "worker_lost", "{run}");
    for step in run["steps"].as_array().expect("steps") {
        assert_ne!(step["status"], "running", "a step is still running: {run}");
    }

    let events = rest(&mut open(events_req(&on_b, &id)).await).await;
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(ids(&events), expected, "{events:?}");
    let last = events.last().expect("events");
    assert_eq!(last.kind, "run.failed", "{events:?}");
    assert_eq!(last.data["error"]["code"], "worker_lost", "{:?}", last.data);
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| **k == "run.failed")
            .count(),
        1,
        "{events:?}"
    );
    assert!(
        deltas(&events).split_whitespace().count() < 300,
        "the run was not cut short: {events:?}"
    );
    let stored = run_events::Entity::find()
        .filter(run_events::Column::RunId.eq(&id))
        .count(&a.state.db)
        .await
        .expect("count events");
    assert_eq!(stored as usize, events.len(), "events stored after the end");

    let a_row = instances::Entity::find_by_id(&owner)
        .one(&b.state.db)
        .await
        .expect("read instances");
    assert!(a_row.is_none(), "the dead instance's row stayed: {a_row:?}");
    let b_row = instances::Entity::find_by_id(&b.state.instance_id)
        .one(&b.state.db)
        .await
        .expect("read instances");
    assert!(b_row.is_some(), "the live instance has no row");
}

/// A live instance (heartbeat every second, TTL 3 s) keeps a run that lasts over twice
/// its TTL, although the run row's own lease expiry says an hour ago: the other
/// instance's reaper, looking every second, leaves it alone, and it completes whole.
#[tokio::test]
async fn a_live_instance_keeps_its_long_run_whatever_the_run_row_says() {
    let a = TestServer::start_with(|c| {
        c.worker.lease_ttl = Duration::from_secs(3);
        c.worker.reap_interval = Duration::from_secs(1);
    })
    .await;
    let api = a.api();
    let agent_id = agent(&api, "mock/echo", slow(100)).await;
    let body = json!({ "input": words(70), "mode": "async" });
    let id = str_of(&trigger(&api, &agent_id, body, 202).await, "run_id").to_owned();
    let mut events = open(events_req(&api, &id)).await;
    wait_until(&api, &id, "running", |r| r["status"] == "running").await;
    let _b = beside(&a, |c| {
        c.worker.lease_ttl = Duration::from_secs(3);
        c.worker.reap_interval = Duration::from_secs(1);
    })
    .await;
    runs::Entity::update_many()
        .col_expr(
            runs::Column::LeaseExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(runs::Column::Id.eq(&id))
        .exec(&a.state.db)
        .await
        .expect("backdate the run's lease expiry");

    let all = rest(&mut events).await;
    assert_eq!(kinds(&all), one_step(70), "{all:?}");
    let run = get_run(&api, &id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert!(run["duration_ms"].as_i64().unwrap_or(0) > 6_000, "{run}");
    let row = instances::Entity::find_by_id(&a.state.instance_id)
        .one(&a.state.db)
        .await
        .expect("read instances")
        .expect("the live instance's row");
    let age = chrono::Utc::now() - row.last_seen;
    assert!(
        age < chrono::Duration::seconds(3),
        "a stale heartbeat: {age}"
    );
}
