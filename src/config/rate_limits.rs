//! Per-organisation rate limits, by plan tier.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};

/// One tier's budget: a sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, DocumentedFields)]
pub struct TierLimit {
    /// Requests per minute, sustained.
    pub per_minute: u32,
    /// Requests per second in a burst (how many may come at once).
    pub burst: u32,
}

/// Per-organisation rate limits (GCRA). With `redis_url` set, every instance shares one
/// budget per organisation; without it (or while Redis is unreachable) each instance
/// keeps its own.
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
    /// A GraphQL request costs its complexity divided by this (at least 1 request).
    pub graphql_cost_unit: u32,
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
    }
}
