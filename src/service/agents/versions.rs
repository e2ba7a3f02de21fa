//! Immutable agent versions: one row per change, never updated.

use super::super::pagination::{self, Keyset, Kind, Page, PageArgs, Sort, SortValue};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::ids;
use entity::agent_versions::{self, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use std::sync::Arc;

impl Keyset for Model {
    type Entity = Entity;
    type Field = ();
    fn column(_: ()) -> Column {
        Column::Version
    }
    fn id_column() -> Column {
        Column::Id
    }
    fn field_name(_: ()) -> &'static str {
        "version"
    }
    fn kind(_: ()) -> Kind {
        Kind::Int
    }
    fn value(&self, _: ()) -> SortValue {
        SortValue::Int(self.version.into())
    }
    fn id(&self) -> &str {
        &self.id
    }
}

/// Stores the agent's current configuration as its version.
pub(super) async fn record(
    db: &impl ConnectionTrait,
    agent: &entity::agents::Model,
) -> AppResult<()> {
    agent_versions::ActiveModel {
        id: Set(ids::new_id(ids::AGENT_VERSION)),
        org_id: Set(agent.org_id.clone()),
        agent_id: Set(agent.id.clone()),
        version: Set(agent.version),
        snapshot: Set(super::snapshot(agent)),
        created_at: Set(agent.updated_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// An agent's versions, newest first. The caller has already read the agent, which
/// checked scope and organisation.
pub async fn list(
    db: &impl ConnectionTrait,
    p: &Principal,
    agent_id: &str,
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    let select = Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::AgentId.eq(agent_id));
    pagination::paginate(
        db,
        select,
        &[Sort {
            field: (),
            desc: true,
        }],
        args,
    )
    .await
}

/// Agent version snapshots by (agent, version). Versions never change, so entries never
/// go stale; the bound only caps memory.
pub type VersionCache = moka::sync::Cache<(String, i32), Arc<Value>>;

/// A cache for [`snapshot`].
pub fn cache() -> VersionCache {
    moka::sync::Cache::new(10_000)
}

/// The configuration of one version of an agent (for executing a run of it).
pub async fn snapshot(
    db: &impl ConnectionTrait,
    cache: &VersionCache,
    agent_id: &str,
    version: i32,
) -> AppResult<Arc<Value>> {
    let key = (agent_id.to_owned(), version);
    if let Some(snap) = cache.get(&key) {
        return Ok(snap);
    }
    let row = Entity::find()
        .filter(Column::AgentId.eq(agent_id))
        .filter(Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "version {version} of agent {agent_id} is missing"
            ))
        })?;
    let snap = Arc::new(row.snapshot);
    cache.insert(key, snap.clone());
    Ok(snap)
}
