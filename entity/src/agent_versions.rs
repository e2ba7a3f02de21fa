//! Immutable, numbered snapshots of an agent's configuration.
use sea_orm::entity::prelude::*;

/// The agent's configuration as it was at `version`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub agent_id: String,
    pub version: i32,
    /// The agent's fields (name, model, instructions, ...) at this version.
    pub snapshot: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
