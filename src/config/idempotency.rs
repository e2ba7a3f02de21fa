//! Idempotency keys.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Idempotency keys (`Idempotency-Key` on POST, PATCH, DELETE and GraphQL mutations).
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct IdempotencyConfig {
    /// Whether `Idempotency-Key` is honoured (off: the header is ignored, as if the
    /// layer were not there; for measuring its cost).
    pub enabled: bool,
    /// How long a key's answer is kept (and replayed).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// How long a request holds its key before another request may take it over (when
    /// its instance died before committing). Longer than any request takes.
    #[serde(with = "humantime_serde")]
    pub lock_ttl: Duration,
    /// How often the workers prune expired keys (on PostgreSQL one instance at a time).
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl: Duration::from_secs(24 * 3600),
            lock_ttl: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(60),
        }
    }
}

impl IdempotencyConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        let (second, week) = (Duration::from_secs(1), Duration::from_secs(7 * 24 * 3600));
        c.duration("idempotency.ttl", self.ttl, second, week);
        c.duration("idempotency.lock_ttl", self.lock_ttl, second, week);
        let (ms, day) = (Duration::from_millis(10), Duration::from_secs(24 * 3600));
        c.duration("idempotency.sweep_interval", self.sweep_interval, ms, day);
    }
}
