//! The agent cap through batches: the creates of one batch, and of several batches at
//! once, end with exactly the tier's count.

use super::{agent_count, create, require_postgres, send};
use crate::common::TestServer;
use serde_json::json;

/// Sends `batches` batches of five creates at once on a Free organisation and checks
/// that exactly three agents were made, every other create refused with the limit.
async fn race(s: &TestServer, batches: usize) {
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    // Verify the key once, so the batches do not line up behind its first lookup.
    assert_eq!(agent_count(&api).await, 0);
    let answers = futures::future::join_all((0..batches).map(|b| {
        let api = api.clone();
        async move {
            let ops: Vec<_> = (0..5).map(|i| create(&format!("race {b}.{i}"))).collect();
            send(&api, json!({ "operations": ops })).await
        }
    }))
    .await;
    let (mut created, mut refused) = (0, 0);
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        for result in answer["results"].as_array().expect("results") {
            match result["status"].as_u64() {
                Some(201) => created += 1,
                Some(403) => {
                    assert_eq!(result["body"]["code"], "plan_limit_exceeded", "{result}");
                    refused += 1;
                }
                _ => panic!("unexpected result {result}"),
            }
        }
    }
    assert_eq!((created, refused), (3, batches * 5 - 3), "{answers:?}");
    assert_eq!(agent_count(&api).await, 3);
}

#[tokio::test]
async fn five_creates_in_one_batch_on_a_free_org_make_exactly_three() {
    let s = TestServer::start().await;
    race(&s, 1).await;
}

#[tokio::test]
async fn four_concurrent_batches_of_five_on_a_free_org_make_exactly_three() {
    let s = TestServer::start_with(|c| c.db_max_connections = 20).await;
    race(&s, 4).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn concurrent_batches_on_postgresql_make_exactly_three() {
    require_postgres();
    let s = TestServer::start_with(|c| c.db_max_connections = 20).await;
    race(&s, 1).await;
    race(&s, 4).await;
}
