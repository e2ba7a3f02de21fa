//! An organisation: the tenant every other row belongs to.
use sea_orm::entity::prelude::*;

/// One organisation and its plan tier (`free`, `pro`, `enterprise`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub tier: String,
    /// Overrides the tier's requests per minute for this organisation.
    pub requests_per_minute: Option<i32>,
    /// Overrides the tier's burst (requests per second) for this organisation.
    pub burst_per_second: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
