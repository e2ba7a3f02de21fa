//! Documents of knowledge bases in GraphQL: the type, uploads, deletion, re-indexing
//! and live updates.

use super::scalars::DateTime;
use crate::service::knowledge::documents as svc;
use crate::service::knowledge::upload::{self, Upload};
use async_graphql::{Context, Enum, InputObject, Json, Object, Result, SimpleObject, ID};
use entity::knowledge_documents::{self, DocumentStatus};
use serde_json::Value;

/// Where a document's indexing is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::knowledge_documents::DocumentStatus")]
pub enum KnowledgeDocumentStatus {
    /// Waiting for a worker (or for its retry).
    Pending,
    /// Being indexed.
    Indexing,
    /// Its chunks are searchable.
    Indexed,
    /// It could not be indexed; `error` says why.
    Failed,
}

/// Filters of a document list.
#[derive(InputObject, Default)]
pub struct DocumentFilter {
    /// Only these statuses.
    pub status: Option<Vec<KnowledgeDocumentStatus>>,
}

impl From<DocumentFilter> for svc::DocumentFilter {
    fn from(f: DocumentFilter) -> Self {
        Self {
            status: f
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

/// Why a document failed (or why its last attempt did, while it is retried).
#[derive(SimpleObject)]
pub struct KnowledgeDocumentError {
    /// `empty_document`, `unsupported_content`, `extraction_failed`,
    /// `embedding_failed`, `storage_error` or `knowledge_deleted`.
    pub code: String,
    /// What happened, for people.
    pub message: String,
}

/// How far indexing got.
#[derive(SimpleObject)]
pub struct KnowledgeDocumentProgress {
    /// Chunks done.
    pub done: i32,
    /// Chunks in all (0 until the document is cut).
    pub total: i32,
}

/// A document of a knowledge base.
pub struct KnowledgeDocument(pub knowledge_documents::Model);

#[Object]
impl KnowledgeDocument {
    /// `doc_...`
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Its knowledge base.
    async fn knowledge_id(&self) -> ID {
        ID(self.0.knowledge_id.clone())
    }
    /// Its name, unique in the base.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `text`, `markdown`, `html`, `csv`, `json` or `pdf`.
    async fn format(&self) -> &str {
        &self.0.format
    }
    /// The MIME type it was uploaded as.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// The client's own data.
    async fn metadata(&self) -> Json<Value> {
        Json(self.0.metadata.clone())
    }
    /// Size of the original in bytes.
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the original, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Where its indexing is.
    async fn status(&self) -> KnowledgeDocumentStatus {
        self.0.status.into()
    }
    /// Why it failed (or why its last attempt did).
    async fn error(&self) -> Option<KnowledgeDocumentError> {
        self.0
            .error_code
            .as_ref()
            .map(|code| KnowledgeDocumentError {
                code: code.clone(),
                message: self.0.error_message.clone().unwrap_or_default(),
            })
    }
    /// Chunks done of all, while indexing.
    async fn progress(&self) -> KnowledgeDocumentProgress {
        KnowledgeDocumentProgress {
            done: self.0.progress_done,
            total: self.0.progress_total,
        }
    }
    /// Indexing attempts so far (at most `knowledge.max_attempts`).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Its searchable chunks.
    async fn chunk_count(&self) -> i32 {
        self.0.chunk_count
    }
    /// Tokens in its chunks.
    async fn token_count(&self) -> i64 {
        self.0.token_count
    }
    /// When it was first uploaded.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// When its current indexing started.
    async fn started_at(&self) -> Option<DateTime> {
        self.0.started_at.map(Into::into)
    }
    /// When its indexing ended (indexed or failed).
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(Into::into)
    }
}

/// One document to upload: exactly one of `content` (text) and `contentBase64`.
#[derive(InputObject)]
pub struct DocumentInput {
    /// Unique in the base (an existing name is replaced); its extension tells the type
    /// when `contentType` is missing.
    pub name: String,
    /// Text content.
    pub content: Option<String>,
    /// Binary content (a PDF, say), standard base64.
    pub content_base64: Option<String>,
    /// `text/plain`, `text/markdown`, `text/html`, `text/csv`, `application/json` or
    /// `application/pdf`.
    pub content_type: Option<String>,
    /// The client's own data (an object, at most 16 KiB).
    pub metadata: Option<Json<Value>>,
}

/// Documents to upload (at most `knowledge.max_files`).
#[derive(InputObject)]
pub struct UploadDocumentsInput {
    /// The documents.
    pub documents: Vec<DocumentInput>,
}

/// The uploaded documents, each `pending` (or still `indexed` when the same bytes were
/// already indexed).
#[derive(SimpleObject)]
pub struct UploadDocumentsResult {
    /// In the order given.
    pub documents: Vec<KnowledgeDocument>,
}

/// Document mutations.
#[derive(Default)]
pub struct KnowledgeDocumentsMutation;

#[Object]
impl KnowledgeDocumentsMutation {
    /// Uploads documents into a knowledge base; each is indexed by a durable job.
    async fn upload_documents(
        &self,
        ctx: &Context<'_>,
        knowledge_id: ID,
        input: UploadDocumentsInput,
    ) -> Result<UploadDocumentsResult> {
        let (s, p) = super::caller(ctx);
        let uploads = input
            .documents
            .into_iter()
            .map(|d| Upload {
                name: d.name,
                content: d.content,
                content_base64: d.content_base64,
                content_type: d.content_type,
                metadata: d.metadata.map(|m| m.0),
            })
            .collect();
        let docs = upload::upload(s, p, &knowledge_id, uploads).await?;
        Ok(UploadDocumentsResult {
            documents: docs.into_iter().map(KnowledgeDocument).collect(),
        })
    }

    /// Deletes a document and its chunks; returns its id.
    async fn delete_knowledge_document(
        &self,
        ctx: &Context<'_>,
        knowledge_id: ID,
        id: ID,
    ) -> Result<ID> {
        let (s, p) = super::caller(ctx);
        Ok(ID(svc::delete(s, p, &knowledge_id, &id).await?))
    }

    /// Indexes a document again from its kept original.
    async fn reindex_knowledge_document(
        &self,
        ctx: &Context<'_>,
        knowledge_id: ID,
        id: ID,
    ) -> Result<KnowledgeDocument> {
        let (s, p) = super::caller(ctx);
        Ok(KnowledgeDocument(
            svc::reindex(s, p, &knowledge_id, &id).await?,
        ))
    }
}

/// A document's state as a subscription shows it.
pub fn from_update(d: std::sync::Arc<knowledge_documents::Model>) -> KnowledgeDocument {
    KnowledgeDocument((*d).clone())
}

/// Unused statuses stay exhaustive here: a new one must be placed.
const _: fn(DocumentStatus) = |s| match s {
    DocumentStatus::Pending
    | DocumentStatus::Indexing
    | DocumentStatus::Indexed
    | DocumentStatus::Failed => {}
};
