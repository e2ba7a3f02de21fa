//! The indexing loop of one instance: claims due knowledge documents (up to
//! `knowledge.concurrency` at once; `jobs::indexing`), and indexes each: its original
//! → text (`knowledge::extract`, off the async threads, a panicking parser contained)
//! → token-sized chunks (`knowledge::chunk`) → vectors when the base has an embedding
//! model (batched, with progress after each batch) → one transaction that makes the new
//! chunks searchable (`knowledge::store`). A file that cannot be read fails at once
//! with its reason; an embeddings or database failure is tried again with backoff, up
//! to `knowledge.max_attempts`. It wakes when documents are queued (`Bus::notify_indexing`,
//! from any instance) and otherwise every `poll_interval`; its leases live on the
//! instance's heartbeat, and it requeues the documents of instances that died.

use super::providers::embeddings::Embedder;
use crate::config::KnowledgeConfig;
use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::journal::WriteTurn;
use crate::jobs::indexing;
use crate::jobs::instances::Instance;
use crate::knowledge::blobs::Store;
use crate::knowledge::chunk;
use crate::knowledge::extract::{self, Format};
use crate::knowledge::store::{self, NewChunk};
use entity::{knowledge_bases, knowledge_documents::Model};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Longest a file may take to be read and cut into chunks.
const EXTRACT_TIMEOUT: Duration = Duration::from_secs(120);

/// Documents claimed in one statement, at most.
const CLAIM_BATCH: usize = 32;

/// What the indexing loop needs. Cheap to clone.
#[derive(Clone)]
pub struct Indexer {
    /// The database.
    pub db: DatabaseConnection,
    /// Wake-ups and live document updates.
    pub bus: Arc<Bus>,
    /// The embeddings client.
    pub embedder: Embedder,
    /// Where originals are kept.
    pub blobs: Store,
    /// `[knowledge]`.
    pub config: KnowledgeConfig,
    /// Turns at writing, shared with the journal (SQLite).
    pub turn: WriteTurn,
}

