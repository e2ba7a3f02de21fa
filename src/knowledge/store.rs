//! Recording where a document's indexing is, each write conditional on the worker
//! still holding the document's lease (a re-upload or a reaper may have taken it): its
//! progress, and its outcome. An indexed document's chunks replace its old ones in the
//! same transaction that marks it `indexed` (a search sees the old chunks or the new,
//! never a mix or neither), bumps the base's `chunks_version` (cached vectors are read
//! again) and records `knowledge.indexed` in the webhook outbox; a failed one loses its
//! chunks and records `knowledge.failed`.

use crate::error::AppResult;
use crate::ids;
use crate::webhooks::outbox::{self, Outgoing};
use crate::webhooks::EventType;
use chrono::{DateTime, Utc};
use entity::knowledge_bases;
use entity::knowledge_chunks::{self, ActiveModel as Chunk};
use entity::knowledge_documents::{Column, DocumentStatus, Entity, Model};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, NotSet,
    QueryFilter, Set, TransactionTrait,
};
use serde_json::{json, Value};

/// Chunks per multi-row insert (well under both backends' bound-value limits).
const ROWS_PER_INSERT: usize = 100;

/// A chunk to store.
#[derive(Debug, Clone)]
pub struct NewChunk {
    /// Its text.
    pub text: String,
    /// Its tokens.
    pub tokens: u32,
    /// Its normalised vector, when the base has an embedding model.
    pub embedding: Option<Vec<f32>>,
}

/// The document as webhooks and live updates show it.
pub fn document_json(d: &Model) -> Value {
    let error = d
        .error_code
        .as_ref()
        .map(|code| json!({ "code": code, "message": d.error_message }));
    json!({
        "id": d.id,
        "knowledge_id": d.knowledge_id,
        "name": d.name,
        "status": d.status.as_str(),
        "chunk_count": d.chunk_count,
        "token_count": d.token_count,
        "attempts": d.attempts,
        "error": error,
    })
}

/// The document's row while `owner` holds it.
fn held(id: &str, owner: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Id.eq(id))
        .add(Column::LeaseOwner.eq(owner))
        .add(Column::Status.eq(DocumentStatus::Indexing))
}

