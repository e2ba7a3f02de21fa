//! Many creates at once in an empty organisation end with exactly the tier's count: on
//! the suite's database (SQLite unless `DATABASE_URL` says otherwise), on PostgreSQL, and
//! spread over two instances on one PostgreSQL.

use super::{assert_exact, create_over_rest, race, require_postgres, second_instance};
use crate::common::TestServer;

/// A server with a pool as large as the race, so the creates really meet in the
/// database instead of queueing for a connection.
async fn wide_server() -> TestServer {
    TestServer::start_with(|c| c.db_max_connections = 20).await
}

#[tokio::test]
async fn twenty_parallel_creates_on_a_free_org_make_exactly_three() {
    let s = wide_server().await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    // Verify the key once, so the creates do not line up behind its first lookup.
    assert_eq!(super::agent_count(&api).await, 0);
    let answers = race(20, |i| create_over_rest(&api, format!("race {i}"))).await;
    assert_exact(&answers, &api, "free", 3).await;
}

#[tokio::test]
async fn forty_parallel_creates_on_a_pro_org_make_exactly_twenty_five() {
    let s = wide_server().await;
    let (_org, key) = s.new_org("pro").await;
    let api = s.api_with(Some(&key));
    assert_eq!(super::agent_count(&api).await, 0);
    let answers = race(40, |i| create_over_rest(&api, format!("race {i}"))).await;
    assert_exact(&answers, &api, "pro", 25).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn twenty_parallel_creates_on_postgresql_make_exactly_three() {
    require_postgres();
    let s = wide_server().await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    assert_eq!(super::agent_count(&api).await, 0);
    let answers = race(20, |i| create_over_rest(&api, format!("race {i}"))).await;
    assert_exact(&answers, &api, "free", 3).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn creates_spread_over_two_instances_on_one_postgresql_stay_within_the_cap() {
    require_postgres();
    let a = wide_server().await;
    let b = second_instance(&a, |c| c.db_max_connections = 20).await;
    for (tier, n, limit) in [("free", 20, 3), ("pro", 40, 25)] {
        let (_org, key) = a.new_org(tier).await;
        let on = [a.api_with(Some(&key)), b.api_with(Some(&key))];
        for api in &on {
            assert_eq!(super::agent_count(api).await, 0);
        }
        // Every other create goes to the other instance.
        let answers = race(n, |i| create_over_rest(&on[i % 2], format!("race {i}"))).await;
        assert_exact(&answers, &on[1], tier, limit).await;
    }
}
