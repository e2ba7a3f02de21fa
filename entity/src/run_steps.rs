//! The steps of a run's trace: model calls and tool calls.
use sea_orm::entity::prelude::*;

/// One step: `llm` (a model call) or `tool` (a tool call).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub run_id: String,
    pub org_id: String,
    pub position: i32,
    pub kind: String,
    pub name: Option<String>,
    pub input: Json,
    pub output: Option<Json>,
    pub tokens_input: i64,
    pub tokens_output: i64,
    pub cost: f64,
    /// `running`, `completed` or `failed`.
    pub status: String,
    pub error: Option<Json>,
    pub started_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
