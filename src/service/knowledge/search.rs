//! Searching a knowledge base through the API, and retrieving for a run: the query is
//! checked (non-empty, at most [`MAX_QUERY_CHARS`]; `top_k` 1 to [`MAX_TOP_K`]),
//! embedded when the mode needs it and the base has an embedding model, and run by
//! `knowledge::search` over the caller's live bases only.

use super::{find as find_base, Services};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::knowledge::search::{Hit, Mode};
use entity::knowledge_bases::Model as Base;

/// Longest query.
pub const MAX_QUERY_CHARS: usize = 2000;
/// Most results.
pub const MAX_TOP_K: i32 = 50;

/// What a search found.
#[derive(Debug, Clone)]
pub struct Found {
    /// Best first.
    pub hits: Vec<Hit>,
    /// The mode that ranked them.
    pub mode: Mode,
    /// Whether documents of the base still wait for or are in indexing (the results are
    /// what is indexed so far).
    pub indexing: bool,
}

/// Checks `q` and `top_k`: 400 when out of bounds.
pub fn check(q: &str, top_k: i32) -> AppResult<()> {
    if q.trim().is_empty() {
        return Err(AppError::BadRequest("`q` must not be empty".into()));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "`q` must be at most {MAX_QUERY_CHARS} characters"
        )));
    }
    if !(1..=MAX_TOP_K).contains(&top_k) {
        return Err(AppError::BadRequest(format!(
            "`top_k` must be from 1 to {MAX_TOP_K}"
        )));
    }
    Ok(())
}

/// Searches base `knowledge_id`.
pub async fn search(
    s: &Services,
    p: &Principal,
    knowledge_id: &str,
    q: &str,
    top_k: i32,
    mode: Mode,
) -> AppResult<Found> {
    p.require(Scope::KnowledgeRead)?;
    check(q, top_k)?;
    let base = find_base(&s.db, p, knowledge_id).await?;
    if mode == Mode::Semantic && base.embedding_model.is_none() {
        return Err(AppError::BadRequest(format!(
            "knowledge base {knowledge_id} has no embedding_model; search it with mode=keyword or give it a model"
        )));
    }
    let hits = retrieve(s, std::slice::from_ref(&base), q, top_k as usize, mode).await?;
    let indexing = super::is_indexing(&s.db, std::slice::from_ref(&base.id)).await?;
    Ok(Found {
        hits,
        mode,
        indexing,
    })
}

/// Searches `bases` (live, of one organisation) without a scope check.
pub async fn retrieve(
    s: &Services,
    bases: &[Base],
    q: &str,
    top_k: usize,
    mode: Mode,
) -> AppResult<Vec<Hit>> {
    s.knowledge
        .retriever
        .search(&s.db, bases, q, top_k, mode)
        .await
}
