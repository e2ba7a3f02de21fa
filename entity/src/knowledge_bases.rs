//! Knowledge bases: named collections of documents an agent can retrieve from.
use sea_orm::entity::prelude::*;

/// One knowledge base. Deleted bases keep their row (`deleted_at` set); every query
/// filters them out, so their chunks stop being searchable at once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_bases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    /// Largest chunk, in tokens (cl100k_base).
    pub chunk_max_tokens: i32,
    /// Tokens two neighbouring chunks share.
    pub chunk_overlap_tokens: i32,
    /// `provider/model` of the embeddings, when the base has semantic search.
    pub embedding_model: Option<String>,
    /// Bumped when chunking or the model changes: documents indexed under an older
    /// value are indexed again.
    pub settings_version: i32,
    /// Bumped by every commit that changes the base's chunks (invalidates cached vectors).
    pub chunks_version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
