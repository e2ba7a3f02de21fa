//! The sources a run's answer may cite: the chunks its retrieval step gave the model.

use async_graphql::{SimpleObject, ID};
use serde_json::Value;

/// One source, numbered by its place in the list (`[1]` is the first).
#[derive(SimpleObject)]
pub struct Citation {
    /// The document the chunk is from.
    pub document_id: ID,
    /// That document's name.
    pub name: String,
    /// The chunk (`chk_...`).
    pub chunk_id: ID,
    /// Its knowledge base.
    pub knowledge_id: ID,
    /// Its retrieval score (the agent's retrieval mode's).
    pub score: f64,
}

impl Citation {
    /// From a retrieval step's stored `citations` item.
    pub fn of(v: &Value) -> Self {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Self {
            document_id: ID(s("document_id")),
            name: s("name"),
            chunk_id: ID(s("chunk_id")),
            knowledge_id: ID(s("knowledge_id")),
            score: v["score"].as_f64().unwrap_or_default(),
        }
    }
}
