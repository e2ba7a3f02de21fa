//! A tier change reaches every instance within the auth cache TTL. The agent count reads
//! the stored tier under the create's lock, so the change counts from the very next
//! create, even while every instance still holds the key's principal in its cache.

use super::cli::orgs_cli;
use super::second_instance;
use super::{agent_count, assert_refused, create_over_rest, fill, require_postgres};
use crate::common::{Api, TestServer};
use orchstack::service::orgs;
use std::time::Duration;

/// Long enough that no cached principal expires during the test.
const TTL: Duration = Duration::from_secs(60);

/// Deletes agents until the organisation has `n`.
async fn trim(api: &Api, n: u64) {
    let list = api.get("/v1/agents?limit=100", 200).await;
    let ids: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    for id in ids.iter().skip(n as usize) {
        api.delete(&format!("/v1/agents/{id}"), 200).await;
    }
}

fn tier(name: &str) -> orgs::OrgChange {
    orgs::OrgChange {
        tier: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_upgrade_lets_the_fourth_agent_in_and_a_downgrade_caps_again() {
    let s = TestServer::start_with(|c| c.auth_cache_ttl = TTL).await;
    let (org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    fill(&api, 3).await;
    let (status, body) = create_over_rest(&api, "fourth".into()).await;
    assert_eq!(status, 403, "{body}");

    orgs::update(&s.state.db, &org, tier("pro")).await.unwrap();
    api.create_agent("fourth, on pro").await;
    fill(&api, 25).await;
    let (_, body) = create_over_rest(&api, "26th".into()).await;
    assert_refused(&body, "pro", 25);

    // Back to free with 25 agents: they stay, but no new one fits until fewer than 3 are
    // left.
    orgs::update(&s.state.db, &org, tier("free")).await.unwrap();
    let (status, body) = create_over_rest(&api, "over".into()).await;
    assert_eq!(status, 403, "{body}");
    assert_refused(&body, "free", 3);
    assert_eq!(agent_count(&api).await, 25);
    trim(&api, 3).await;
    assert_eq!(create_over_rest(&api, "at the cap".into()).await.0, 403);
    trim(&api, 2).await;
    api.create_agent("fits on free").await;
    assert_eq!(create_over_rest(&api, "full".into()).await.0, 403);

    // Enterprise has no cap.
    orgs::update(&s.state.db, &org, tier("enterprise"))
        .await
        .unwrap();
    fill(&api, 30).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn a_tier_change_by_the_cli_reaches_both_instances_on_one_postgresql() {
    require_postgres();
    let url = std::env::var("DATABASE_URL").unwrap();
    let a = TestServer::start_with(|c| c.auth_cache_ttl = TTL).await;
    let b = second_instance(&a, |c| c.auth_cache_ttl = TTL).await;
    let schema = a.state.config.database_schema.clone().expect("a schema");
    let (org, key) = a.new_org("free").await;
    let on = [a.api_with(Some(&key)), b.api_with(Some(&key))];
    fill(&on[0], 3).await;
    // Both instances have verified the key (the free tier is in both caches) and refuse.
    for api in &on {
        let (status, body) = create_over_rest(api, "fourth".into()).await;
        assert_eq!(status, 403, "{body}");
        assert_refused(&body, "free", 3);
    }

    let printed = orgs_cli(&url, Some(&schema), &["update", &org, "--tier", "pro"]).await;
    assert_eq!(printed["tier"], "pro", "{printed}");
    on[0].create_agent("fourth, via a").await;
    on[1].create_agent("fifth, via b").await;

    orgs_cli(&url, Some(&schema), &["update", &org, "--tier", "free"]).await;
    for api in &on {
        let (status, body) = create_over_rest(api, "over".into()).await;
        assert_eq!(status, 403, "{body}");
        assert_refused(&body, "free", 3);
    }
    assert_eq!(agent_count(&on[1]).await, 5);
}
