//! The originals of uploaded documents, one row per organisation and SHA-256, so a
//! base can be indexed again without the client uploading again.
use sea_orm::entity::prelude::*;

/// One original. `data` is empty when the originals are kept in a directory instead.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_blobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    #[sea_orm(column_type = "Blob", nullable)]
    pub data: Option<Vec<u8>>,
    pub size: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
