//! An agent's retrieval settings: how many chunks of its knowledge bases a run gets,
//! ranked how, above which score. Stored as JSON on the agent (and in its versions).

use serde_json::{json, Value};

/// How runs of an agent retrieve from its knowledge bases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retrieval {
    /// Chunks given to the model, at most (1 to 50).
    pub top_k: i32,
    /// How they are ranked.
    pub mode: crate::knowledge::search::Mode,
    /// Chunks scoring below this are left out.
    pub min_score: f64,
}

impl Default for Retrieval {
    fn default() -> Self {
        Self {
            top_k: crate::runtime::retrieval::DEFAULT_TOP_K as i32,
            mode: crate::knowledge::search::Mode::Hybrid,
            min_score: 0.0,
        }
    }
}

impl Retrieval {
    /// From the stored JSON (`null` or missing fields: the defaults).
    pub fn of(v: Option<&Value>) -> Self {
        let d = Self::default();
        let Some(v) = v else { return d };
        Self {
            top_k: v["top_k"].as_i64().map_or(d.top_k, |k| k as i32),
            mode: v["mode"]
                .as_str()
                .and_then(crate::knowledge::search::Mode::parse)
                .unwrap_or(d.mode),
            min_score: v["min_score"].as_f64().unwrap_or(d.min_score),
        }
    }

    /// As stored (and in versions' snapshots).
    pub fn to_json(self) -> Value {
        json!({ "top_k": self.top_k, "mode": self.mode.as_str(), "min_score": self.min_score })
    }
}
