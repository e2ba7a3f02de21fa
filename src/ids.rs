//! Prefixed, time-sortable identifiers: `<prefix>_<ulid>` in lower case. The prefix
//! names the type, which is what lets `node(id:)` find any object from its id alone.

/// Organisation ids.
pub const ORG: &str = "org";
/// API key ids.
pub const API_KEY: &str = "key";
/// Agent ids.
pub const AGENT: &str = "agt";
/// Agent version ids.
pub const AGENT_VERSION: &str = "agv";
/// Run ids.
pub const RUN: &str = "run";
/// Run step ids.
pub const RUN_STEP: &str = "stp";

/// A new id of the given type: later ids sort after earlier ones.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The type prefix of an id, if it is well formed (`agt_01j...`).
pub fn prefix_of(id: &str) -> Option<&str> {
    let (prefix, rest) = id.split_once('_')?;
    (rest.len() == 26 && rest.chars().all(|c| c.is_ascii_alphanumeric())).then_some(prefix)
}

/// Whether a string has the shape of an OrchStack API key (`os_live_` or `os_test_`
/// and 24 to 128 letters or digits). Here, not in `auth`, so that the configuration
/// can check `bootstrap_key` without depending on `auth`.
pub fn looks_like_key(key: &str) -> bool {
    let body = key
        .strip_prefix("os_live_")
        .or_else(|| key.strip_prefix("os_test_"));
    body.is_some_and(|b| {
        b.len() >= 24 && b.len() <= 128 && b.bytes().all(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = new_id(AGENT);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(AGENT);
        assert_eq!(prefix_of(&a), Some("agt"));
        assert!(a < b);
        assert_eq!(prefix_of("agt_short"), None);
        assert_eq!(prefix_of("nounderscore"), None);
    }
}
