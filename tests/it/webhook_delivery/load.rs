//! Many deliveries: a slow endpoint holds at most its cap of workers and never delays a
//! fast one; a receiver failing 30% of attempts at random still gets every event, each
//! under one id.

use super::*;
use crate::common::calls::trigger_async;
use crate::common::run_support::*;
use crate::common::webhooks_db::*;
use crate::common::*;
use entity::webhook_deliveries::DeliveryStatus;
use std::collections::{HashMap, HashSet};

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_a_fast_one() {
    let s = TestServer::start_with(|c| {
        quick(c);
        c.webhooks.concurrency = 16;
        c.webhooks.per_endpoint_concurrency = 2;
    })
    .await;
    let slow_r = Receiver::start(|_| Answer {
        status: 200,
        wait_ms: 1_000,
        headers: Vec::new(),
    })
    .await;
    let fast_r = Receiver::start(|_| Answer::status(200)).await;
    let db = &s.state.db;
    let slow_e = insert_endpoint(db, &s.org_id, &slow_r.url, json!(["*"])).await;
    let fast_e = insert_endpoint(db, &s.org_id, &fast_r.url, json!(["*"])).await;
    let api = s.api();
    let echo = agent(&api, "mock/echo", json!({})).await;
    let mut runs = Vec::new();
    for i in 0..8 {
        runs.push(trigger_async(&api, &echo, &format!("run {i}")).await);
    }
    for id in &runs {
        wait_end(&api, id).await;
    }
    let started = Instant::now();
    let fast = fast_r.wait_for(8, 10).await;
    let fast_took = started.elapsed();
    let slow_so_far = slow_r.got().len();
    // Two at a time, a second each: the slow endpoint is far from done (it needs 4 s).
    assert!(
        slow_so_far <= 6,
        "slow endpoint got {slow_so_far} while the fast one got 8 in {fast_took:?}"
    );
    let slow = slow_r.wait_for(8, 20).await;
    assert_eq!(
        slow_r
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    assert_signed(&fast_e.secret, &fast).await;
    assert_signed(&slow_e.secret, &slow).await;
    eventually(5, "every delivery succeeded", || async {
        let d = deliveries(db, &slow_e.id).await;
        (d.len() == 8 && d.iter().all(|d| d.status == DeliveryStatus::Succeeded)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_flaky_receiver_gets_every_event_under_one_id() {
    const EVENTS: usize = 200;
    let s = TestServer::start_with(|c| {
        quick(c);
        // 0.3^13: no event should run out of attempts.
        c.webhooks.schedule = vec![Duration::from_millis(20); 12];
        c.worker.concurrency = 32;
    })
    .await;
    let r = Receiver::start(|_| {
        Answer::status(if rand::random::<f64>() < 0.3 {
            500
        } else {
            200
        })
    })
    .await;
    let db = &s.state.db;
    let e = insert_endpoint(db, &s.org_id, &r.url, json!(["agent.run.completed"])).await;
    let api = s.api();
    let echo = agent(&api, "mock/echo", json!({})).await;
    let mut runs = HashSet::new();
    for i in 0..EVENTS {
        runs.insert(trigger_async(&api, &echo, &format!("run {i}")).await);
    }
    let d = eventually(60, "every delivery ended", || async {
        let d = deliveries(db, &e.id).await;
        (d.len() == EVENTS && d.iter().all(|d| d.status == DeliveryStatus::Succeeded)).then_some(d)
    })
    .await;
    let got = r.got();
    // Every run's event arrived, each run under exactly one id, and each id carried one
    // run's event.
    let mut ids_of_run: HashMap<String, HashSet<String>> = HashMap::new();
    let mut ok_ids = HashSet::new();
    for g in &got {
        let run = g.json()["data"]["run_id"].as_str().unwrap().to_owned();
        ids_of_run
            .entry(run)
            .or_default()
            .insert(g.header("webhook-id").to_owned());
    }
    assert_eq!(ids_of_run.len(), EVENTS);
    assert!(ids_of_run.keys().all(|k| runs.contains(k)));
    for (run, ids) in &ids_of_run {
        assert_eq!(ids.len(), 1, "run {run} was sent under {ids:?}");
        ok_ids.extend(ids.iter().cloned());
    }
    assert_eq!(ok_ids.len(), EVENTS, "two runs shared an id");
    let attempts: i32 = d.iter().map(|d| d.attempts).sum();
    assert_eq!(
        attempts as usize,
        got.len(),
        "every attempt reached the receiver once"
    );
    assert!(
        got.len() > EVENTS,
        "no attempt failed: the receiver is not flaky"
    );
    assert_signed(&e.secret, &got).await;
}
