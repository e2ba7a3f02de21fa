//! Receivers that fail: retried on the schedule with the same `webhook-id` until a 2xx;
//! a 410 disables the endpoint and holds what follows; `Retry-After` is honoured; a URL
//! the outbound guard refuses is never contacted; a rotated secret signs beside the new
//! one during its grace.

use super::*;
use crate::common::calls::trigger_async;
use crate::common::run_support::*;
use crate::common::webhooks_db::*;
use crate::common::*;
use entity::webhook_deliveries::DeliveryStatus;

/// A server with quick retries, an echo agent, and one finished run's id.
async fn server() -> (TestServer, String) {
    let s = TestServer::start_with(quick).await;
    let echo = agent(&s.api(), "mock/echo", json!({})).await;
    (s, echo)
}

async fn one_run(s: &TestServer, agent: &str) -> String {
    let api = s.api();
    let id = trigger_async(&api, agent, "ping").await;
    wait_end(&api, &id).await;
    id
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_event_once_with_one_id() {
    let (s, echo) = server().await;
    let r = Receiver::start(|n| Answer::status(if n < 3 { 500 } else { 200 })).await;
    let e = insert_endpoint(&s.state.db, &s.org_id, &r.url, json!(["*"])).await;
    let run = one_run(&s, &echo).await;
    let got = r.wait_for(4, 10).await;
    let ids: Vec<&str> = got.iter().map(|g| g.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(got[3].json()["data"]["run_id"], run.as_str());
    assert_signed(&e.secret, &got).await;
    let db = &s.state.db;
    let d = eventually(5, "the delivery succeeded", || async {
        let d = deliveries(db, &e.id).await;
        (d.len() == 1 && d[0].status == DeliveryStatus::Succeeded).then(|| d[0].clone())
    })
    .await;
    assert_eq!(d.attempts, 4);
    let tries = attempts(db, &d.id).await;
    let codes: Vec<Option<i32>> = tries.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(500), Some(200)]);
    assert_eq!(tries[0].response.as_deref(), Some("received"));
    // The endpoint failed for a while, then recovered.
    assert!(endpoint(db, &e.id).await.failing_since.is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got().len(), 4, "delivered again after a 2xx");
}

