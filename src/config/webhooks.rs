//! Outgoing webhooks: endpoints, attempts, the retry schedule, delivery workers.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Outgoing webhooks.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct WebhooksConfig {
    /// Most endpoints one organisation may have.
    pub max_endpoints: usize,
    /// How long one attempt may take before it counts as failed.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Waits before each retry after the first attempt (which is at once); past the last,
    /// the delivery has failed. Each wait varies by ±`jitter`.
    #[serde(with = "durations")]
    pub schedule: Vec<Duration>,
    /// How much each wait of the schedule varies, as a fraction (0.2 = ±20%).
    pub jitter: f64,
    /// Longest `Retry-After` (on 429 and 503) honoured; a longer one is cut to this.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// An endpoint whose every attempt has failed for this long is disabled.
    #[serde(with = "humantime_serde")]
    pub disable_after: Duration,
    /// After a secret rotation, how long the old secret still signs beside the new one.
    #[serde(with = "humantime_serde")]
    pub rotation_grace: Duration,
    /// Deliveries one instance sends at once, in all.
    pub concurrency: usize,
    /// Deliveries in flight to one endpoint at once, across all instances, at most: one
    /// slow receiver cannot take every worker.
    pub per_endpoint_concurrency: usize,
    /// How often delivery workers look for due deliveries when nothing woke them.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Run the delivery workers on this instance.
    pub enabled: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        let (s, m, h) = (1, 60, 3600);
        Self {
            max_endpoints: 16,
            timeout: Duration::from_secs(15),
            schedule: [5 * s, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 10 * h]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(h),
            disable_after: Duration::from_secs(5 * 24 * h),
            rotation_grace: Duration::from_secs(24 * h),
            concurrency: 64,
            per_endpoint_concurrency: 16,
            poll_interval: Duration::from_secs(1),
            enabled: true,
        }
    }
}

impl WebhooksConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        c.number("webhooks.max_endpoints", self.max_endpoints, 1, 10_000);
        let (ms, hour, day) = (
            Duration::from_millis(1),
            Duration::from_secs(3600),
            Duration::from_secs(24 * 3600),
        );
        c.duration(
            "webhooks.timeout",
            self.timeout,
            ms,
            Duration::from_secs(300),
        );
        c.rule(
            "webhooks.schedule",
            self.schedule.len() <= 50,
            "must have at most 50 waits",
            "",
        );
        for (i, wait) in self.schedule.iter().enumerate() {
            c.duration(
                &format!("webhooks.schedule[{i}]"),
                *wait,
                Duration::ZERO,
                7 * day,
            );
        }
        c.number("webhooks.jitter", self.jitter, 0.0, 0.9);
        c.duration(
            "webhooks.max_retry_after",
            self.max_retry_after,
            Duration::ZERO,
            day,
        );
        c.duration("webhooks.disable_after", self.disable_after, ms, 365 * day);
        c.duration(
            "webhooks.rotation_grace",
            self.rotation_grace,
            Duration::ZERO,
            30 * day,
        );
        c.number("webhooks.concurrency", self.concurrency, 1, 10_000);
        c.number(
            "webhooks.per_endpoint_concurrency",
            self.per_endpoint_concurrency,
            1,
            10_000,
        );
        c.duration(
            "webhooks.poll_interval",
            self.poll_interval,
            Duration::from_millis(10),
            hour,
        );
    }
}

/// A list of durations written the humantime way (`["5s", "5m"]`).
mod durations {
    use humantime_serde::Serde;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| Serde::from(*d)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        let v: Vec<Serde<Duration>> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(Serde::into_inner).collect())
    }
}
