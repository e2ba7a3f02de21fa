//! The shared budget: two instances on one Redis spend one budget per organisation, and
//! an instance whose Redis goes away keeps answering, limiting on its own, and says so
//! once.

use super::*;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Two servers with the real limits on the suite's PostgreSQL and Redis.
async fn pair() -> (TestServer, TestServer) {
    let db = std::env::var("DATABASE_URL").unwrap_or_default();
    assert!(
        db.starts_with("postgres"),
        "needs DATABASE_URL=postgres://..."
    );
    let redis = std::env::var("REDIS_URL").expect("needs REDIS_URL=redis://...");
    let r = redis.clone();
    let a = TestServer::start_with(move |c| {
        c.rate_limits = RateLimitsConfig::default();
        c.redis_url = Some(r);
    })
    .await;
    let schema = a.state.config.database_schema.clone();
    let b = TestServer::start_with(move |c| {
        c.rate_limits = RateLimitsConfig::default();
        c.redis_url = Some(redis);
        c.database_schema = schema;
        c.worker.enabled = false;
    })
    .await;
    (a, b)
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: DATABASE_URL=postgres://... REDIS_URL=redis://... (CI's second pass)"]
async fn two_instances_share_one_budget_through_redis() {
    let (a, b) = pair().await;
    // 100 at once, then 100 a second: over 3 s, 400 in all, whichever instance is asked.
    let api_a = org_with(&a, "free", 6_000, 100).await;
    let api_b = b.api_with(api_a.key.as_deref());
    let window = Duration::from_secs(3);
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let api = if i % 2 == 0 {
                api_a.clone()
            } else {
                api_b.clone()
            };
            let (accepted, refused) = (accepted.clone(), refused.clone());
            tokio::spawn(async move {
                while started.elapsed() < window {
                    match get(&api, "/v1/agents").await.status {
                        200 => accepted.fetch_add(1, Ordering::Relaxed),
                        429 => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("status {other}"),
                    };
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("client");
    }
    let (accepted, refused) = (
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    let budget = 100.0 + 100.0 * window.as_secs_f64();
    assert!(
        refused > 0,
        "the clients must ask for more than the budget ({accepted} accepted)"
    );
    let off = (accepted as f64 - budget).abs() / budget;
    assert!(
        off <= 0.05,
        "{accepted} accepted in {window:?} (budget {budget}, {refused} refused): {:.1}% off",
        off * 100.0
    );
    assert_eq!(a.state.rate_limits.limiter().outages(), 0);
    assert_eq!(b.state.rate_limits.limiter().outages(), 0);
}

/// A Redis of the test's own on a free port (never the shared one), shut down by the
/// test (or when dropped).
struct OwnRedis {
    port: u16,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    fn start_on(port: u16) -> Self {
        let started = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "yes"])
            .status()
            .expect("redis-server on PATH");
        assert!(started.success(), "redis-server did not start");
        let redis = Self { port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["ping"]) != "PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server on {port} never answered"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli on PATH");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn shut_down(&self) {
        self.cli(&["shutdown", "nosave"]);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.shut_down();
    }
}

#[tokio::test]
#[ignore = "needs redis-server and redis-cli on PATH (CI's second pass)"]
async fn when_redis_goes_away_each_instance_limits_on_its_own_and_says_so_once() {
    let redis = OwnRedis::start();
    let url = redis.url();
    let s = TestServer::start_with(move |c| {
        c.rate_limits = RateLimitsConfig::default();
        c.redis_url = Some(url);
    })
    .await;
    let (org, key) = s.new_org("free").await;
    // Five at once, one more a minute.
    set_org(&s, &org, None, Some((1, 5))).await;
    let api = s.api_with(Some(&key));
    assert_eq!(
        statuses(&at_once(&api, "/v1/agents", 2).await),
        vec![200; 2]
    );
    let limiter = s.state.rate_limits.limiter().clone();
    assert!(limiter.is_shared());
    assert_eq!(
        redis.cli(&["exists", &format!("orchstack:ratelimit:{org}")]),
        "1",
        "the budget lives in Redis"
    );

    redis.shut_down();
    // The instance's own budget for the organisation is untouched (5): it answers at
    // once, limits, and reports the budget as before.
    let started = Instant::now();
    let mut seen = Vec::new();
    for _ in 0..8 {
        let r = get(&api, "/v1/agents").await;
        assert!(budget(&r).quota == 5, "headers while Redis is down");
        seen.push(r.status);
    }
    assert_eq!(seen, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a Redis outage must not slow requests down: {:?}",
        started.elapsed()
    );
    assert!(!limiter.is_shared());
    assert_eq!(limiter.outages(), 1, "one outage, logged once");

    // Redis back on the same port: within a few probes the budget is shared again.
    let again = OwnRedis::start_on(redis.port);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !limiter.is_shared() {
        assert!(Instant::now() < deadline, "Redis never taken back");
        let r = get(&api, "/v1/agents").await;
        assert!(r.status == 200 || r.status == 429, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(limiter.outages(), 1);
    drop(again);
}
