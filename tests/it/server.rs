//! The server as an operator meets it: the binary, its CLI, bootstrap keys, health
//! endpoints, graceful shutdown, and logs that never hold a secret.

use crate::common::*;
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_orchstack");

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("ops.db").display())
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn command(db: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub(crate) async fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(res) = reqwest::get(format!("{base}/readyz")).await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} did not become ready");
}

async fn output(cmd: &mut Command) -> String {
    let out = cmd.output().await.expect("command runs");
    assert!(
        out.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn stop(mut child: Child) -> (String, String) {
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops within 10 s")
        .unwrap();
    assert!(exit.success(), "server exited with {exit:?} on SIGTERM");
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    (out, err)
}

#[tokio::test]
async fn health_and_readiness() {
    let s = TestServer::start().await;
    let none = s.api_with(None);
    assert_eq!(none.get("/healthz", 200).await, json!({ "status": "ok" }));
    assert_eq!(none.get("/readyz", 200).await["status"], "ready");
}

#[tokio::test]
async fn first_start_prints_a_working_admin_key_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = command(&sqlite_url(&dir))
        .env("ORCHSTACK_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "debug")
        .arg("serve")
        .spawn()
        .unwrap();
    wait_ready(&base).await;
    // The key is printed on stdout once; read it after stopping, so use it via the DB-free
    // route: stop, read, restart on the same database.
    let (out, err) = stop(child).await;
    let key = out
        .split_whitespace()
        .find(|w| w.starts_with("os_live_"))
        .expect("a bootstrap key is printed")
        .to_owned();
    assert!(!err.contains(&key), "the key must not be in the logs");

    let child = command(&sqlite_url(&dir))
        .env("ORCHSTACK_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "debug")
        .spawn()
        .unwrap();
    wait_ready(&base).await;
    let api = Api {
        base: base.clone(),
        key: Some(key.clone()),
        http: reqwest::Client::new(),
    };
    let viewer = api
        .gql("{ viewer { scopes organization { tier } } }", json!({}))
        .await;
    assert_eq!(viewer["data"]["viewer"]["scopes"], json!(["*"]));
    assert_eq!(
        viewer["data"]["viewer"]["organization"]["tier"],
        "ENTERPRISE"
    );
    api.create_agent("logged").await;
    let (out, err) = stop(child).await;
    assert!(
        !out.contains("os_live_"),
        "a second start prints no new key"
    );
    assert!(!err.contains(&key), "the key must not be in the logs");
    assert!(
        err.contains("request"),
        "requests are logged with their span"
    );
}

#[tokio::test]
async fn bootstrap_key_from_the_environment_is_used_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(sqlite_url(&dir));
    config.bootstrap_key = Some("os_live_bootstrapbootstrapbootstrap01".into());
    let built = orchstack::build(config.clone()).await.unwrap();
    assert!(
        built.generated_key.is_none(),
        "a configured key is not printed"
    );
    drop(built);
    // A later start with another bootstrap key leaves the first in place.
    config.bootstrap_key = Some("os_live_anotheranotheranotheranother02".into());
    let s = TestServer::start_config(config, Some(dir)).await;
    let first = s.api_with(Some("os_live_bootstrapbootstrapbootstrap01"));
    assert_eq!(
        first.gql("{ viewer { scopes } }", json!({})).await["data"]["viewer"]["scopes"],
        json!(["*"])
    );
    s.api_with(Some("os_live_anotheranotheranotheranother02"))
        .get("/v1/agents", 401)
        .await;
}

#[tokio::test]
async fn cli_creates_orgs_and_keys_and_prints_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let org =
        output(command(&db).args(["orgs", "create", "--name", "Acme", "--tier", "pro"])).await;
    assert!(org.starts_with("org_"), "{org}");
    let key = output(command(&db).args([
        "keys",
        "create",
        "--org",
        &org,
        "--scopes",
        "agents:read,agents:write",
    ]))
    .await;
    assert!(key.starts_with("os_live_"), "{key}");
    let test_key =
        output(command(&db).args(["keys", "create", "--org", &org, "--scopes", "*", "--test"]))
            .await;
    assert!(test_key.starts_with("os_test_"));
    let bad = command(&db)
        .args(["orgs", "create", "--name", "X", "--tier", "gold"])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tier"));

    let sdl = output(command(&db).arg("schema")).await;
    assert!(sdl.contains("type Agent implements Node"));
    let openapi: serde_json::Value =
        serde_json::from_str(&output(command(&db).arg("openapi")).await).unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");

    let mut config = test_config(db);
    config.migrate_on_start = true;
    let s = TestServer::start_config(config, Some(dir)).await;
    let api = s.api_with(Some(&key));
    api.create_agent("from cli key").await;
    let viewer = api
        .gql("{ viewer { organization { id tier } scopes } }", json!({}))
        .await;
    assert_eq!(viewer["data"]["viewer"]["organization"]["id"], org.as_str());
    assert_eq!(viewer["data"]["viewer"]["organization"]["tier"], "PRO");
}

#[tokio::test]
async fn invalid_configuration_is_refused_at_boot() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(&sqlite_url(&dir))
        .env("ORCHSTACK_BOOTSTRAP_KEY", "not-a-key")
        .arg("serve")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bootstrap_key"));
    let out = command("mysql://nope")
        .arg("migrate")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database_url"));
}

