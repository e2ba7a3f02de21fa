//! Knowledge bases, their documents and search in GraphQL.

use super::connection::{from_page, page_args, OrderDirection};
use super::knowledge_documents::{DocumentFilter, KnowledgeDocument};
use super::patch::{clearable, keep};
use super::scalars::DateTime;
use crate::knowledge::search::{Hit, Mode};
use crate::service::knowledge::search::{self as search_svc, Found};
use crate::service::knowledge::{self as svc, BaseField, BasePatch, NewBase};
use crate::service::pagination::Sort;
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID};
use entity::knowledge_bases;

/// A knowledge base: documents an agent retrieves from.
pub struct KnowledgeBase(pub knowledge_bases::Model);

/// How documents are cut into chunks.
#[derive(SimpleObject)]
pub struct Chunking {
    /// Largest chunk, in tokens (cl100k_base).
    pub max_tokens: i32,
    /// Tokens two neighbouring chunks share.
    pub overlap_tokens: i32,
}

#[Object]
impl KnowledgeBase {
    /// `kb_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A note for people.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// How its documents are cut.
    async fn chunking(&self) -> Chunking {
        Chunking {
            max_tokens: self.0.chunk_max_tokens,
            overlap_tokens: self.0.chunk_overlap_tokens,
        }
    }
    /// `provider/model` of its embeddings; null: keyword search only.
    async fn embedding_model(&self) -> Option<&str> {
        self.0.embedding_model.as_deref()
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// Its documents, newest first.
    async fn documents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DocumentFilter>,
    ) -> Result<Connection<String, KnowledgeDocument>> {
        let (s, p) = super::caller(ctx);
        let filter = filter.map(Into::into).unwrap_or_default();
        let args = page_args(first, after, last, before);
        let page = svc::documents::list(s, p, &self.0, &filter, &args).await?;
        Ok(from_page(page, KnowledgeDocument))
    }
}

/// Fields a knowledge base list can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum KnowledgeBaseOrderField {
    /// By creation time.
    CreatedAt,
    /// By last change.
    UpdatedAt,
}

/// One sort key of a knowledge base list.
#[derive(InputObject, Clone, Copy)]
pub struct KnowledgeBaseOrder {
    /// The field.
    pub field: KnowledgeBaseOrderField,
    /// The direction.
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// Chunk sizes; a missing field keeps its default (or current) value.
#[derive(InputObject, Default)]
pub struct ChunkingInput {
    /// Largest chunk in tokens, 32 to 8,192 (default 400).
    pub max_tokens: Option<i32>,
    /// Overlap in tokens, up to half of `maxTokens` (default 40).
    pub overlap_tokens: Option<i32>,
}

/// A new knowledge base.
#[derive(InputObject)]
pub struct CreateKnowledgeBaseInput {
    /// 1 to 200 characters.
    pub name: String,
    /// At most 2,000 characters.
    pub description: Option<String>,
    /// How documents are cut.
    pub chunking: Option<ChunkingInput>,
    /// `provider/model` of an OpenAI-compatible embeddings provider (or `mock/...`);
    /// without one, search is keyword only.
    pub embedding_model: Option<String>,
}

/// A change: only the fields given change. A chunking or model change indexes every
/// document again.
#[derive(InputObject)]
pub struct UpdateKnowledgeBaseInput {
    /// New name.
    pub name: MaybeUndefined<String>,
    /// New description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// New chunk sizes.
    pub chunking: MaybeUndefined<ChunkingInput>,
    /// New model; `null` removes it (keyword search only).
    pub embedding_model: MaybeUndefined<String>,
}

/// How a search ranks.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum KnowledgeSearchMode {
    /// Keyword and semantic lists fused by reciprocal rank (keyword alone without a model).
    #[default]
    Hybrid,
    /// Full-text (bm25 on SQLite, ts_rank on PostgreSQL).
    Keyword,
    /// Cosine similarity of embeddings.
    Semantic,
}

impl From<KnowledgeSearchMode> for Mode {
    fn from(m: KnowledgeSearchMode) -> Self {
        match m {
            KnowledgeSearchMode::Hybrid => Mode::Hybrid,
            KnowledgeSearchMode::Keyword => Mode::Keyword,
            KnowledgeSearchMode::Semantic => Mode::Semantic,
        }
    }
}

impl From<Mode> for KnowledgeSearchMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Hybrid => Self::Hybrid,
            Mode::Keyword => Self::Keyword,
            Mode::Semantic => Self::Semantic,
        }
    }
}

/// One chunk a search found.
#[derive(SimpleObject)]
pub struct KnowledgeSearchHit {
    /// `chk_...`
    pub chunk_id: ID,
    /// The document it is from.
    pub document_id: ID,
    /// That document's name.
    pub document_name: String,
    /// Its knowledge base.
    pub knowledge_id: ID,
    /// 0, 1, ... within the document.
    pub position: i32,
    /// The chunk's text.
    pub text: String,
    /// The mode's score (higher is better).
    pub score: f64,
}