async fn reread(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<Model>> {
    Ok(Entity::find_by_id(id.to_owned()).one(db).await?)
}

/// Records progress (`done` of `total` chunks). False: the lease is gone.
pub async fn progress(
    db: &DatabaseConnection,
    doc: &Model,
    owner: &str,
    done: usize,
    total: usize,
) -> AppResult<bool> {
    let res = Entity::update_many()
        .col_expr(Column::ProgressDone, Expr::value(done as i32))
        .col_expr(Column::ProgressTotal, Expr::value(total as i32))
        .col_expr(Column::UpdatedAt, Expr::value(crate::clock::now()))
        .filter(held(&doc.id, owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Stores `chunks` as the document's (replacing any it had) and marks it `indexed`, in
/// one transaction. `None`: the lease was gone, nothing changed.
pub async fn indexed(
    db: &DatabaseConnection,
    doc: &Model,
    owner: &str,
    chunks: Vec<NewChunk>,
) -> AppResult<Option<Model>> {
    let now = crate::clock::now();
    let tokens: i64 = chunks.iter().map(|c| i64::from(c.tokens)).sum();
    let n = chunks.len() as i32;
    let txn = db.begin().await?;
    // Write first (SQLite: a transaction that reads first may not upgrade to a write).
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DocumentStatus::Indexed))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::ChunkCount, Expr::value(n))
        .col_expr(Column::TokenCount, Expr::value(tokens))
        .col_expr(Column::ProgressDone, Expr::value(n))
        .col_expr(Column::ProgressTotal, Expr::value(n))
        .col_expr(Column::ErrorCode, Expr::value(Option::<String>::None))
        .col_expr(Column::ErrorMessage, Expr::value(Option::<String>::None))
        .col_expr(
            Column::NextAttemptAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(held(&doc.id, owner))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(None);
    }
    conclude(txn, doc, chunks, EventType::KnowledgeIndexed).await
}

/// The rest of an ending, in its transaction: the document's chunks become `chunks`,
/// the ending is recorded in the webhook outbox (`kind`), and the transaction commits.
/// The document as it now is.
async fn conclude(
    txn: DatabaseTransaction,
    doc: &Model,
    chunks: Vec<NewChunk>,
    kind: EventType,
) -> AppResult<Option<Model>> {
    replace_chunks(&txn, doc, chunks).await?;
    let Some(row) = reread(&txn, &doc.id).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let event = Outgoing {
        org_id: row.org_id.clone(),
        kind,
        data: document_json(&row),
    };
    outbox::record(&txn, &[event]).await?;
    txn.commit().await?;
    Ok(Some(row))
}

/// Deletes the document's chunks, inserts `chunks` and moves the base's
/// `chunks_version` on.
async fn replace_chunks(
    txn: &impl ConnectionTrait,
    doc: &Model,
    chunks: Vec<NewChunk>,
) -> AppResult<()> {
    knowledge_chunks::Entity::delete_many()
        .filter(knowledge_chunks::Column::DocumentId.eq(&doc.id))
        .exec(txn)
        .await?;
    let rows: Vec<Chunk> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| Chunk {
            seq: NotSet,
            id: Set(ids::new_id(ids::KNOWLEDGE_CHUNK)),
            org_id: Set(doc.org_id.clone()),
            knowledge_id: Set(doc.knowledge_id.clone()),
            document_id: Set(doc.id.clone()),
            position: Set(i as i32),
            text: Set(c.text),
            tokens: Set(c.tokens as i32),
            embedding: Set(c.embedding.as_deref().map(super::rank::encode)),
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<Chunk> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        knowledge_chunks::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    bump(txn, &doc.knowledge_id).await
}

/// Moves the base's `chunks_version` on (its cached vectors are read again).
pub async fn bump(db: &impl ConnectionTrait, knowledge_id: &str) -> AppResult<()> {
    knowledge_bases::Entity::update_many()
        .col_expr(
            knowledge_bases::Column::ChunksVersion,
            Expr::col(knowledge_bases::Column::ChunksVersion).add(1),
        )
        .filter(knowledge_bases::Column::Id.eq(knowledge_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the document `failed` with `code` and `message` and drops its chunks.
/// `None`: the lease was gone, nothing changed.
pub async fn failed(
    db: &DatabaseConnection,
    doc: &Model,
    owner: &str,
    code: &str,
    message: &str,
) -> AppResult<Option<Model>> {
    let now = crate::clock::now();
    let txn = db.begin().await?;
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DocumentStatus::Failed))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::ErrorCode, Expr::value(Some(code.to_owned())))
        .col_expr(Column::ErrorMessage, Expr::value(Some(message.to_owned())))
        .col_expr(Column::ChunkCount, Expr::value(0))
        .col_expr(Column::TokenCount, Expr::value(0i64))
        .col_expr(
            Column::NextAttemptAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(held(&doc.id, owner))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(None);
    }
    conclude(txn, doc, Vec::new(), EventType::KnowledgeFailed).await
}

/// Gives the document back to `pending`, due at `at`, remembering why this attempt
/// failed. `None`: the lease was gone.
pub async fn retry_at(
    db: &DatabaseConnection,
    doc: &Model,
    owner: &str,
    code: &str,
    message: &str,
    at: DateTime<Utc>,
) -> AppResult<Option<Model>> {
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DocumentStatus::Pending))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::ErrorCode, Expr::value(Some(code.to_owned())))
        .col_expr(Column::ErrorMessage, Expr::value(Some(message.to_owned())))
        .col_expr(Column::NextAttemptAt, Expr::value(Some(at)))
        .col_expr(Column::UpdatedAt, Expr::value(crate::clock::now()))
        .filter(held(&doc.id, owner))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(None);
    }
    reread(db, &doc.id).await
}
