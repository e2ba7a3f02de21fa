//! Per-organisation rate limits: GCRA (the generic cell rate algorithm, a token bucket
//! kept as one timestamp per key). In-process with the `governor` crate; with
//! `redis_url`, one Lua script per check in Redis so that every instance spends one
//! shared budget. If Redis cannot answer, the instance falls back to its own limiter (and
//! says so once), so an outage of the limiter never becomes an outage of the API.
//!
//! This module knows keys, quotas and costs; who the key belongs to and how a decision
//! is shown to a client (headers, a 429) is the HTTP layer's (`http::rate_limit`).

mod local;
mod shared;

use crate::config::{RateLimitsConfig, TierLimit};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A budget: `burst` requests at once, refilled at `per_minute` a minute (one every
/// `60 s / per_minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Sustained requests per minute (at least 1).
    pub per_minute: u32,
    /// How many requests may come at once (at least 1).
    pub burst: u32,
}

impl Quota {
    /// The time one request's share takes to come back (GCRA's emission interval).
    pub fn interval(self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }

    /// How long an empty budget takes to fill again, in whole seconds (rounded up, at
    /// least 1): the window in which `burst` requests are allowed.
    pub fn window_secs(self) -> u64 {
        ceil_secs(self.interval() * self.burst.max(1)).max(1)
    }
}

impl From<TierLimit> for Quota {
    fn from(t: TierLimit) -> Self {
        Self {
            per_minute: t.per_minute.max(1),
            burst: t.burst.max(1),
        }
    }
}

/// The outcome of one check, with the state the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go ahead (its cost was spent).
    pub allowed: bool,
    /// The quota the decision was made under.
    pub quota: Quota,
    /// Requests that could still be made at once.
    pub remaining: u32,
    /// Until the budget is full again.
    pub reset: Duration,
    /// When refused: until the same request would be allowed (zero when allowed).
    pub retry_after: Duration,
}

impl Decision {
    /// `reset` in whole seconds, rounded up.
    pub fn reset_secs(&self) -> u64 {
        ceil_secs(self.reset)
    }

    /// `retry_after` in whole seconds, rounded up (at least 1 for a refusal, since a
    /// client told 0 would retry at once and be refused again).
    pub fn retry_after_secs(&self) -> u64 {
        let secs = ceil_secs(self.retry_after);
        if self.allowed {
            secs
        } else {
            secs.max(1)
        }
    }
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// How often keys whose budget is full again are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Forgets full budgets now and then (a full budget and no entry are the same), so the
/// in-process limiter holds only the organisations active lately. Stops with the limiter.
fn sweep_now_and_then(limiter: Weak<Limiter>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            match limiter.upgrade() {
                Some(limiter) => limiter.local.sweep(),
                None => return,
            }
        }
    });
}

/// The limiter every request of this instance is checked against.
pub struct Limiter {
    local: local::Local,
    shared: Option<shared::Shared>,
}

impl Limiter {
    /// An in-process limiter, sharing its budgets through Redis when `redis_url` is set.
    /// Never fails for want of Redis: the connection is made on first use (a bad URL is
    /// refused here).
    pub fn new(config: &RateLimitsConfig, redis_url: Option<&str>) -> anyhow::Result<Arc<Self>> {
        let shared = match redis_url {
            Some(url) => Some(shared::Shared::new(url, config.redis_timeout)?),
            None => None,
        };
        let limiter = Arc::new(Self {
            local: local::Local::default(),
            shared,
        });
        sweep_now_and_then(Arc::downgrade(&limiter));
        Ok(limiter)
    }

    /// Spends `cost` requests of `key`'s budget, if it has them. A cost above the burst
    /// is charged as the whole burst: a request that could never fit would otherwise be
    /// refused for ever, each refusal telling the client to come back later.
    pub async fn check(&self, key: &str, quota: Quota, cost: u32) -> Decision {
        let cost = cost.clamp(1, quota.burst.max(1));
        if let Some(shared) = &self.shared {
            if let Some(decision) = shared.check(key, quota, cost).await {
                return decision;
            }
        }
        self.local.check(key, quota, cost)
    }

    /// Whether budgets are shared through Redis right now (false without Redis, and while
    /// Redis cannot be reached and each instance counts on its own).
    pub fn is_shared(&self) -> bool {
        self.shared.as_ref().is_some_and(shared::Shared::is_up)
    }

    /// How many times Redis has become unreachable since start-up (each time is logged
    /// once, and once more when it answers again).
    pub fn outages(&self) -> u64 {
        self.shared.as_ref().map_or(0, shared::Shared::outages)
    }
}
