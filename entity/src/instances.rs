//! Instances: one row per running server process, kept fresh by its heartbeat.
use sea_orm::entity::prelude::*;

/// A server instance. The leases it holds (`runs.lease_owner = id`) live as long as
/// `last_seen` stays within the lease TTL; a missing or stale row means the instance died.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub started_at: DateTimeUtc,
    pub last_seen: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