/// How one attempt at a document ended badly.
enum Failure {
    /// The file itself: no retry helps.
    Final(&'static str, String),
    /// Something outside the file (the embeddings provider, the database): try again.
    Transient(&'static str, String),
}

/// Runs the loop as lease owner `owner` until `stop`; then waits (up to `grace`) for the
/// documents in flight.
pub async fn run(
    ix: Indexer,
    owner: String,
    ttl: Duration,
    grace: Duration,
    stop: CancellationToken,
) {
    let instance = Instance::new(ix.db.clone(), owner.clone(), ttl);
    let slots = Arc::new(Semaphore::new(ix.config.concurrency));
    let mut working = JoinSet::new();
    let mut reap = tokio::time::interval(ttl.max(Duration::from_secs(1)));
    reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(mut permits) = super::slots::take(&slots, CLAIM_BATCH, &stop).await else {
            break;
        };
        while working.try_join_next().is_some() {}
        let claimed = match instance.ensure_fresh().await {
            Ok(()) => claim(&ix, &owner, permits.len()).await,
            Err(err) => Err(err),
        };
        match claimed {
            Ok(docs) if !docs.is_empty() => {
                for doc in docs {
                    // A claimed document is indexed even without a slot (it is leased
                    // to this instance); the claim asks for no more than the slots held.
                    let permit = permits.pop();
                    ix.bus.publish_document(doc.clone());
                    let (ix, owner) = (ix.clone(), owner.clone());
                    working.spawn(async move {
                        index(&ix, doc, &owner).await;
                        drop(permit);
                    });
                }
                drop(permits);
            }
            Ok(_) => {
                drop(permits);
                tokio::select! {
                    _ = ix.bus.indexing_queued() => {}
                    _ = tokio::time::sleep(ix.config.poll_interval) => {}
                    _ = reap.tick() => requeue_orphans(&ix, ttl).await,
                    _ = stop.cancelled() => break,
                }
            }
            Err(err) => {
                drop(permits);
                tracing::warn!(error = ?err, "could not claim documents to index");
                tokio::select! {
                    _ = tokio::time::sleep(ix.config.poll_interval) => {}
                    _ = stop.cancelled() => break,
                }
            }
        }
    }
    if tokio::time::timeout(grace, async {
        while working.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        // Their leases end with this instance's row: another instance indexes them again.
        working.abort_all();
    }
}

async fn claim(ix: &Indexer, owner: &str, limit: usize) -> AppResult<Vec<Model>> {
    let _turn = ix.turn.take(&ix.db).await;
    let txn = ix.db.begin().await?;
    let docs = indexing::claim(&txn, owner, limit).await?;
    txn.commit().await?;
    Ok(docs)
}

/// Puts the documents of dead instances back in the queue.
async fn requeue_orphans(ix: &Indexer, ttl: Duration) {
    let now = crate::clock::now();
    let cutoff = now - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(30));
    let orphans = match indexing::orphans(&ix.db, cutoff).await {
        Ok(o) => o,
        Err(err) => {
            return tracing::warn!(error = ?err, "could not look for orphaned indexing jobs")
        }
    };
    let mut requeued = 0;
    for doc in orphans {
        let _turn = ix.turn.take(&ix.db).await;
        if let Ok(true) = indexing::requeue_orphan(&ix.db, &doc, cutoff, now).await {
            requeued += 1;
        }
    }
    if requeued > 0 {
        tracing::warn!(
            documents = requeued,
            "requeued documents whose indexing instance stopped"
        );
        ix.bus.notify_indexing();
    }
}

/// Indexes one claimed document and records how it ended.
async fn index(ix: &Indexer, doc: Model, owner: &str) {
    let outcome = attempt(ix, &doc, owner).await;
    let _turn = ix.turn.take(&ix.db).await;
    let recorded = match outcome {
        Ok(Some(chunks)) => store::indexed(&ix.db, &doc, owner, chunks).await,
        Ok(None) => Ok(None),
        Err(Failure::Final(code, message)) => {
            store::failed(&ix.db, &doc, owner, code, &message).await
        }
        Err(Failure::Transient(code, message)) => {
            if doc.attempts >= ix.config.max_attempts as i32 {
                let message = format!("{message} (after {} attempts)", doc.attempts);
                store::failed(&ix.db, &doc, owner, code, &message).await
            } else {
                let wait = ix.config.retry_base_delay
                    * 2u32.saturating_pow(doc.attempts.max(1) as u32 - 1);
                let at = crate::clock::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                store::retry_at(&ix.db, &doc, owner, code, &message, at).await
            }
        }
    };
    match recorded {
        Ok(Some(row)) => {
            let wake = row.status != entity::knowledge_documents::DocumentStatus::Pending;
            ix.bus.publish_document(row);
            if wake {
                // `knowledge.indexed` / `knowledge.failed` may have deliveries due.
                ix.bus.notify_deliveries();
            }
        }
        Ok(None) => {
            tracing::info!(document_id = %doc.id, "a document was re-uploaded or taken over while being indexed; its result was dropped")
        }
        // The lease stays with this instance until it dies; then the reaper requeues it.
        Err(err) => {
            tracing::warn!(document_id = %doc.id, error = ?err, "could not record a document's indexing")
        }
    }
}

/// One attempt: `Ok(None)` when the lease was lost on the way (nothing to record).
async fn attempt(ix: &Indexer, doc: &Model, owner: &str) -> Result<Option<Vec<NewChunk>>, Failure> {
    let transient = |e: crate::error::AppError| Failure::Transient("storage_error", e.to_string());
    let base = knowledge_bases::Entity::find_by_id(doc.knowledge_id.clone())
        .one(&ix.db)
        .await
        .map_err(|e| transient(e.into()))?;
    let Some(base) = base.filter(|b| b.deleted_at.is_none()) else {
        return Err(Failure::Final(
            "knowledge_deleted",
            "the knowledge base was deleted".into(),
        ));
    };
    let bytes = ix
        .blobs
        .get(&ix.db, &doc.org_id, &doc.sha256)
        .await
        .map_err(transient)?;
    let format = Format::parse(&doc.format).ok_or_else(|| {
        Failure::Final(
            "unsupported_content",
            format!("unknown format `{}`", doc.format),
        )
    })?;
    let (max, overlap) = (
        base.chunk_max_tokens.max(1) as usize,
        base.chunk_overlap_tokens.max(0) as usize,
    );
    // Parsing and tokenising are CPU work: off the async threads, and a parser's panic
    // ends this task only (a JoinError), never the worker.
    let work = tokio::task::spawn_blocking(move || {
        let text = extract::extract(format, &bytes)?;
        let markdown = format == Format::Markdown;
        Ok::<_, extract::ExtractError>(chunk::chunk(&text, markdown, max, overlap))
    });
    // A hostile file that keeps a parser busy fails its document; the thread is left to
    // finish on its own (it cannot be stopped), and the worker goes on.
    let pieces = tokio::time::timeout(EXTRACT_TIMEOUT, work)
        .await
        .map_err(|_| {
            Failure::Final(
                "extraction_failed",
                format!(
                    "the file took longer than {} s to read",
                    EXTRACT_TIMEOUT.as_secs()
                ),
            )
        })?
        .map_err(|e| {
            Failure::Final(
                "extraction_failed",
                format!("the file could not be read: {e}"),
            )
        })?
        .map_err(|e| Failure::Final(e.code, e.message))?;
    if pieces.is_empty() {
        return Err(Failure::Final(
            "empty_document",
            "the document has no text".into(),
        ));
    }
    let total = pieces.len();
    let mut chunks: Vec<NewChunk> = pieces
        .into_iter()
        .map(|c| NewChunk {
            text: c.text,
            tokens: c.tokens,
            embedding: None,
        })
        .collect();
    let Some(model) = base.embedding_model.as_deref() else {
        return Ok(Some(chunks));
    };
    if !report(ix, doc, owner, 0, total).await {
        return Ok(None);
    }
    let mut done = 0;
    let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
    for batch in texts.chunks(ix.embedder.batch()) {
        let vectors = ix
            .embedder
            .embed(model, batch)
            .await
            .map_err(|e| Failure::Transient("embedding_failed", e.message))?;
        for (c, v) in chunks[done..done + vectors.len()].iter_mut().zip(vectors) {
            c.embedding = Some(v);
        }
        done += batch.len();
        if done < total && !report(ix, doc, owner, done, total).await {
            return Ok(None);
        }
    }
    Ok(Some(chunks))
}

/// Stores and publishes progress; false when the lease is gone.
async fn report(ix: &Indexer, doc: &Model, owner: &str, done: usize, total: usize) -> bool {
    let _turn = ix.turn.take(&ix.db).await;
    match store::progress(&ix.db, doc, owner, done, total).await {
        Ok(false) => false,
        Ok(true) => {
            let mut row = doc.clone();
            row.progress_done = done as i32;
            row.progress_total = total as i32;
            ix.bus.publish_document(row);
            true
        }
        // Progress is advisory: indexing goes on.
        Err(err) => {
            tracing::debug!(error = ?err, "could not record indexing progress");
            true
        }
    }
}
