//! Agents over REST: the whole lifecycle (create, read, list, patch with versions,
//! delete), validation with JSON pointers, plan limits, `fields=` and list filters.

mod lifecycle;
mod lists;
mod plans;
mod validation;

use serde_json::Value;
use std::collections::BTreeSet;

/// Every key an agent has over REST, in no particular order.
const AGENT_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "model",
    "model_settings",
    "instructions",
    "tools",
    "knowledge_ids",
    "retrieval",
    "channels",
    "metadata",
    "version",
    "created_at",
    "updated_at",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-29T03:08:54.123Z`.
fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    assert!(
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.',
        "not RFC 3339 with milliseconds: {s}"
    );
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
}

/// Checks a 422 problem and returns its `errors[]` as (pointer, detail) pairs.
fn validation_errors(body: &Value) -> Vec<(String, String)> {
    assert_eq!(body["code"], "validation_failed", "{body}");
    assert_eq!(body["status"], 422, "{body}");
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[] in {body}"))
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap_or_default().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn has_pointer(errors: &[(String, String)], pointer: &str) -> bool {
    errors.iter().any(|(p, _)| p == pointer)
}
