//! Runs: their limits and prices, and the workers that execute them.

use super::check::{key_part, Checks};
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

/// Run limits and the price table.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct RunsConfig {
    /// A run still going after this long ends `failed` with `timeout`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Model steps per run unless the agent's `model_settings.max_steps` says otherwise.
    pub max_steps: u32,
    /// Most model steps an agent may ask for in `model_settings.max_steps` (checked when
    /// saved; runs of agents saved with more are held to this).
    pub max_steps_limit: u32,
    /// How long a synchronous run request waits before answering 202.
    #[serde(with = "humantime_serde")]
    pub wait_timeout: Duration,
    /// How long cancelling a running run waits for it to end before answering with the
    /// run still going (REST: 202); 0 answers at once.
    #[serde(with = "humantime_serde")]
    pub cancel_wait: Duration,
    /// Price per million tokens by `provider/model` (e.g. `"openai/gpt-4o-mini"`);
    /// models not listed cost 0.
    pub prices: BTreeMap<String, Price>,
}

/// A model's price per million tokens.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, DocumentedFields)]
pub struct Price {
    /// Per million prompt tokens.
    pub input: f64,
    /// Per million completion tokens.
    pub output: f64,
}

impl RunsConfig {
    /// The cost of a model call.
    pub fn cost(&self, model: &str, input: u64, output: u64) -> f64 {
        self.prices
            .get(model)
            .map(|p| (p.input * input as f64 + p.output * output as f64) / 1e6)
            .unwrap_or(0.0)
    }

    pub(super) fn check(&self, c: &mut Checks) {
        c.duration("runs.timeout", self.timeout, SECOND, 7 * 24 * HOUR);
        c.number("runs.max_steps_limit", self.max_steps_limit, 1, 1_000);
        c.number_in(
            "runs.max_steps",
            self.max_steps,
            1,
            self.max_steps_limit,
            "1 to runs.max_steps_limit".into(),
        );
        c.duration("runs.wait_timeout", self.wait_timeout, Duration::ZERO, HOUR);
        c.duration(
            "runs.cancel_wait",
            self.cancel_wait,
            Duration::ZERO,
            60 * SECOND,
        );
        for (model, price) in &self.prices {
            for (field, value) in [("input", price.input), ("output", price.output)] {
                // NaN fails both comparisons, so it is refused too.
                c.number(
                    &format!("runs.prices.{}.{field}", key_part(model)),
                    value,
                    0.0,
                    1_000_000.0,
                );
            }
        }
    }
}

impl Default for RunsConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            max_steps: 8,
            max_steps_limit: 64,
            wait_timeout: Duration::from_secs(30),
            cancel_wait: Duration::from_secs(2),
            prices: BTreeMap::new(),
        }
    }
}

/// The run workers of this instance.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct WorkerConfig {
    /// Execute runs on this instance.
    pub enabled: bool,
    /// Runs executed at once.
    pub concurrency: usize,
    /// An instance not heard from for this long is taken for dead, and its runs for
    /// orphans (each instance renews its one liveness row every third of it, at least
    /// every second).
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// How often to look for work when not woken (other instances' runs).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How often to look for runs of dead instances.
    #[serde(with = "humantime_serde")]
    pub reap_interval: Duration,
    /// On shutdown, how long in-flight runs may take to finish.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            concurrency: 64,
            lease_ttl: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            reap_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

impl WorkerConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        // 0 would build a semaphore that never lets a run be claimed.
        c.number("worker.concurrency", self.concurrency, 1, 10_000);
        c.duration("worker.lease_ttl", self.lease_ttl, SECOND, HOUR);
        let ten_ms = Duration::from_millis(10);
        c.duration("worker.poll_interval", self.poll_interval, ten_ms, HOUR);
        c.duration("worker.reap_interval", self.reap_interval, SECOND, HOUR);
        c.duration(
            "worker.shutdown_grace",
            self.shutdown_grace,
            Duration::ZERO,
            HOUR,
        );
    }
}
