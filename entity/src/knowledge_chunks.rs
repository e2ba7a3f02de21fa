//! The searchable pieces of indexed documents, with their vectors.
use sea_orm::entity::prelude::*;

/// One chunk. `seq` is the full-text index's row id; `id` is what clients see.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_chunks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub id: String,
    pub org_id: String,
    pub knowledge_id: String,
    pub document_id: String,
    /// 0, 1, ... within the document.
    pub position: i32,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub tokens: i32,
    /// Little-endian `f32`s, L2-normalised, when the base has an embedding model.
    #[sea_orm(column_type = "Blob", nullable)]
    pub embedding: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
