//! Organisations and their plan tiers: the operator's actions (CLI, bootstrap) and the
//! stored tier that the agent cap reads.

pub use crate::auth::Tier;
use crate::error::{AppError, AppResult, FieldError};
use crate::ids;
use chrono::SecondsFormat;
use entity::organizations;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::{json, Value};

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

/// The tier an organisation has now, as stored (not as a cached principal remembers it).
pub async fn tier(db: &impl ConnectionTrait, id: &str) -> AppResult<Tier> {
    let org = get(db, id).await?;
    Tier::parse(&org.tier).map_err(|_| {
        AppError::internal(anyhow::anyhow!(
            "organisation {id} has the unknown tier `{}`",
            org.tier
        ))
    })
}

/// A change to an organisation, as an operator types it: `None` leaves a field as it
/// is; `Some(None)` clears a rate-limit override (back to the tier's figure).
#[derive(Debug, Clone, Default)]
pub struct OrgChange {
    /// The new tier: `free`, `pro` or `enterprise`.
    pub tier: Option<String>,
    /// Overrides the tier's requests per minute.
    pub requests_per_minute: Option<Option<i64>>,
    /// Overrides the tier's burst (requests per second).
    pub burst_per_second: Option<Option<i64>>,
}

/// Changes an organisation's tier and rate-limit overrides. Every instance sees the new
/// tier once its cached principals expire (`auth_cache_ttl`); the agent count reads the
/// stored tier at once (`service::agents::create`).
pub async fn update(
    db: &impl ConnectionTrait,
    id: &str,
    change: OrgChange,
) -> AppResult<organizations::Model> {
    let mut errors = Vec::new();
    let tier = match change.tier.as_deref().map(Tier::parse) {
        Some(Ok(tier)) => Some(tier),
        Some(Err(err)) => {
            errors.extend_from_slice(err.field_errors());
            None
        }
        None => None,
    };
    let rpm = positive(
        "/requests_per_minute",
        change.requests_per_minute,
        &mut errors,
    );
    let burst = positive("/burst_per_second", change.burst_per_second, &mut errors);
    AppError::from_field_errors(errors)?;
    let mut org: organizations::ActiveModel = get(db, id).await?.into();
    if let Some(tier) = tier {
        org.tier = Set(tier.as_str().to_owned());
    }
    if let Some(rpm) = rpm {
        org.requests_per_minute = Set(rpm);
    }
    if let Some(burst) = burst {
        org.burst_per_second = Set(burst);
    }
    // An unchanged model is not written (sea-orm sends no empty UPDATE).
    if !org.is_changed() {
        return get(db, id).await;
    }
    Ok(org.update(db).await?)
}

/// A per-second or per-minute override: a whole number from 1 to `i32::MAX` (the
/// column's range), or a clear.
fn positive(
    pointer: &str,
    value: Option<Option<i64>>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<i32>> {
    match value? {
        None => Some(None),
        Some(n) => match i32::try_from(n) {
            Ok(n) if n > 0 => Some(Some(n)),
            _ => {
                errors.push(FieldError::new(
                    pointer,
                    format!("must be a whole number from 1 to {}", i32::MAX),
                ));
                None
            }
        },
    }
}

/// An organisation as the CLI prints it (JSON, times in RFC 3339 UTC with milliseconds).
pub fn describe(org: &organizations::Model) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "tier": org.tier,
        "requests_per_minute": org.requests_per_minute,
        "burst_per_second": org.burst_per_second,
        "created_at": org.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
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
