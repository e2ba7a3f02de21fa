//! Requests to URLs tenants give.

use super::check::{bytes, Checks};
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Requests to URLs tenants give.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct OutboundConfig {
    /// What tenants may reach besides public addresses: CIDRs (`10.0.0.0/8`), addresses
    /// (`127.0.0.1`), host names (`tools.internal`) or suffixes (`*.corp.example`).
    /// Cloud metadata addresses stay refused.
    pub allow: Vec<String>,
    /// Largest answer read, in bytes; a larger one is an error.
    pub max_response_bytes: usize,
    /// Longest timeout a tenant may set (a tool's `timeout_ms`).
    #[serde(with = "humantime_serde")]
    pub max_timeout: Duration,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            max_response_bytes: 1024 * 1024,
            max_timeout: Duration::from_secs(60),
        }
    }
}

impl OutboundConfig {
    /// `allow` is checked where it is parsed, by `Outbound::new` at boot.
    pub(super) fn check(&self, c: &mut Checks) {
        let (min, max) = (1usize << 10, 1usize << 30);
        let range = format!("{} to {}", bytes(min as u64), bytes(max as u64));
        c.number_in(
            "outbound.max_response_bytes",
            self.max_response_bytes,
            min,
            max,
            range,
        );
        let (ms, hour) = (Duration::from_millis(1), Duration::from_secs(3600));
        c.duration("outbound.max_timeout", self.max_timeout, ms, hour);
    }
}
