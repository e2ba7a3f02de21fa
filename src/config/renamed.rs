//! Settings renamed when durations became `"30s"` strings. An old name keeps its
//! meaning (a whole number of seconds or milliseconds); setting both the old and the
//! new name is an error, so that no value changes silently.

use super::check::human;
use figment::providers::Serialized;
use figment::Figment;
use std::time::Duration;

/// The unit of an old `*_secs` / `*_ms` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `*_secs`.
    Seconds,
    /// `*_ms`.
    Milliseconds,
}

/// One renamed setting; `*` stands for any provider name.
#[derive(Debug, Clone, Copy)]
pub struct Renamed {
    /// The old key (`worker.lease_ttl_secs`).
    pub old: &'static str,
    /// The new key (`worker.lease_ttl`), a duration.
    pub new: &'static str,
    /// What the old key's number counted.
    pub unit: Unit,
}

const fn secs(old: &'static str, new: &'static str) -> Renamed {
    Renamed {
        old,
        new,
        unit: Unit::Seconds,
    }
}

const fn millis(old: &'static str, new: &'static str) -> Renamed {
    Renamed {
        old,
        new,
        unit: Unit::Milliseconds,
    }
}

/// Every renamed setting.
pub const RENAMED: &[Renamed] = &[
    secs("auth_cache_ttl_secs", "auth_cache_ttl"),
    secs("runs.timeout_secs", "runs.timeout"),
    secs("runs.wait_timeout_secs", "runs.wait_timeout"),
    secs("worker.lease_ttl_secs", "worker.lease_ttl"),
    millis("worker.poll_interval_ms", "worker.poll_interval"),
    secs("worker.reap_interval_secs", "worker.reap_interval"),
    secs("worker.shutdown_grace_secs", "worker.shutdown_grace"),
    secs("shutdown.timeout_secs", "shutdown.timeout"),
    millis("outbound.max_timeout_ms", "outbound.max_timeout"),
    millis("templates.timeout_ms", "templates.timeout"),
    millis(
        "providers.*.connect_timeout_ms",
        "providers.*.connect_timeout",
    ),
    millis("providers.*.idle_timeout_ms", "providers.*.idle_timeout"),
    millis(
        "providers.*.retry_base_delay_ms",
        "providers.*.retry_base_delay",
    ),
    millis(
        "providers.*.retry_max_delay_ms",
        "providers.*.retry_max_delay",
    ),
    millis(
        "providers.*.max_retry_after_ms",
        "providers.*.max_retry_after",
    ),
];

/// Reads the old names that `user` (the file and environment layers, without the
/// defaults) sets and returns them under their new names, to merge last, with one
/// note per old name used. Fails when a key is set under both names or the old one is
/// not a whole number.
pub(super) fn translate(user: &Figment) -> anyhow::Result<(Figment, Vec<String>)> {
    let providers: Vec<String> = user
        .find_value("providers")
        .ok()
        .and_then(|v| v.into_dict())
        .map(|d| d.into_keys().collect())
        .unwrap_or_default();
    let mut out = Figment::new();
    let mut notes = Vec::new();
    for r in RENAMED {
        let names: Vec<(String, String)> = match r.old.contains('*') {
            false => vec![(r.old.to_string(), r.new.to_string())],
            true => providers
                .iter()
                .map(|p| (r.old.replace('*', p), r.new.replace('*', p)))
                .collect(),
        };
        for (old, new) in names {
            if !user.contains(&old) {
                continue;
            }
            anyhow::ensure!(
                !user.contains(&new),
                "{old} and {new} are both set; {old} is the old name of {new}: keep only {new}"
            );
            let unit = match r.unit {
                Unit::Seconds => "seconds",
                Unit::Milliseconds => "milliseconds",
            };
            let n: u64 = user.extract_inner(&old).map_err(|e| {
                anyhow::anyhow!(
                    "{old} (the old name of {new}) must be a whole number of {unit}: {e}"
                )
            })?;
            let value = human(match r.unit {
                Unit::Seconds => Duration::from_secs(n),
                Unit::Milliseconds => Duration::from_millis(n),
            });
            notes.push(format!(
                "{old} is deprecated and was read as {new} = \"{value}\"; write that instead"
            ));
            out = out.merge(Serialized::default(&new, value));
        }
    }
    Ok((out, notes))
}
