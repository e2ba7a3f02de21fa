//! Nothing lost across a crash: the real binary, killed with SIGKILL. An ending
//! committed but not yet delivered is delivered after the restart under its original
//! id; a delivery in flight when the server died is sent again (at-least-once), with
//! the same id, once the reaper sees its instance dead.

use super::*;
use crate::common::webhooks_db::*;
use crate::common::*;
use crate::server::{free_port, wait_ready};
use entity::webhook_deliveries::DeliveryStatus;
use sea_orm::EntityTrait;
use std::process::Stdio;
use tokio::process::Child;

const KEY: &str = "os_live_webhookkillwebhookkill000001";

/// The binary on one SQLite file, with a config file; `env` overrides per start.
struct Binary {
    dir: tempfile::TempDir,
    port: u16,
}

impl Binary {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("orchstack.toml"), config).unwrap();
        Self {
            dir,
            port: free_port(),
        }
    }

    fn db_url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.dir.path().join("wh.db").display()
        )
    }

    fn api(&self) -> Api {
        Api {
            base: format!("http://127.0.0.1:{}", self.port),
            key: Some(KEY.into()),
            http: reqwest::Client::new(),
        }
    }

    async fn start(&self, env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orchstack"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", self.db_url())
            .env("ORCHSTACK_CONFIG", self.dir.path().join("orchstack.toml"))
            .env("ORCHSTACK_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("ORCHSTACK_BOOTSTRAP_KEY", KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start the server");
        wait_ready(&self.api().base).await;
        child
    }

    async fn db(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.db_url())
            .await
            .expect("open the database")
    }
}

const CONFIG: &str = r#"
[outbound]
allow = ["127.0.0.1"]

[webhooks]
schedule = ["50ms", "50ms", "50ms"]
jitter = 0.0
poll_interval = "20ms"

[worker]
lease_ttl = "3s"
reap_interval = "1s"
"#;

/// The default organisation (the bootstrap key's).
async fn org_id(db: &sea_orm::DatabaseConnection) -> String {
    entity::organizations::Entity::find()
        .one(db)
        .await
        .unwrap()
        .expect("the bootstrap organisation")
        .id
}

async fn completed_run(api: &Api) -> String {
    let agent = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "mock/echo" }),
            201,
        )
        .await;
    let run = api
        .post(
            &format!("/v1/agents/{}/run", agent["id"].as_str().unwrap()),
            json!({ "input": "hello" }),
            200,
        )
        .await;
    assert_eq!(run["status"], "completed", "{run}");
    run["run_id"].as_str().unwrap().to_owned()
}

async fn kill(mut child: Child) {
    child.kill().await.unwrap(); // SIGKILL: no chance to clean up
    let _ = child.wait().await;
}

#[tokio::test]
async fn an_ending_committed_before_a_kill_is_delivered_after_the_restart() {
    let bin = Binary::new(CONFIG);
    let r = Receiver::start(|_| Answer::status(200)).await;
    // Deliveries off: the ending commits its event, and nothing sends it.
    let child = bin.start(&[("ORCHSTACK_WEBHOOKS__ENABLED", "false")]).await;
    let db = bin.db().await;
    let e = insert_endpoint(&db, &org_id(&db).await, &r.url, json!(["*"])).await;
    let run = completed_run(&bin.api()).await;
    let d = deliveries(&db, &e.id).await;
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].status, d[0].attempts), (DeliveryStatus::Pending, 0));
    kill(child).await;
    assert!(r.got().is_empty());

    let child = bin.start(&[]).await;
    let got = r.wait_for(1, 15).await;
    assert_eq!(got[0].header("webhook-id"), d[0].event_id);
    assert_eq!(got[0].json()["data"]["run_id"], run.as_str());
    assert_signed(&e.secret, &got).await;
    kill(child).await;
}

#[tokio::test]
async fn a_delivery_in_flight_when_the_server_died_is_sent_again_with_its_id() {
    let bin = Binary::new(CONFIG);
    // The first request hangs (the server dies waiting); the next ones succeed.
    let r = Receiver::start(|n| Answer {
        status: 200,
        wait_ms: if n == 0 { 60_000 } else { 0 },
        headers: Vec::new(),
    })
    .await;
    let child = bin.start(&[]).await;
    let db = bin.db().await;
    let e = insert_endpoint(&db, &org_id(&db).await, &r.url, json!(["*"])).await;
    completed_run(&bin.api()).await;
    let first = r.wait_for(1, 10).await;
    let d = deliveries(&db, &e.id).await;
    assert_eq!(d[0].status, DeliveryStatus::Sending);
    kill(child).await;

    // Another instance's reaper takes the dead instance's delivery back (lease TTL 3 s).
    let child = bin.start(&[]).await;
    let got = r.wait_for(2, 20).await;
    assert_eq!(got[1].header("webhook-id"), first[0].header("webhook-id"));
    assert_signed(&e.secret, &got[1..]).await;
    eventually(5, "the delivery succeeded", || async {
        let d = deliveries(&db, &e.id).await;
        (d[0].status == DeliveryStatus::Succeeded).then_some(())
    })
    .await;
    kill(child).await;
}
