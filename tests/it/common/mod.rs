//! The test harness: a real server per test, and a small client that states the status
//! it expects (`api.post(path, body, 201)`). Shared calls live in [`calls`], the run
//! tests' local servers and SSE reader in [`run_support`].

pub mod calls;
pub mod run_support;
pub mod webhooks_db;
pub mod ws;

use orchstack::config::Config;
use orchstack::service::{api_keys, orgs};
use orchstack::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// A running server with its own organisation and admin key.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's state (its database, for operator actions like creating orgs).
    pub state: AppState,
    /// The organisation this test works in.
    pub org_id: String,
    /// A `*` key of that organisation.
    pub admin_key: String,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// Server logs go to the test's captured output (shown for failing tests); `RUST_LOG`
/// sets the level (default `warn`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// The database the suite runs on: `DATABASE_URL` when it is PostgreSQL (in a fresh
/// schema per server, so one test's workers never pick up another test's runs), else a
/// fresh SQLite file per server.
async fn database(dir: &tempfile::TempDir) -> (String, Option<String>) {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let schema = orchstack::ids::new_id("t");
            let db = sea_orm::Database::connect(&url)
                .await
                .expect("connect to PostgreSQL");
            sea_orm::ConnectionTrait::execute_unprepared(&db, &format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create the test schema");
            let _ = db.close().await;
            (url, Some(schema))
        }
        _ => (
            format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
            None,
        ),
    }
}

/// The configuration tests run with. Fake tools listen on 127.0.0.1, so the outbound
/// guard allows it (attack tests clear `outbound.allow`). Rate limits stay on (every
/// response carries its headers) but far above what any test sends; the rate-limit
/// tests (`rate_limits/`) put the real tiers back.
pub fn test_config(database_url: String) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url,
        db_max_connections: 5,
        ..Config::default()
    };
    config.outbound.allow = vec!["127.0.0.1".into()];
    let roomy = orchstack::config::TierLimit {
        per_minute: 10_000_000,
        burst: 1_000_000,
    };
    config.rate_limits.free = roomy;
    config.rate_limits.pro = roomy;
    config.rate_limits.enterprise = roomy;
    // The server runs inside the test binary, which has no `render-template` command.
    config.templates.sandbox_exe = Some(env!("CARGO_BIN_EXE_orchstack").into());
    config
}

impl TestServer {
    /// Starts a server on the suite's database with an enterprise organisation.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after letting the test adjust its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, schema) = database(&dir).await;
        let mut config = test_config(url);
        config.database_schema = schema;
        adjust(&mut config);
        Self::start_config(config, Some(dir)).await
    }

    /// Starts a server with exactly this configuration.
    pub async fn start_config(config: Config, dir: Option<tempfile::TempDir>) -> Self {
        init_logs();
        let built = orchstack::build(config).await.expect("server builds");
        let state = built.state;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let serve_state = state.clone();
        let served = tokio::spawn(async move {
            orchstack::serve(serve_state, listener, async {
                let _ = rx.await;
            })
            .await
        });
        let mut server = Self {
            base,
            state,
            org_id: String::new(),
            admin_key: String::new(),
            shutdown: Some(tx),
            served: Some(served),
            _dir: dir,
        };
        let (org_id, admin_key) = server.new_org("enterprise").await;
        server.org_id = org_id;
        server.admin_key = admin_key;
        server
    }

    /// Creates another organisation with a `*` key (operator path, like the CLI).
    pub async fn new_org(&self, tier: &str) -> (String, String) {
        let org = orgs::create(
            &self.state.db,
            "test org",
            orgs::Tier::parse(tier).expect("tier"),
        )
        .await
        .expect("org");
        let key = self.key(&org.id, &["*"], false).await;
        (org.id, key)
    }

    /// Issues a key with these scopes in an organisation.
    pub async fn key(&self, org_id: &str, scopes: &[&str], test: bool) -> String {
        let new = api_keys::NewKey {
            name: "test key".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            test,
        };
        api_keys::issue(&self.state.db, org_id, new, None)
            .await
            .expect("key")
            .secret
    }

    /// A client authenticated as the admin key.
    pub fn api(&self) -> Api {
        self.api_with(Some(&self.admin_key))
    }

    /// A client with this key (or none).
    pub fn api_with(&self, key: Option<&str>) -> Api {
        Api {
            base: self.base.clone(),
            key: key.map(str::to_owned),
            http: reqwest::Client::new(),
        }
    }
}

impl TestServer {
    /// Sends the shutdown signal and waits until `serve` returns (what it returned).
    pub async fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.served.take() {
            Some(served) => served.await.expect("the serve task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A client that asserts the status of each call and returns the JSON body.
#[derive(Clone)]
pub struct Api {
    /// Server base URL.
    pub base: String,
    /// Bearer key, if any.
    pub key: Option<String>,
    /// The HTTP client.
    pub http: reqwest::Client,
}

impl Api {
    /// A request builder with auth set.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        req
    }

    /// Sends and checks the status; returns the JSON body (`null` when empty).
    pub async fn send(&self, req: reqwest::RequestBuilder, expected: u16) -> Value {
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.expect("body");
        assert_eq!(
            status,
            StatusCode::from_u16(expected).unwrap(),
            "unexpected status; body: {text}"
        );
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
        }
    }

    /// GET.
    pub async fn get(&self, path: &str, expected: u16) -> Value {
        self.send(self.request(Method::GET, path), expected).await
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: Value, expected: u16) -> Value {
        self.send(self.request(Method::POST, path).json(&body), expected)
            .await
    }

    /// PATCH a JSON body.
    pub async fn patch(&self, path: &str, body: Value, expected: u16) -> Value {
        self.send(self.request(Method::PATCH, path).json(&body), expected)
            .await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str, expected: u16) -> Value {
        self.send(self.request(Method::DELETE, path), expected)
            .await
    }

    /// A GraphQL POST; returns the whole response body (`data`, `errors`).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.send(
            self.request(Method::POST, "/graphql")
                .json(&json!({ "query": query, "variables": variables })),
            200,
        )
        .await
    }

    /// Creates an agent over REST and returns it.
    pub async fn create_agent(&self, name: &str) -> Value {
        self.post(
            "/v1/agents",
            json!({ "name": name, "model": "mock/echo", "instructions": "Be brief." }),
            201,
        )
        .await
    }
}

/// `/healthz` round trips measured while something else (an attack) runs.
pub struct HealthLatencies(pub Vec<std::time::Duration>);

/// Polls `/healthz` `polls` times, 10 ms apart, and keeps each round trip's time.
pub async fn healthz_latencies(server: &TestServer, polls: usize) -> HealthLatencies {
    let health = server.api_with(None);
    let mut times = Vec::with_capacity(polls);
    for _ in 0..polls {
        let started = std::time::Instant::now();
        health.get("/healthz", 200).await;
        times.push(started.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    HealthLatencies(times)
}

impl HealthLatencies {
    /// Nine polls in ten answered within 100 ms and none took a second. (Not every one
    /// within 100 ms: the suite runs its tests in parallel on a 2-core machine, where a
    /// test thread alone can wait that long for a core. A stalled server answers in
    /// seconds, which this still catches.)
    pub fn assert_responsive(&self) {
        let mut sorted = self.0.clone();
        sorted.sort();
        let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
        let max = *sorted.last().expect("polls");
        assert!(
            p90 < std::time::Duration::from_millis(100) && max < std::time::Duration::from_secs(1),
            "/healthz under attack: p90 {p90:?}, slowest {max:?}"
        );
    }
}
