//! Range checks. Each section states its ranges once, in a `check` method; the same
//! walk refuses a bad value at boot and tells the example file what each key allows.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

/// What a walk over the configuration found: every key's allowed range, and the
/// values outside theirs.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    /// `key → "1 to 10000"` for every key checked.
    pub ranges: BTreeMap<String, String>,
    /// One sentence per value out of its range, naming the key.
    pub errors: Vec<String>,
}

impl Checks {
    /// `value` must be within `min..=max`.
    pub fn number<T: PartialOrd + Display>(&mut self, key: &str, value: T, min: T, max: T) {
        let range = format!("{min} to {max}");
        self.number_in(key, value, min, max, range);
    }

    /// `value` must be within `min..=max`, a range described as `range` (for bounds
    /// that are other keys, or sizes better read in MiB).
    pub fn number_in<T: PartialOrd + Display>(
        &mut self,
        key: &str,
        value: T,
        min: T,
        max: T,
        range: String,
    ) {
        if !(min <= value && value <= max) {
            self.errors
                .push(format!("{key} = {value} is out of range: must be {range}"));
        }
        self.ranges.insert(key.to_string(), range);
    }

    /// `value` must be within `min..=max`.
    pub fn duration(&mut self, key: &str, value: Duration, min: Duration, max: Duration) {
        let range = format!("{} to {}", human(min), human(max));
        if !(min..=max).contains(&value) {
            self.errors.push(format!(
                "{key} = \"{}\" is out of range: must be {range}",
                human(value)
            ));
        }
        self.ranges.insert(key.to_string(), range);
    }

    /// A rule that is not a range (a format, a file that must exist): `ok` or the
    /// error `{key} {rule}`; `rule` is also what the example file says.
    pub fn rule(&mut self, key: &str, ok: bool, rule: &str, detail: impl Display) {
        if !ok {
            self.errors.push(format!("{key} {rule}{detail}"));
        }
        self.ranges.insert(key.to_string(), rule.to_string());
    }

    /// Fails with every error found, or passes.
    pub fn into_result(self) -> anyhow::Result<()> {
        match self.errors.is_empty() {
            true => Ok(()),
            false => Err(anyhow::anyhow!(
                "invalid configuration: {}",
                self.errors.join("; ")
            )),
        }
    }
}

/// A duration the way the configuration is written (`"500ms"`, `"30s"`, `"1h"`).
pub(crate) fn human(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    humantime::format_duration(d).to_string()
}

/// One part of a dotted key as TOML writes it: bare when it can be, else quoted.
pub(crate) fn key_part(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match bare {
        true => k.to_string(),
        false => toml::Value::String(k.to_string()).to_string(),
    }
}

/// Sizes in bytes with their binary unit, for range texts.
pub(crate) fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{n} ({} GiB)", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{n} ({} MiB)", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{n} ({} KiB)", n >> 10),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_of_range_value_names_its_key_and_range() {
        let mut c = Checks::default();
        c.number("worker.concurrency", 0usize, 1, 10_000);
        c.duration(
            "worker.lease_ttl",
            Duration::from_millis(500),
            Duration::from_secs(1),
            Duration::from_secs(3600),
        );
        c.number("graphql.max_depth", 12usize, 1, 1000);
        assert_eq!(
            c.errors,
            [
                "worker.concurrency = 0 is out of range: must be 1 to 10000",
                "worker.lease_ttl = \"500ms\" is out of range: must be 1s to 1h",
            ]
        );
        assert_eq!(c.ranges["graphql.max_depth"], "1 to 1000");
        assert!(c.into_result().is_err());
    }

    #[test]
    fn byte_sizes_show_their_unit() {
        assert_eq!(bytes(32 << 20), "33554432 (32 MiB)");
        assert_eq!(bytes(1000), "1000");
    }
}