#[tokio::test]
async fn a_receiver_refusing_connections_gets_the_event_once_it_listens() {
    let (s, echo) = server().await;
    // A port nothing listens on yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let e = insert_endpoint(&s.state.db, &s.org_id, &url, json!(["agent.run.completed"])).await;
    let run = one_run(&s, &echo).await;
    let db = &s.state.db;
    let d = eventually(10, "three failed attempts", || async {
        let d = deliveries(db, &e.id).await;
        (d.len() == 1 && d[0].attempts >= 3).then(|| d[0].clone())
    })
    .await;
    let tries = attempts(db, &d.id).await;
    assert!(tries.iter().all(|a| a.status_code.is_none()), "{tries:?}");
    assert!(
        tries[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("could not be reached"),
        "{tries:?}"
    );
    assert!(endpoint(db, &e.id).await.failing_since.is_some());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the port");
    let r = Receiver::on(listener, |_| Answer::status(200));
    let got = r.wait_for(1, 10).await;
    assert_eq!(got[0].header("webhook-id"), d.event_id);
    assert_eq!(got[0].json()["data"]["run_id"], run.as_str());
    assert_signed(&e.secret, &got).await;
    eventually(5, "the delivery succeeded", || async {
        let d = deliveries(db, &e.id).await;
        (d[0].status == DeliveryStatus::Succeeded).then_some(())
    })
    .await;
    assert_eq!(r.got().len(), 1);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_holds_later_events() {
    let (s, echo) = server().await;
    let r = Receiver::start(|_| Answer::status(410)).await;
    let e = insert_endpoint(&s.state.db, &s.org_id, &r.url, json!(["*"])).await;
    one_run(&s, &echo).await;
    r.wait_for(1, 10).await;
    let db = &s.state.db;
    let gone = eventually(5, "the endpoint disabled", || async {
        let e = endpoint(db, &e.id).await;
        (!e.enabled).then_some(e)
    })
    .await;
    assert_eq!(gone.disabled_reason.as_deref(), Some("gone"));
    // Later events are kept, held for a replay, and not sent.
    one_run(&s, &echo).await;
    let d = eventually(5, "both deliveries held", || async {
        let d = deliveries(db, &e.id).await;
        (d.len() == 2 && d.iter().all(|d| d.status == DeliveryStatus::Held)).then_some(d)
    })
    .await;
    assert_eq!(d[0].attempts, 1);
    assert_eq!(d[1].attempts, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got().len(), 1, "a disabled endpoint was contacted");
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let (s, echo) = server().await;
    let r = Receiver::start(|n| {
        if n == 0 {
            Answer {
                status: 429,
                wait_ms: 0,
                headers: vec![("retry-after", "1".into())],
            }
        } else {
            Answer::status(200)
        }
    })
    .await;
    let e = insert_endpoint(&s.state.db, &s.org_id, &r.url, json!(["*"])).await;
    one_run(&s, &echo).await;
    let got = r.wait_for(2, 10).await;
    let gap = got[1].at - got[0].at;
    // The schedule alone would have retried after 50 ms.
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    assert!(gap < Duration::from_secs(5), "retried after {gap:?}");
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_signed(&e.secret, &got).await;
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign() {
    let (s, echo) = server().await;
    let r = Receiver::start(|_| Answer::status(200)).await;
    let db = &s.state.db;
    let e = insert_endpoint(db, &s.org_id, &r.url, json!(["*"])).await;
    let old = e.secret.clone();
    let new = rotate(db, &e, chrono::Utc::now() + chrono::Duration::hours(24)).await;
    one_run(&s, &echo).await;
    let got = r.wait_for(1, 10).await;
    let sigs: Vec<&str> = got[0].header("webhook-signature").split(' ').collect();
    assert_eq!(sigs.len(), 2, "{sigs:?}");
    assert!(sigs.iter().all(|s| s.starts_with("v1,")));
    let stranger = new_secret();
    let verdicts = verify(&[(&new, &got[0]), (&old, &got[0]), (&stranger, &got[0])]).await;
    assert_eq!(verdicts[0], "ok");
    assert_eq!(verdicts[1], "ok");
    assert_ne!(verdicts[2], "ok", "a secret that never signed verified");
    // Past the grace, the old secret no longer signs.
    let e = endpoint(db, &e.id).await;
    rotate(db, &e, chrono::Utc::now() - chrono::Duration::seconds(1)).await;
    let newest = endpoint(db, &e.id).await.secret;
    one_run(&s, &echo).await;
    let got = r.wait_for(2, 10).await;
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 1);
    let verdicts = verify(&[(&newest, &got[1]), (&new, &got[1])]).await;
    assert_eq!(verdicts[0], "ok");
    assert_ne!(verdicts[1], "ok");
}

#[tokio::test]
async fn a_url_the_guard_refuses_is_never_contacted() {
    // Loopback is not allow-listed here.
    let s = TestServer::start_with(|c| {
        quick(c);
        c.webhooks.schedule = vec![Duration::from_millis(50); 2];
        c.outbound.allow.clear();
    })
    .await;
    let r = Receiver::start(|_| Answer::status(200)).await;
    let db = &s.state.db;
    let e = insert_endpoint(db, &s.org_id, &r.url, json!(["*"])).await;
    let echo = agent(&s.api(), "mock/echo", json!({})).await;
    one_run(&s, &echo).await;
    let d = eventually(10, "the delivery failed", || async {
        let d = deliveries(db, &e.id).await;
        (d.len() == 1 && d[0].status == DeliveryStatus::Failed).then(|| d[0].clone())
    })
    .await;
    // Three attempts: the first, then one per wait of the schedule.
    assert_eq!(d.attempts, 3);
    assert!(d.completed_at.is_some());
    let tries = attempts(db, &d.id).await;
    assert_eq!(tries.len(), 3);
    for t in &tries {
        assert_eq!(t.status_code, None);
        let error = t.error.as_deref().unwrap_or("");
        assert!(error.contains("loopback address"), "{error}");
    }
    assert!(r.got().is_empty(), "the guard let a loopback URL through");
}

#[tokio::test]
async fn a_redirect_is_a_failed_attempt_and_is_not_followed() {
    let s = TestServer::start_with(|c| {
        quick(c);
        c.webhooks.schedule = vec![Duration::from_millis(50)];
    })
    .await;
    let target = Receiver::start(|_| Answer::status(200)).await;
    let to = target.url.clone();
    let r = Receiver::start(move |_| Answer {
        status: 307,
        wait_ms: 0,
        headers: vec![("location", to.clone())],
    })
    .await;
    let db = &s.state.db;
    let e = insert_endpoint(db, &s.org_id, &r.url, json!(["*"])).await;
    let echo = agent(&s.api(), "mock/echo", json!({})).await;
    one_run(&s, &echo).await;
    let d = eventually(10, "the delivery failed", || async {
        let d = deliveries(db, &e.id).await;
        (d.len() == 1 && d[0].status == DeliveryStatus::Failed).then(|| d[0].clone())
    })
    .await;
    let codes: Vec<Option<i32>> = attempts(db, &d.id)
        .await
        .iter()
        .map(|a| a.status_code)
        .collect();
    assert_eq!(codes, [Some(307), Some(307)]);
    assert_eq!(r.got().len(), 2);
    assert!(target.got().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn an_endpoint_failing_for_too_long_is_disabled_and_its_events_held() {
    let s = TestServer::start_with(|c| {
        quick(c);
        c.webhooks.schedule = vec![Duration::from_millis(100); 20];
        c.webhooks.disable_after = Duration::from_millis(300);
    })
    .await;
    let r = Receiver::start(|_| Answer::status(503)).await;
    let db = &s.state.db;
    let e = insert_endpoint(db, &s.org_id, &r.url, json!(["*"])).await;
    let echo = agent(&s.api(), "mock/echo", json!({})).await;
    one_run(&s, &echo).await;
    let off = eventually(10, "the endpoint disabled", || async {
        let e = endpoint(db, &e.id).await;
        (!e.enabled).then_some(e)
    })
    .await;
    assert_eq!(off.disabled_reason.as_deref(), Some("failing"));
    let since = off.failing_since.expect("failing since");
    assert!(off.updated_at - since >= chrono::Duration::milliseconds(300));
    let d = eventually(5, "the delivery held", || async {
        let d = deliveries(db, &e.id).await;
        (d[0].status == DeliveryStatus::Held).then(|| d[0].clone())
    })
    .await;
    // Attempted until the endpoint was disabled (a failure at least 300 ms after the
    // first one), not past.
    assert!(d.attempts >= 2, "{} attempts", d.attempts);
    let seen = r.got().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.got().len(), seen, "a disabled endpoint was contacted");
    assert_eq!(seen as i32, d.attempts);
}
