//! Issue 8 §5: the configuration is checked at boot. A value out of its range, a
//! duration without a unit, a setting given under both its old and its new name: each
//! stops the binary (and `orchstack::build`) with a message naming the key. Old `*_secs`
//! and `*_ms` names keep their meaning; durations come from the environment as "45s".

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use crate::server::{command, free_port, wait_ready};
use serde_json::json;
use std::time::{Duration, Instant};

/// Runs `orchstack migrate` on a fresh SQLite database with `env`; returns whether it
/// succeeded, and its stdout and stderr.
async fn migrate_with(env: &[(&str, &str)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let mut cmd = command(&db);
    cmd.envs(env.iter().copied()).arg("migrate");
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the binary ends")
        .expect("the binary runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The binary must refuse to start with `env`, saying `message` on stderr (in any case:
/// figment names a key from the environment in upper case).
async fn refuses(env: &[(&str, &str)], message: &str) {
    let (ok, _, err) = migrate_with(env).await;
    assert!(!ok, "started with {env:?}");
    assert!(
        err.to_lowercase().contains(&message.to_lowercase()),
        "{env:?}: stderr lacks {message:?}: {err}"
    );
}

#[tokio::test]
async fn a_value_out_of_its_range_stops_the_binary_naming_key_and_range() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "ORCHSTACK_WORKER__CONCURRENCY",
            "0",
            "worker.concurrency = 0 is out of range: must be 1 to 10000",
        ),
        (
            "ORCHSTACK_WORKER__LEASE_TTL",
            "500ms",
            "worker.lease_ttl = \"500ms\" is out of range: must be 1s to 1h",
        ),
        (
            "ORCHSTACK_DB_MAX_CONNECTIONS",
            "0",
            "db_max_connections = 0 is out of range: must be 1 to 1000",
        ),
        (
            "ORCHSTACK_PROVIDERS__OPENAI__MAX_RETRIES",
            "99",
            "providers.openai.max_retries = 99 is out of range: must be 0 to 20",
        ),
        (
            "ORCHSTACK_TEMPLATES__TIMEOUT",
            "2m",
            "templates.timeout = \"2m\" is out of range: must be 1ms to 1m",
        ),
        ("ORCHSTACK_LOG__FORMAT", "xml", "log.format"),
    ];
    for (var, value, message) in cases {
        refuses(&[(var, value)], message).await;
    }
}

#[tokio::test]
async fn a_bad_outbound_allow_entry_stops_the_server_at_boot() {
    let (port, dir) = (free_port(), tempfile::tempdir().unwrap());
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let out = command(&db)
        .env("ORCHSTACK_LISTEN", format!("127.0.0.1:{port}"))
        .env("ORCHSTACK_OUTBOUND__ALLOW", "[not_a_host!]")
        .arg("serve")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the server stops by itself")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("outbound.allow: `not_a_host!`"), "{err}");
}

type Adjust = fn(&mut orchstack::config::Config);

#[tokio::test]
async fn build_refuses_a_bad_value_with_the_same_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let cases: [(Adjust, &str); 4] = [
        (
            |c| c.worker.concurrency = 0,
            "worker.concurrency = 0 is out of range",
        ),
        (
            |c| c.worker.poll_interval = Duration::ZERO,
            "worker.poll_interval = \"0s\" is out of range: must be 10ms to 1h",
        ),
        (
            |c| c.runs.max_steps = 65,
            "runs.max_steps = 65 is out of range: must be 1 to runs.max_steps_limit",
        ),
        (
            |c| c.outbound.allow = vec!["not_a_host!".into()],
            "outbound.allow: `not_a_host!` is not a CIDR",
        ),
    ];
    for (adjust, message) in cases {
        let mut config = test_config(url.clone());
        adjust(&mut config);
        let err = match orchstack::build(config).await {
            Ok(_) => panic!("built with a bad value ({message})"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(message), "{err}");
    }
}

