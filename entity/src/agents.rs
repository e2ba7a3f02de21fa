//! Agents: the current configuration of each agent. Every change also writes an
//! immutable row in `agent_versions`.
use sea_orm::entity::prelude::*;

/// One agent. Deleted agents keep their row (`deleted_at` set) so that runs keep
/// pointing at something; every query filters them out.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `provider/model`, e.g. `openai/gpt-4o-mini` or `mock/echo`.
    pub model: String,
    pub model_settings: Json,
    #[sea_orm(column_type = "Text")]
    pub instructions: String,
    pub tools: Json,
    pub knowledge_ids: Json,
    pub channels: Json,
    pub metadata: Json,
    /// `{top_k, mode, min_score}` for retrieval from `knowledge_ids` (defaults when null).
    pub retrieval: Option<Json>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
