//! `orchstack orgs get` and `orchstack orgs update` through the real binary, against the
//! database a running server uses.

use super::{assert_refused, create_over_rest, fill};
use crate::common::{test_config, TestServer};
use crate::server::command;
use serde_json::{json, Value};
use std::process::Output;

/// Runs `orchstack orgs <args>` on `db` (and a PostgreSQL schema).
async fn run(db: &str, schema: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = command(db);
    if let Some(schema) = schema {
        cmd.env("ORCHSTACK_DATABASE_SCHEMA", schema);
    }
    cmd.arg("orgs")
        .args(args)
        .output()
        .await
        .expect("the binary runs")
}

/// Runs `orchstack orgs <args>`, which must succeed, and returns what it printed as JSON.
pub async fn orgs_cli(db: &str, schema: Option<&str>, args: &[&str]) -> Value {
    let out = run(db, schema, args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "orgs {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

/// Runs `orchstack orgs <args>`, which must fail, and returns its exit code and stderr.
async fn orgs_cli_fails(db: &str, args: &[&str]) -> (i32, String) {
    let out = run(db, None, args).await;
    assert!(!out.status.success(), "orgs {args:?} succeeded");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn orgs_update_changes_tier_and_rate_limits_and_the_server_follows() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("ops.db").display());
    let mut config = test_config(db.clone());
    config.auth_cache_ttl = std::time::Duration::from_secs(60);
    let s = TestServer::start_config(config, Some(dir)).await;
    let (org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    fill(&api, 3).await;
    let (_, body) = create_over_rest(&api, "fourth".into()).await;
    assert_refused(&body, "free", 3);

    let got = orgs_cli(&db, None, &["get", &org]).await;
    assert_eq!(got["id"], org.as_str());
    assert_eq!(got["tier"], "free");
    assert_eq!(got["requests_per_minute"], Value::Null);
    assert_eq!(got["burst_per_second"], Value::Null);
    let created_at = got["created_at"].as_str().unwrap().to_owned();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );

    let updated = orgs_cli(
        &db,
        None,
        &[
            "update",
            &org,
            "--tier",
            "pro",
            "--requests-per-minute",
            "500",
            "--burst",
            "40",
        ],
    )
    .await;
    let expected = json!({
        "id": org, "name": "test org", "tier": "pro",
        "requests_per_minute": 500, "burst_per_second": 40, "created_at": created_at,
    });
    assert_eq!(updated, expected);
    assert_eq!(orgs_cli(&db, None, &["get", &org]).await, expected);
    // The running server counts on the new tier at once.
    api.create_agent("fourth, on pro").await;

    let cleared = orgs_cli(&db, None, &["update", &org, "--clear-rate-limits"]).await;
    assert_eq!(cleared["tier"], "pro", "the tier stays");
    assert_eq!(cleared["requests_per_minute"], Value::Null);
    assert_eq!(cleared["burst_per_second"], Value::Null);
    let only_burst = orgs_cli(&db, None, &["update", &org, "--burst", "7"]).await;
    assert_eq!(only_burst["burst_per_second"], 7);
    assert_eq!(only_burst["requests_per_minute"], Value::Null);

    // Bad values are refused as a whole (nothing changes) and each one is named.
    let (code, err) =
        orgs_cli_fails(&db, &["update", &org, "--tier", "gold", "--burst", "0"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("/tier: unknown tier `gold`"), "{err}");
    assert!(
        err.contains("/burst_per_second: must be a whole number"),
        "{err}"
    );
    let (_, err) = orgs_cli_fails(&db, &["update", &org, "--requests-per-minute", "-5"]).await;
    assert!(err.contains("/requests_per_minute"), "{err}");
    let (_, err) = orgs_cli_fails(
        &db,
        &["update", &org, "--requests-per-minute", "3000000000"],
    )
    .await;
    assert!(err.contains("/requests_per_minute"), "{err}");
    assert_eq!(orgs_cli(&db, None, &["get", &org]).await, only_burst);

    let (_, err) = orgs_cli_fails(&db, &["update", "org_nosuchorg", "--tier", "pro"]).await;
    assert!(err.contains("not found"), "{err}");
    let (_, err) = orgs_cli_fails(&db, &["get", "org_nosuchorg"]).await;
    assert!(err.contains("not found"), "{err}");
    // Usage errors (clap's exit code 2): nothing to change, or set and clear at once.
    let (code, _) = orgs_cli_fails(&db, &["update", &org]).await;
    assert_eq!(code, 2);
    let (code, _) = orgs_cli_fails(
        &db,
        &["update", &org, "--burst", "3", "--clear-rate-limits"],
    )
    .await;
    assert_eq!(code, 2);
}
