//! Runs: one execution of an agent on one input.
use sea_orm::entity::prelude::*;

/// A run and its lease. `session_key` groups the runs of one conversation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub agent_id: String,
    pub agent_version: i32,
    /// `queued`, `running`, `waiting_for_approval`, `completed`, `failed`, `cancelled`.
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub input: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub output: Option<String>,
    pub channel: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The conversation this run belongs to (agent + session, or agent + user + channel).
    pub session_key: String,
    /// `{"code": ..., "message": ...}` when the run failed.
    pub error: Option<Json>,
    pub tokens_input: i64,
    pub tokens_output: i64,
    pub cost: f64,
    pub metadata: Json,
    pub test_mode: bool,
    pub cancel_requested: bool,
    /// The instance executing the run, while it holds the lease.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