async fn run_status(api: &Api, id: &str) -> String {
    api.get(&format!("/v1/runs/{id}"), 200).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The binary on an SQLite file, with a fixed port and bootstrap key, restartable.
struct Binary {
    dir: tempfile::TempDir,
    port: u16,
    key: &'static str,
    env: Vec<(&'static str, &'static str)>,
}

impl Binary {
    fn new(key: &'static str, env: &[(&'static str, &'static str)]) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            key,
            env: env.to_vec(),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn api(&self) -> Api {
        Api {
            base: self.base(),
            key: Some(self.key.into()),
            http: reqwest::Client::new(),
        }
    }

    async fn start(&self) -> Child {
        let mut cmd = command(&sqlite_url(&self.dir));
        cmd.env("ORCHSTACK_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("ORCHSTACK_BOOTSTRAP_KEY", self.key);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        wait_ready(&self.base()).await;
        child
    }
}

/// Starts an async run of `words` words at `delay_ms` per token; returns its id once a
/// worker is executing it.
async fn running_run(api: &Api, delay_ms: u64, words: usize) -> (String, String) {
    let agent = api
        .post(
            "/v1/agents",
            json!({ "name": "slow", "model": "mock/echo", "model_settings": { "token_delay_ms": delay_ms } }),
            201,
        )
        .await;
    let input = "word ".repeat(words);
    let run = api
        .post(
            &format!("/v1/agents/{}/run", agent["id"].as_str().unwrap()),
            json!({ "input": input, "mode": "async" }),
            202,
        )
        .await;
    let id = run["run_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while run_status(api, &id).await != "running" {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (id, input)
}

#[tokio::test]
async fn a_run_whose_server_was_killed_does_not_stay_running() {
    let bin = Binary::new(
        "os_live_killkillkillkillkillkill0001",
        &[
            ("ORCHSTACK_WORKER__LEASE_TTL_SECS", "3"),
            ("ORCHSTACK_WORKER__REAP_INTERVAL_SECS", "1"),
        ],
    );
    let mut child = bin.start().await;
    let api = bin.api();
    let (id, _) = running_run(&api, 200, 100).await;
    child.kill().await.unwrap(); // SIGKILL: no chance to clean up
    let _ = child.wait().await;

    let child = bin.start().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = run_status(&api, &id).await;
        if status != "running" {
            let run = api.get(&format!("/v1/runs/{id}"), 200).await;
            assert_eq!(run["status"], "failed", "{run}");
            assert_eq!(run["error"]["code"], "worker_lost", "{run}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run stayed running after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its event stream ends with the failure, so live views learn about it too.
    let res = api
        .request(reqwest::Method::GET, &format!("/v1/runs/{id}/events"))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let last = text.trim_end().rsplit("\n\n").next().unwrap_or_default();
    assert!(
        last.contains("event: run.failed") && last.contains("worker_lost"),
        "{text}"
    );
    stop(child).await;
}

#[tokio::test]
async fn sigterm_lets_a_running_run_finish_before_exit() {
    let bin = Binary::new("os_live_termtermtermtermtermterm0001", &[]);
    let child = bin.start().await;
    let api = bin.api();
    let (id, input) = running_run(&api, 100, 10).await;
    // SIGTERM mid-run: the server stops claiming work, finishes the run, then exits 0.
    stop(child).await;
    let child = bin.start().await;
    let done = api.get(&format!("/v1/runs/{id}"), 200).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["output"], input.as_str());
    stop(child).await;
}
