//! Organisations and their plan tiers.

pub use crate::auth::Tier;
use crate::error::{AppError, AppResult};
use crate::ids;
use entity::organizations;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

/// Creates an organisation (an operator action: CLI and bootstrap).
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    tier: Tier,
) -> AppResult<organizations::Model> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("/name", "must be 1 to 200 characters"));
    }
    let org = organizations::ActiveModel {
        id: Set(ids::new_id(ids::ORG)),
        name: Set(name.to_owned()),
        tier: Set(tier.as_str().to_owned()),
        requests_per_minute: Set(None),
        burst_per_second: Set(None),
        created_at: Set(crate::clock::now()),
    };
    Ok(org.insert(db).await?)
}

/// One organisation by id.
pub async fn get(db: &impl ConnectionTrait, id: &str) -> AppResult<organizations::Model> {
    organizations::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("organisation {id} not found")))
}

/// Serialises writers of one organisation inside a transaction (PostgreSQL: a row lock
/// on the organisation). SQLite needs nothing, as long as the transaction writes first:
/// its single write lock already serialises everything.
pub async fn lock_for_update(txn: &sea_orm::DatabaseTransaction, org_id: &str) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        use sea_orm::QuerySelect;
        organizations::Entity::find_by_id(org_id.to_owned())
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    Ok(())
}
