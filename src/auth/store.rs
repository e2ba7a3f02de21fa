//! The key rows the authenticator reads and touches. They live with the authenticator
//! (not in `service::api_keys`, which issues and revokes keys) so that `auth` stays
//! below the service layer.

use super::principal::RateOverride;
use super::{Principal, Tier};
use crate::error::{AppError, AppResult};
use entity::api_keys::{Column, Entity, Model};
use entity::organizations;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// The scopes stored on a key.
pub fn scopes_of(key: &Model) -> Vec<String> {
    serde_json::from_value(key.scopes.clone()).unwrap_or_default()
}

/// The principal of a live (unrevoked) key, found by its hash.
pub async fn principal_for_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> AppResult<Option<Principal>> {
    let Some(key) = Entity::find()
        .filter(Column::KeyHash.eq(hash))
        .filter(Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let org_id = &key.org_id;
    let org = organizations::Entity::find_by_id(org_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("organisation {org_id} not found")))?;
    Ok(Some(Principal {
        scopes: scopes_of(&key),
        test_mode: key.mode == entity::api_keys::KeyMode::Test,
        tier: Tier::parse(&org.tier).unwrap_or(Tier::Free),
        rate_override: RateOverride::from_columns(org.requests_per_minute, org.burst_per_second),
        org_id: key.org_id,
        key_id: key.id,
    }))
}

/// Records that a key was used just now.
pub async fn touch(db: &impl ConnectionTrait, key_id: &str) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(crate::clock::now()))
        .filter(Column::Id.eq(key_id))
        .exec(db)
        .await?;
    Ok(())
}
