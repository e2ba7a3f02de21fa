//! GraphQL limits.

use super::check::{bytes, Checks};
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};

/// GraphQL query limits, checked before validation and execution (`graphql::cost`) on
/// every transport, except the response size, which is counted while executing.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct GraphqlConfig {
    /// Deepest selection nesting allowed.
    pub max_depth: usize,
    /// Largest operation cost allowed: each field costs 1, and the items of a paged
    /// list (`nodes`, `edges`) cost their page size (`first`/`last`, 20 by default) times.
    pub max_complexity: usize,
    /// Most fields a document may hold with every fragment spread expanded (each
    /// spread counted again): bounds the validation walk, which expands fragments.
    pub max_selections: usize,
    /// Most aliased fields in a document.
    pub max_aliases: usize,
    /// Most root fields in an operation (fragments expanded).
    pub max_root_fields: usize,
    /// Most fragment definitions in a document.
    pub max_fragments: usize,
    /// Most fragment spreads written in a document.
    pub max_spreads: usize,
    /// Largest response (or subscription event) in bytes of JSON, roughly; a larger
    /// one is refused with `response_too_large` instead of being sent.
    pub max_response_bytes: usize,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 5000,
            max_selections: 2000,
            max_aliases: 100,
            max_root_fields: 50,
            max_fragments: 100,
            max_spreads: 500,
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

impl GraphqlConfig {
    /// Every limit must let a small query through; the response cap at least 1 KiB.
    pub(super) fn check(&self, c: &mut Checks) {
        c.number("graphql.max_depth", self.max_depth, 1, 1_000);
        c.number(
            "graphql.max_complexity",
            self.max_complexity,
            1,
            100_000_000,
        );
        c.number("graphql.max_selections", self.max_selections, 1, 1_000_000);
        c.number("graphql.max_aliases", self.max_aliases, 0, 100_000);
        c.number("graphql.max_root_fields", self.max_root_fields, 1, 10_000);
        c.number("graphql.max_fragments", self.max_fragments, 0, 100_000);
        c.number("graphql.max_spreads", self.max_spreads, 0, 1_000_000);
        let (min, max) = (1usize << 10, 1usize << 30);
        let range = format!("{} to {}", bytes(min as u64), bytes(max as u64));
        c.number_in(
            "graphql.max_response_bytes",
            self.max_response_bytes,
            min,
            max,
            range,
        );
    }
}
