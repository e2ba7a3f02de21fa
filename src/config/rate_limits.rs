//! Per-organisation rate limits, by plan tier.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One tier's budget: a sustained rate and a burst (GCRA: `burst` requests at once, then
/// one more every `60 s / per_minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, DocumentedFields)]
pub struct TierLimit {
    /// Requests per minute, sustained.
    pub per_minute: u32,
    /// Requests per second in a burst (how many may come at once).
    pub burst: u32,
}

/// Per-organisation rate limits (GCRA) on every `/v1` and `/graphql` request. With
/// `redis_url` set, every instance shares one budget per organisation; without it (or
/// while Redis is unreachable) each instance keeps its own. An organisation's row may
/// override its tier's numbers (`requests_per_minute`, `burst_per_second`).
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct RateLimitsConfig {
    /// Whether requests are limited at all.
    pub enabled: bool,
    /// The Free tier's budget.
    pub free: TierLimit,
    /// The Pro tier's budget.
    pub pro: TierLimit,
    /// The Enterprise tier's budget.
    pub enterprise: TierLimit,
    /// A GraphQL request costs its complexity divided by this (at least 1 request, at
    /// most the burst). A WebSocket costs 1 at `connection_init` and 1 per `subscribe`.
    pub graphql_cost_unit: u32,
    /// How long a check may wait for Redis before this instance limits on its own.
    #[serde(with = "humantime_serde")]
    pub redis_timeout: Duration,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            free: TierLimit {
                per_minute: 100,
                burst: 20,
            },
            pro: TierLimit {
                per_minute: 1_000,
                burst: 100,
            },
            enterprise: TierLimit {
                per_minute: 10_000,
                burst: 1_000,
            },
            graphql_cost_unit: 100,
            redis_timeout: Duration::from_millis(100),
        }
    }
}

impl RateLimitsConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        for (name, t) in [
            ("free", self.free),
            ("pro", self.pro),
            ("enterprise", self.enterprise),
        ] {
            c.number(
                &format!("rate_limits.{name}.per_minute"),
                t.per_minute,
                1,
                100_000_000,
            );
            c.number(&format!("rate_limits.{name}.burst"), t.burst, 1, 10_000_000);
        }
        c.number(
            "rate_limits.graphql_cost_unit",
            self.graphql_cost_unit,
            1,
            1_000_000,
        );
        c.duration(
            "rate_limits.redis_timeout",
            self.redis_timeout,
            Duration::from_millis(1),
            Duration::from_secs(10),
        );
    }
}
