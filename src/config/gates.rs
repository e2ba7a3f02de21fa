//! Approval gates.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Approval gates.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct GatesConfig {
    /// How long a gate waits when its tool's `approval.timeout_s` does not say (held to
    /// `max_timeout` too).
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// Longest wait a tool may ask for (`approval.timeout_s`).
    #[serde(with = "humantime_serde")]
    pub max_timeout: Duration,
    /// How often the workers look for gates past their time (the expiry sweep).
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
}

impl Default for GatesConfig {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(24 * 3600),
            max_timeout: Duration::from_secs(30 * 24 * 3600),
            sweep_interval: Duration::from_secs(5),
        }
    }
}

impl GatesConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        let (second, month) = (Duration::from_secs(1), Duration::from_secs(30 * 24 * 3600));
        c.duration("gates.default_timeout", self.default_timeout, second, month);
        c.duration("gates.max_timeout", self.max_timeout, second, month);
        let (ms, hour) = (Duration::from_millis(10), Duration::from_secs(3600));
        c.duration("gates.sweep_interval", self.sweep_interval, ms, hour);
    }
}
