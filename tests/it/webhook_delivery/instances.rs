//! Two instances on one PostgreSQL and one Redis: the wake-up that follows a commit
//! which wrote deliveries crosses instances, so an instance that sends webhooks delivers
//! an ending another instance recorded at once, not at its next poll.

use super::*;
use crate::common::calls::trigger_async;
use crate::common::run_support::*;
use crate::common::webhooks_db::*;
use crate::common::*;

#[tokio::test]
#[ignore = "needs DATABASE_URL=postgres://... and REDIS_URL (CI runs it with --include-ignored)"]
async fn an_ending_recorded_on_one_instance_is_sent_at_once_by_another() {
    let redis = std::env::var("REDIS_URL").expect("REDIS_URL=redis://... for this test");
    let r1 = redis.clone();
    // A executes runs but sends no webhooks.
    let a = TestServer::start_with(move |c| {
        quick(c);
        c.redis_url = Some(r1);
        c.webhooks.enabled = false;
    })
    .await;
    let api = a.api();
    let slow_agent = agent(&api, "mock/echo", slow(100)).await;
    let id = trigger_async(&api, &slow_agent, &words(30)).await;
    wait_until(&api, &id, "running", |r| r["status"] == "running").await;
    // B sends webhooks and would look for due ones only once an hour by itself.
    let schema = a.state.config.database_schema.clone();
    let b = TestServer::start_with(move |c| {
        quick(c);
        c.database_schema = schema;
        c.redis_url = Some(redis);
        c.webhooks.poll_interval = Duration::from_secs(3600);
    })
    .await;
    let receiver = Receiver::start(|_| Answer::status(200)).await;
    let e = insert_endpoint(&b.state.db, &a.org_id, &receiver.url, json!(["*"])).await;
    let run = wait_until(&api, &id, "ended", |r| r["status"] == "completed").await;
    let ended = std::time::Instant::now();
    let got = receiver.wait_for(1, 10).await;
    assert!(
        got[0].at.saturating_duration_since(ended) < Duration::from_secs(5),
        "delivered {:?} after the ending",
        got[0].at.saturating_duration_since(ended)
    );
    assert_eq!(got[0].json()["data"]["run_id"], run["id"]);
    assert_signed(&e.secret, &got).await;
}
