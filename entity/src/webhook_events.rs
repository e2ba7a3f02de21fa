//! The webhook outbox: one row per event that leaves the server, committed with the
//! state change it reports.
use sea_orm::entity::prelude::*;

/// One event; its id is the `webhook-id` of every delivery and retry of it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// `agent.run.completed`, `agent.gate.pending`, ...
    #[sea_orm(column_name = "type")]
    pub r#type: String,
    /// The body sent: `{"type", "timestamp", "data"}`.
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
