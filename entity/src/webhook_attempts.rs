//! Webhook attempts: the log of every try of a delivery.
use sea_orm::entity::prelude::*;

/// One attempt: when, what came back, how long it took.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub delivery_id: String,
    pub org_id: String,
    pub attempted_at: DateTimeUtc,
    /// The HTTP status the endpoint answered (none if it never answered).
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    /// The first 1 KiB of the answer's body.
    #[sea_orm(column_type = "Text", nullable)]
    pub response: Option<String>,
    /// Why the attempt failed without an answer (refused, timeout, connection), if so.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
