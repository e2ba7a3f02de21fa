//! Percentiles and error tallies.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Nearest-rank percentile `p` (0–100) of sorted samples; `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50 / p90 / p99 / max / mean of `samples` (milliseconds), rounded to 0.001.
pub fn summary(samples: &mut [f64]) -> Value {
    samples.sort_by(f64::total_cmp);
    let r = |v: Option<f64>| v.map(|v| (v * 1000.0).round() / 1000.0);
    let mean = if samples.is_empty() {
        None
    } else {
        Some(samples.iter().sum::<f64>() / samples.len() as f64)
    };
    json!({
        "n": samples.len(),
        "p50": r(percentile(samples, 50.0)),
        "p90": r(percentile(samples, 90.0)),
        "p99": r(percentile(samples, 99.0)),
        "max": r(samples.last().copied()),
        "mean": r(mean),
    })
}

/// Counts of failures by kind (`"500"`, `"200 status=failed"`, `"transport: ..."`).
#[derive(Default)]
pub struct Errors(pub BTreeMap<String, u64>);

impl Errors {
    /// One more `kind`.
    pub fn add(&mut self, kind: impl Into<String>) {
        *self.0.entry(kind.into()).or_default() += 1;
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: Errors) {
        for (k, n) in other.0 {
            *self.0.entry(k).or_default() += n;
        }
    }

    /// Total failures.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, n)| (k.clone(), json!(n)))
                .collect::<Map<_, _>>(),
        )
    }
}

/// Rounds to `digits` decimals.
pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