#[tokio::test]
async fn a_duration_without_a_unit_is_refused() {
    refuses(
        &[("ORCHSTACK_RUNS__TIMEOUT", "30")],
        "expected a duration for key \"runs.timeout\"",
    )
    .await;
    refuses(
        &[("ORCHSTACK_WORKER__LEASE_TTL", "soon")],
        "worker.lease_ttl",
    )
    .await;
    // In a file as well.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bare.toml");
    std::fs::write(&file, "[worker]\nlease_ttl = 30\n").unwrap();
    let file = file.to_string_lossy().into_owned();
    refuses(&[("ORCHSTACK_CONFIG", file.as_str())], "worker.lease_ttl").await;
}

#[tokio::test]
async fn old_names_keep_their_unit_and_say_so() {
    // Read in their old unit: seconds and milliseconds, as the new key's range shows.
    refuses(
        &[("ORCHSTACK_SHUTDOWN__TIMEOUT_SECS", "7200")],
        "shutdown.timeout = \"2h\" is out of range",
    )
    .await;
    refuses(
        &[("ORCHSTACK_WORKER__POLL_INTERVAL_MS", "5")],
        "worker.poll_interval = \"5ms\" is out of range",
    )
    .await;
    refuses(
        &[("ORCHSTACK_PROVIDERS__OPENAI__IDLE_TIMEOUT_MS", "0")],
        "providers.openai.idle_timeout = \"0s\" is out of range",
    )
    .await;
    // Within range, the binary starts and warns once.
    let (ok, out, err) = migrate_with(&[("ORCHSTACK_WORKER__LEASE_TTL_SECS", "3")]).await;
    assert!(ok && out.contains("migrations applied"), "{out}{err}");
    assert!(
        err.contains(
            "worker.lease_ttl_secs is deprecated and was read as worker.lease_ttl = \"3s\""
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_old_and_a_new_name_together_or_a_bad_old_value_are_refused() {
    refuses(
        &[
            ("ORCHSTACK_WORKER__LEASE_TTL_SECS", "3"),
            ("ORCHSTACK_WORKER__LEASE_TTL", "3s"),
        ],
        "worker.lease_ttl_secs and worker.lease_ttl are both set",
    )
    .await;
    refuses(
        &[("ORCHSTACK_RUNS__WAIT_TIMEOUT_SECS", "1.5")],
        "runs.wait_timeout_secs (the old name of runs.wait_timeout) must be a whole number of seconds",
    )
    .await;
}

#[test]
fn old_names_in_a_file_are_read_in_their_unit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.toml");
    std::fs::write(
        &file,
        "auth_cache_ttl_secs = 2\n\
         [worker]\nlease_ttl_secs = 3\npoll_interval_ms = 50\n\
         [providers.local]\nbase_url = \"http://127.0.0.1:9/v1\"\nconnect_timeout_ms = 250\n",
    )
    .unwrap();
    let loaded = orchstack::config::Config::load_noted(Some(&file)).expect("loads");
    let c = loaded.config;
    assert_eq!(c.auth_cache_ttl, Duration::from_secs(2));
    assert_eq!(c.worker.lease_ttl, Duration::from_secs(3));
    assert_eq!(c.worker.poll_interval, Duration::from_millis(50));
    assert_eq!(
        c.providers["local"].connect_timeout,
        Duration::from_millis(250)
    );
    assert_eq!(loaded.notes.len(), 4, "{:?}", loaded.notes);
}

#[tokio::test]
async fn a_duration_from_the_environment_governs_the_server() {
    // The synchronous wait comes from ORCHSTACK_RUNS__WAIT_TIMEOUT: a run longer than
    // it is answered 202 after it, not after the 30 s default.
    let (port, dir) = (free_port(), tempfile::tempdir().unwrap());
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let key = "os_live_configconfigconfigconfig0001";
    let mut cmd = command(&db);
    cmd.env("ORCHSTACK_LISTEN", format!("127.0.0.1:{port}"))
        .env("ORCHSTACK_BOOTSTRAP_KEY", key)
        .env("ORCHSTACK_RUNS__WAIT_TIMEOUT", "1s 200ms");
    let _child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let api = Api {
        base,
        key: Some(key.into()),
        http: reqwest::Client::new(),
    };
    let agent = agent(&api, "mock/echo", slow(150)).await;
    let t0 = Instant::now();
    let body = trigger(&api, &agent, json!({ "input": words(40) }), 202).await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(1100) && waited < Duration::from_secs(5),
        "answered after {waited:?}"
    );
    assert_eq!(body["status"], "running", "{body}");
}
