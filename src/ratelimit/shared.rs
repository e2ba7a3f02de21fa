//! The budget every instance shares: one GCRA script per check in Redis (`gcra.lua`,
//! sent by its SHA with EVALSHA, loaded on a miss). Each call is bounded by a short
//! timeout; a failed or late call makes the caller fall back to its in-process limiter.
//! While Redis is down, one request a second tries it again (the others go straight to
//! the in-process limiter, so an unreachable Redis costs no request a timeout); the
//! change is logged once each way.

use super::{Decision, Quota};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Every key of the limiter starts with this (the organisation id follows).
const PREFIX: &str = "orchstack:ratelimit:";
/// How often an instance that lost Redis tries it again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The Redis side of the limiter.
pub(super) struct Shared {
    conn: ConnectionManager,
    script: redis::Script,
    timeout: Duration,
    /// Whether the last call failed (the budgets are this instance's own meanwhile).
    down: AtomicBool,
    /// While down: when (ms after `epoch`) the next call may try Redis.
    probe_at: AtomicU64,
    outages: AtomicU64,
    epoch: Instant,
}

impl Shared {
    /// Prepares the connection (made on first use, remade after a failure).
    pub(super) fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        Ok(Self {
            conn: ConnectionManager::new_lazy_with_config(client, config)?,
            script: redis::Script::new(include_str!("gcra.lua")),
            timeout,
            down: AtomicBool::new(false),
            probe_at: AtomicU64::new(0),
            outages: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// The shared decision, or `None` when Redis did not give one in time (or is known
    /// to be down and it is not this call's turn to try it).
    pub(super) async fn check(&self, key: &str, quota: Quota, cost: u32) -> Option<Decision> {
        if !self.may_try() {
            return None;
        }
        let mut conn = self.conn.clone();
        let mut call = self.script.prepare_invoke();
        call.key(format!("{PREFIX}{key}"))
            .arg(quota.interval().as_secs_f64() * 1e6)
            .arg(quota.burst)
            .arg(cost);
        let answer = tokio::time::timeout(
            self.timeout,
            call.invoke_async::<(i64, i64, i64, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((allowed, remaining, reset, retry_after))) => {
                self.answered();
                Some(Decision {
                    allowed: allowed == 1,
                    quota,
                    remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
                    reset: micros(reset),
                    retry_after: micros(retry_after),
                })
            }
            Ok(Err(err)) => {
                self.failed(&err.to_string());
                None
            }
            Err(_) => {
                self.failed(&format!("no answer within {:?}", self.timeout));
                None
            }
        }
    }

    /// Whether Redis answered the last call.
    pub(super) fn is_up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    /// How many times Redis went down.
    pub(super) fn outages(&self) -> u64 {
        self.outages.load(Ordering::Relaxed)
    }

    /// Up: always. Down: one caller a [`PROBE_EVERY`].
    fn may_try(&self) -> bool {
        if self.is_up() {
            return true;
        }
        let now = self.now_ms();
        let due = self.probe_at.load(Ordering::Relaxed);
        now >= due
            && self
                .probe_at
                .compare_exchange(due, now + probe_ms(), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    fn failed(&self, why: &str) {
        self.probe_at
            .store(self.now_ms() + probe_ms(), Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            self.outages.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                error = why,
                "rate limits: Redis is unreachable; each instance limits on its own until it answers again"
            );
        }
    }

    fn answered(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("rate limits: Redis answers again; budgets are shared again");
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

fn probe_ms() -> u64 {
    PROBE_EVERY.as_millis() as u64
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}
