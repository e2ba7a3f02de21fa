//! An agent's retrieval settings in GraphQL: how many chunks of its knowledge bases a
//! run gets, ranked how, above which score.

use super::knowledge::KnowledgeSearchMode;
use crate::service::agents::Retrieval;
use async_graphql::{InputObject, SimpleObject};
use serde_json::Value;

/// How a run of the agent retrieves from its knowledge bases (defaults filled in).
#[derive(SimpleObject)]
pub struct AgentRetrieval {
    /// Chunks given to the model, at most (1 to 50; default 5).
    pub top_k: i32,
    /// How they are ranked (default `HYBRID`).
    pub mode: KnowledgeSearchMode,
    /// Chunks scoring below this are left out (default 0; the mode's score).
    pub min_score: f64,
}

impl AgentRetrieval {
    /// From the stored settings (`null`: the defaults).
    pub fn of(v: Option<&Value>) -> Self {
        let r = Retrieval::of(v);
        Self {
            top_k: r.top_k,
            mode: r.mode.into(),
            min_score: r.min_score,
        }
    }
}

/// Retrieval settings; a missing field takes its default.
#[derive(InputObject)]
pub struct AgentRetrievalInput {
    /// Chunks given to the model, 1 to 50 (default 5).
    pub top_k: Option<i32>,
    /// How they are ranked (default `HYBRID`).
    pub mode: Option<KnowledgeSearchMode>,
    /// Leave out chunks scoring below this (default 0).
    pub min_score: Option<f64>,
}

impl From<AgentRetrievalInput> for Retrieval {
    fn from(i: AgentRetrievalInput) -> Self {
        let d = Retrieval::default();
        Self {
            top_k: i.top_k.unwrap_or(d.top_k),
            mode: i.mode.map(Into::into).unwrap_or(d.mode),
            min_score: i.min_score.unwrap_or(d.min_score),
        }
    }
}