impl From<Hit> for KnowledgeSearchHit {
    fn from(h: Hit) -> Self {
        Self {
            chunk_id: ID(h.chunk_id),
            document_id: ID(h.document_id),
            document_name: h.document_name,
            knowledge_id: ID(h.knowledge_id),
            position: h.position,
            text: h.text,
            score: h.score,
        }
    }
}

/// What a search found.
#[derive(SimpleObject)]
pub struct KnowledgeSearchResult {
    /// Best first.
    pub results: Vec<KnowledgeSearchHit>,
    /// The mode that ranked them.
    pub mode: KnowledgeSearchMode,
    /// True while documents of the base wait for or are in indexing: the results are
    /// what is indexed so far.
    pub indexing: bool,
}

impl From<Found> for KnowledgeSearchResult {
    fn from(f: Found) -> Self {
        Self {
            results: f.hits.into_iter().map(Into::into).collect(),
            mode: f.mode.into(),
            indexing: f.indexing,
        }
    }
}

/// Knowledge queries.
#[derive(Default)]
pub struct KnowledgeQuery;

#[Object]
impl KnowledgeQuery {
    /// One knowledge base by id.
    async fn knowledge_base(&self, ctx: &Context<'_>, id: ID) -> Result<KnowledgeBase> {
        let (s, p) = super::caller(ctx);
        Ok(KnowledgeBase(svc::get(s, p, &id).await?))
    }

    /// The organisation's knowledge bases, newest first unless `orderBy` says otherwise.
    async fn knowledge_bases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        order_by: Option<Vec<KnowledgeBaseOrder>>,
    ) -> Result<Connection<String, KnowledgeBase>> {
        let (s, p) = super::caller(ctx);
        let sort: Vec<_> = order_by
            .unwrap_or_default()
            .into_iter()
            .map(|o| Sort {
                field: match o.field {
                    KnowledgeBaseOrderField::CreatedAt => BaseField::CreatedAt,
                    KnowledgeBaseOrderField::UpdatedAt => BaseField::UpdatedAt,
                },
                desc: o.direction == OrderDirection::Desc,
            })
            .collect();
        let args = page_args(first, after, last, before);
        Ok(from_page(
            svc::list(s, p, &sort, &args).await?,
            KnowledgeBase,
        ))
    }

    /// One document of a knowledge base.
    async fn knowledge_document(
        &self,
        ctx: &Context<'_>,
        knowledge_id: ID,
        id: ID,
    ) -> Result<KnowledgeDocument> {
        let (s, p) = super::caller(ctx);
        Ok(KnowledgeDocument(
            svc::documents::get(s, p, &knowledge_id, &id).await?,
        ))
    }

    /// The chunks of a knowledge base that best answer `q` (`topK` 1 to 50).
    async fn search_knowledge(
        &self,
        ctx: &Context<'_>,
        knowledge_id: ID,
        q: String,
        #[graphql(default = 5)] top_k: i32,
        #[graphql(default)] mode: KnowledgeSearchMode,
    ) -> Result<KnowledgeSearchResult> {
        let (s, p) = super::caller(ctx);
        let found = search_svc::search(s, p, &knowledge_id, &q, top_k, mode.into()).await?;
        Ok(found.into())
    }
}

/// Knowledge mutations.
#[derive(Default)]
pub struct KnowledgeMutation;

#[Object]
impl KnowledgeMutation {
    /// Creates a knowledge base.
    async fn create_knowledge_base(
        &self,
        ctx: &Context<'_>,
        input: CreateKnowledgeBaseInput,
    ) -> Result<KnowledgeBase> {
        let (s, p) = super::caller(ctx);
        let chunking = input.chunking.unwrap_or_default();
        let new = NewBase {
            name: input.name,
            description: input.description,
            max_tokens: chunking.max_tokens,
            overlap_tokens: chunking.overlap_tokens,
            embedding_model: input.embedding_model,
        };
        Ok(KnowledgeBase(svc::create(s, p, new).await?))
    }

    /// Changes the fields given; a chunking or model change re-indexes every document.
    async fn update_knowledge_base(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateKnowledgeBaseInput,
    ) -> Result<KnowledgeBase> {
        let (s, p) = super::caller(ctx);
        let mut nulls = Vec::new();
        let name = keep(input.name, "/name", &mut nulls);
        let chunking = keep(input.chunking, "/chunking", &mut nulls).unwrap_or_default();
        let patch = BasePatch {
            name,
            description: clearable(input.description),
            max_tokens: chunking.max_tokens,
            overlap_tokens: chunking.overlap_tokens,
            embedding_model: clearable(input.embedding_model),
            nulls,
        };
        Ok(KnowledgeBase(svc::update(s, p, &id, patch).await?))
    }

    /// Deletes a knowledge base with its documents (409 `KNOWLEDGE_IN_USE` while an agent
    /// lists it); returns its id.
    async fn delete_knowledge_base(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let (s, p) = super::caller(ctx);
        Ok(ID(svc::delete(s, p, &id).await?))
    }
}
