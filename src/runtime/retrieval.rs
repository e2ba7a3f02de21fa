//! Retrieval: searching knowledge bases with an embedded query (the API's search and a
//! run's first step alike), and, for an agent whose `knowledge_ids` is not empty, the
//! `retrieval` step before its first model call: the run's input is searched, the chunks
//! go into the model's context with numbered source markers, and the step's output keeps
//! the citations (`Run.citations`) and the message the model saw (so a run resumed after
//! a gate sees the same context).

use super::providers::embeddings::Embedder;
use crate::error::{AppError, AppResult};
use crate::knowledge::search::{self, Hit, Mode, VectorCache};
use entity::knowledge_bases::{Column, Entity, Model as Base};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

/// What retrieval needs beside the database. Cheap to clone.
#[derive(Clone)]
pub struct Retriever {
    /// Embeds queries.
    pub embedder: Embedder,
    /// Vectors of recently searched bases.
    pub cache: VectorCache,
}

/// Results per retrieval when the agent does not say.
pub const DEFAULT_TOP_K: usize = 5;

impl Retriever {
    /// Searches `bases` (live, of one organisation) for `q`. An embeddings failure is
    /// `unavailable` (the provider's message kept).
    pub async fn search(
        &self,
        db: &(impl ConnectionTrait
              + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>),
        bases: &[Base],
        q: &str,
        top_k: usize,
        mode: Mode,
    ) -> AppResult<Vec<Hit>> {
        let query = match mode {
            Mode::Keyword => None,
            Mode::Hybrid | Mode::Semantic => self.embed_query(bases, q).await?,
        };
        search::search(db, &self.cache, bases, q, query.as_deref(), mode, top_k).await
    }

    /// The query's vector by the bases' model (the first base that has one; rows of
    /// other dimensions never match it).
    async fn embed_query(&self, bases: &[Base], q: &str) -> AppResult<Option<Vec<f32>>> {
        let Some(model) = bases.iter().find_map(|b| b.embedding_model.as_deref()) else {
            return Ok(None);
        };
        let mut v = self
            .embedder
            .embed(model, &[q.to_owned()])
            .await
            .map_err(|e| {
                AppError::Unavailable(format!("the query could not be embedded: {}", e.message))
            })?;
        Ok(v.pop())
    }
}

/// An agent's retrieval settings (`retrieval` in its snapshot), defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Chunks given to the model, at most.
    pub top_k: usize,
    /// How they are ranked.
    pub mode: Mode,
    /// Chunks scoring below this are left out.
    pub min_score: f64,
}

impl Settings {
    /// From the agent's snapshot.
    pub fn of(snap: &Value) -> Self {
        let r = &snap["retrieval"];
        Self {
            top_k: r["top_k"]
                .as_u64()
                .map_or(DEFAULT_TOP_K, |k| k.clamp(1, 50) as usize),
            mode: r["mode"].as_str().and_then(Mode::parse).unwrap_or_default(),
            min_score: r["min_score"].as_f64().unwrap_or(0.0),
        }
    }
}

/// The live bases among `ids` of `org_id`.
pub async fn bases(
    db: &impl ConnectionTrait,
    org_id: &str,
    ids: &[String],
) -> AppResult<Vec<Base>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::DeletedAt.is_null())
        .filter(Column::Id.is_in(ids.iter().map(String::as_str)))
        .all(db)
        .await?)
}

/// The user message the model sees: the input, then each chunk under its number.
pub fn message(input: &str, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return input.to_owned();
    }
    let mut out = format!("{input}\n\nSources (cite them by number):");
    for (i, h) in hits.iter().enumerate() {
        out.push_str(&format!("\n[{}] {}: {}", i + 1, h.document_name, h.text));
    }
    out
}

/// The citations of the hits, in source-number order.
pub fn citations(hits: &[Hit]) -> Value {
    Value::Array(
        hits.iter()
            .map(|h| {
                json!({
                    "document_id": h.document_id,
                    "name": h.document_name,
                    "chunk_id": h.chunk_id,
                    "knowledge_id": h.knowledge_id,
                    "score": h.score,
                })
            })
            .collect(),
    )
}

/// The `retrieval` step of a run whose agent lists knowledge bases: `Ok(message)` is the
/// user message for the model (the input alone when the agent lists none; then no step
/// is recorded), `Err(outcome)` ends the run (`retrieval_failed`).
pub(super) async fn step(
    ex: &super::executor::Executor,
    log: &mut crate::events::journal::RunJournal,
    run: &entity::runs::Model,
    snap: &Value,
    position: i32,
) -> AppResult<Result<String, super::finish::Outcome>> {
    use super::steps::{NewStep, Step, StepResult};
    let ids: Vec<String> = snap["knowledge_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok(Ok(run.input.clone()));
    }
    let settings = Settings::of(snap);
    let input = json!({
        "query": run.input,
        "knowledge_ids": ids,
        "top_k": settings.top_k,
        "mode": settings.mode.as_str(),
        "min_score": settings.min_score,
    });
    let step = Step::start(
        log,
        run,
        NewStep {
            position,
            kind: entity::run_steps::StepKind::Retrieval,
            name: Some("knowledge"),
            input,
        },
    )
    .await?;
    let found = match bases(&ex.db, &run.org_id, &ids).await {
        Ok(bases) => {
            ex.retriever
                .search(&ex.db, &bases, &run.input, settings.top_k, settings.mode)
                .await
        }
        Err(e) => Err(e),
    };
    let hits: Vec<Hit> = match found {
        Ok(hits) => hits
            .into_iter()
            .filter(|h| h.score >= settings.min_score)
            .collect(),
        Err(err) => {
            let message = format!("knowledge could not be searched: {err}");
            let error = json!({ "code": "retrieval_failed", "message": message });
            step.finish(
                log,
                StepResult {
                    output: json!({}),
                    error: Some(error),
                    ..Default::default()
                },
            )
            .await?;
            return Ok(Err(super::finish::Outcome::failed(
                "retrieval_failed",
                message,
            )));
        }
    };
    let text = message(&run.input, &hits);
    let chunks: Vec<Value> = hits
        .iter()
        .map(|h| json!({ "chunk_id": h.chunk_id, "document_id": h.document_id, "position": h.position, "score": h.score }))
        .collect();
    let output = json!({ "chunks": chunks, "citations": citations(&hits), "message": text });
    step.finish(
        log,
        StepResult {
            output,
            ..Default::default()
        },
    )
    .await?;
    Ok(Ok(text))
}
