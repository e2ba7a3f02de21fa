//! Documents of knowledge bases; each is also its own indexing job, leased by the
//! indexing workers like runs.
use sea_orm::entity::prelude::*;

/// One document and where its indexing is.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "knowledge_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub knowledge_id: String,
    /// Unique in its base: uploading the name again replaces the document.
    pub name: String,
    /// `text`, `markdown`, `html`, `csv`, `json` or `pdf`.
    pub format: String,
    pub content_type: String,
    pub metadata: Json,
    /// The original's SHA-256 (hex), its key in `knowledge_blobs`.
    pub sha256: String,
    pub size_bytes: i64,
    pub status: DocumentStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Chunks done of `progress_total`, while indexing.
    pub progress_done: i32,
    pub progress_total: i32,
    /// Indexing attempts so far.
    pub attempts: i32,
    pub chunk_count: i32,
    pub token_count: i64,
    /// The base's `settings_version` this document is (being) indexed under.
    pub settings_version: i32,
    /// When a pending document is due (retries wait).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The instance indexing it, while it holds the lease.
    pub lease_owner: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
}

/// A document's indexing status, stored as its lower-case name.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Waiting for a worker (or for its retry to fall due).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// A worker is indexing it (leased).
    #[sea_orm(string_value = "indexing")]
    Indexing,
    /// Its chunks are searchable.
    #[sea_orm(string_value = "indexed")]
    Indexed,
    /// It could not be indexed; `error_code` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl DocumentStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Indexing, Self::Indexed, Self::Failed];

    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Indexing => "indexing",
            Self::Indexed => "indexed",
            Self::Failed => "failed",
        }
    }

    /// The status named `s`, if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn stored_values_are_the_names() {
        for s in DocumentStatus::iter() {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(DocumentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DocumentStatus::iter().count(), DocumentStatus::ALL.len());
    }
}
