//! Spending a budget: the 429 past it, `Retry-After` rounded up to the second, and the
//! budget an organisation's row sets (its tier, its override), in force within the auth
//! cache's TTL.

use super::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_free_organisations_21st_request_in_a_second_waits_for_retry_after() {
    let s = start_real().await;
    let (_, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    let burst = at_once(&api, "/v1/agents", 20).await;
    assert_eq!(statuses(&burst), vec![200; 20], "a Free burst is 20");
    let refused = get(&api, "/v1/agents").await;
    assert_eq!(refused.status, 429, "the 21st: {}", refused.body);
    assert!(expect_header(&refused, "content-type").starts_with("application/problem+json"));
    assert_eq!(refused.body["code"], "rate_limited");
    assert_eq!(refused.body["status"], 429);
    // One request comes back every 0.6 s: the wait, rounded up, is one second.
    assert_eq!(retry_after(&refused), 1);
    let b = budget(&refused);
    assert_eq!((b.quota, b.remaining, b.reset), (20, 0, 1));
    tokio::time::sleep(Duration::from_secs(retry_after(&refused))).await;
    let later = get(&api, "/v1/agents").await;
    assert_eq!(later.status, 200, "after Retry-After: {}", later.body);
}

#[tokio::test]
async fn an_organisations_row_overrides_its_tier_and_retry_after_rounds_up() {
    let s = start_real().await;
    // Three at once, then one every 2 s.
    let api = org_with(&s, "free", 30, 3).await;
    let first = at_once(&api, "/v1/agents", 3).await;
    assert_eq!(statuses(&first), vec![200; 3]);
    let b = budget(&first[0]);
    assert_eq!((b.quota, b.window), (3, 6), "the override, not Free's 20");
    let refused = get(&api, "/v1/agents").await;
    assert_eq!(refused.status, 429);
    // A little under 2 s to wait: 2.
    assert_eq!(retry_after(&refused), 2);
    assert_eq!(budget(&refused).reset, 2, "t says the same as Retry-After");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let early = get(&api, "/v1/agents").await;
    assert_eq!(
        early.status, 429,
        "a retry before Retry-After is still refused"
    );
    assert_eq!(retry_after(&early), 1);
    tokio::time::sleep(Duration::from_secs(retry_after(&early))).await;
    assert_eq!(get(&api, "/v1/agents").await.status, 200);
}

/// Asks until the reported quota is `quota`; how long that took.
async fn until_quota(api: &Api, quota: u64, give_up: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = get(api, "/v1/agents").await;
        assert_eq!(r.status, 200, "{}", r.body);
        if budget(&r).quota == quota {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < give_up,
            "still {} after {give_up:?}",
            expect_header(&r, "ratelimit-policy")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_tier_change_and_an_override_take_effect_within_the_auth_cache_ttl() {
    let ttl = Duration::from_secs(1);
    let s = TestServer::start_with(|c| {
        c.rate_limits = RateLimitsConfig::default();
        c.auth_cache_ttl = ttl;
    })
    .await;
    let (org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    assert_eq!(budget(&get(&api, "/v1/agents").await).quota, 20);
    // What the CLI's `orgs update --tier` does to the row.
    set_org(&s, &org, Some("pro"), None).await;
    let took = until_quota(&api, 100, ttl * 3).await;
    assert!(took <= ttl + Duration::from_millis(500), "took {took:?}");
    set_org(&s, &org, None, Some((600, 50))).await;
    let took = until_quota(&api, 50, ttl * 3).await;
    assert!(took <= ttl + Duration::from_millis(500), "took {took:?}");
}
