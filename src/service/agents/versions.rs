//! Immutable agent versions: one row per change, never updated. Reading a version to
//! execute it is the runtime's (`runtime::versions`).

use super::super::pagination::{self, Keyset, Kind, Page, PageArgs, Sort, SortValue};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::ids;
use entity::agent_versions::{self, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

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

/// An agent's versions, newest first. Needs `agents:read` whichever path led here (an
/// agent reached through `Run.agent` is read with the runs scope only).
pub async fn list(
    db: &impl ConnectionTrait,
    p: &Principal,
    agent_id: &str,
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(crate::auth::Scope::AgentsRead)?;
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

/// One version of an agent of the caller's organisation, by its id. Needs
/// `agents:read`.
pub async fn get(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(crate::auth::Scope::AgentsRead)?;
    Entity::find_by_id(id.to_owned())
        .filter(Column::OrgId.eq(&p.org_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("agent version {id} not found")))
}
