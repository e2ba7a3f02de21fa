//! Agents: create, read, list, change (each change a new immutable version), delete.

mod retrieval;
mod validate;
pub mod versions;

pub use retrieval::Retrieval;

use super::pagination::{self, Keyset, Kind, Page, PageArgs, Sort, SortValue};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, PlanLimit};
use crate::ids;
use chrono::{DateTime, Utc};
use entity::agents::{self, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Fields of a new agent.
#[derive(Debug, Clone, Default)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// `provider/model`.
    pub model: String,
    /// Provider settings (temperature, max_tokens, ...): a JSON object.
    pub model_settings: Option<Value>,
    /// System instructions (a minijinja template).
    pub instructions: Option<String>,
    /// Tool definitions.
    pub tools: Option<Vec<Value>>,
    /// Knowledge bases the agent may search.
    pub knowledge_ids: Option<Vec<String>>,
    /// How it retrieves from them.
    pub retrieval: Option<Retrieval>,
    /// Channels the agent serves.
    pub channels: Option<Vec<String>>,
    /// Free-form metadata: a JSON object.
    pub metadata: Option<Value>,
}

/// A change to an agent: `None` leaves a field as it is. `description` is doubly
/// optional so that `null` clears it.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    /// New name.
    pub name: Option<String>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// New model.
    pub model: Option<String>,
    /// New model settings.
    pub model_settings: Option<Value>,
    /// New instructions.
    pub instructions: Option<String>,
    /// New tools.
    pub tools: Option<Vec<Value>>,
    /// New knowledge base ids.
    pub knowledge_ids: Option<Vec<String>>,
    /// New retrieval settings.
    pub retrieval: Option<Retrieval>,
    /// New channels.
    pub channels: Option<Vec<String>>,
    /// New metadata.
    pub metadata: Option<Value>,
}

/// What checking an agent needs from the server's configuration.
#[derive(Clone)]
pub struct AgentRules {
    /// Tool URLs and timeouts are checked against it.
    pub outbound: crate::outbound::Outbound,
    /// The largest `model_settings.max_steps` allowed.
    pub max_steps_limit: u32,
    /// The longest `approval.timeout_s` a tool may ask for (`gates.max_timeout`).
    pub max_gate_timeout: std::time::Duration,
}

/// Sortable agent fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentField {
    /// Name, alphabetical.
    Name,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

/// Filters on agent lists.
#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    /// Exactly this model.
    pub model: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
}

impl Keyset for Model {
    type Entity = Entity;
    type Field = AgentField;
    fn column(field: AgentField) -> Column {
        match field {
            AgentField::Name => Column::Name,
            AgentField::CreatedAt => Column::CreatedAt,
            AgentField::UpdatedAt => Column::UpdatedAt,
        }
    }
    fn id_column() -> Column {
        Column::Id
    }
    fn field_name(field: AgentField) -> &'static str {
        match field {
            AgentField::Name => "name",
            AgentField::CreatedAt => "created_at",
            AgentField::UpdatedAt => "updated_at",
        }
    }
    fn kind(field: AgentField) -> Kind {
        match field {
            AgentField::Name => Kind::Text,
            AgentField::CreatedAt | AgentField::UpdatedAt => Kind::Time,
        }
    }
    fn value(&self, field: AgentField) -> SortValue {
        match field {
            AgentField::Name => SortValue::Text(self.name.clone()),
            AgentField::CreatedAt => SortValue::Time(self.created_at),
            AgentField::UpdatedAt => SortValue::Time(self.updated_at),
        }
    }
    fn id(&self) -> &str {
        &self.id
    }
}

/// Agents by (organisation, id), deleted ones included (a run still names its agent):
/// one query for a whole page of runs. A key of another organisation finds nothing.
pub async fn by_keys(
    db: &impl ConnectionTrait,
    keys: &[(String, String)],
) -> AppResult<HashMap<(String, String), Model>> {
    let wanted: HashSet<&(String, String)> = keys.iter().collect();
    let ids = keys.iter().map(|(_, id)| id.as_str());
    let found = Entity::find().filter(Column::Id.is_in(ids)).all(db).await?;
    Ok(found
        .into_iter()
        .map(|a| ((a.org_id.clone(), a.id.clone()), a))
        .filter(|(k, _)| wanted.contains(k))
        .collect())
}

/// The caller's agents among `ids` (repeats allowed), deleted ones included (a run still
/// names its agent), in one query: the agents of a page of runs, shared by its runs.
pub async fn by_ids<'a>(
    db: &impl ConnectionTrait,
    p: &Principal,
    ids: impl Iterator<Item = &'a str>,
) -> AppResult<HashMap<String, std::sync::Arc<Model>>> {
    let ids: HashSet<&str> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(|a| (a.id.clone(), std::sync::Arc::new(a)))
        .collect())
}

/// The configuration that versions snapshot.
pub fn snapshot(agent: &Model) -> Value {
    json!({
        "name": agent.name,
        "description": agent.description,
        "model": agent.model,
        "model_settings": agent.model_settings,
        "instructions": agent.instructions,
        "tools": agent.tools,
        "knowledge_ids": agent.knowledge_ids,
        "retrieval": Retrieval::of(agent.retrieval.as_ref()).to_json(),
        "channels": agent.channels,
        "metadata": agent.metadata,
    })
}

fn live(p: &Principal) -> sea_orm::Select<Entity> {
    Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::DeletedAt.is_null())
}

/// Creates an agent (version 1), within the plan's agent limit.
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait<Transaction = sea_orm::DatabaseTransaction>),
    p: &Principal,
    rules: &AgentRules,
    new: NewAgent,
) -> AppResult<Model> {
    p.require(Scope::AgentsWrite)?;
    validate::new_agent(rules, &new)?;
    if let Some(ids) = &new.knowledge_ids {
        super::knowledge::check_ids(db, p, ids).await?;
    }
    let now = crate::clock::now();
    // Insert first, then count: a transaction that writes before it reads never has to
    // upgrade a stale read snapshot, which SQLite refuses with "database is locked".
    let txn = db.begin().await?;
    // Concurrent creates in one organisation queue here, so the count below is exact.
    super::orgs::lock_for_update(&txn, &p.org_id).await?;
    let agent = agents::ActiveModel {
        id: Set(ids::new_id(ids::AGENT)),
        org_id: Set(p.org_id.clone()),
        name: Set(new.name.trim().to_owned()),
        description: Set(new.description),
        model: Set(new.model),
        model_settings: Set(new.model_settings.unwrap_or_else(|| json!({}))),
        instructions: Set(new.instructions.unwrap_or_default()),
        tools: Set(json!(new.tools.unwrap_or_default())),
        knowledge_ids: Set(json!(new.knowledge_ids.unwrap_or_default())),
        retrieval: Set(new.retrieval.map(Retrieval::to_json)),
        channels: Set(json!(new.channels.unwrap_or_default())),
        metadata: Set(new.metadata.unwrap_or_else(|| json!({}))),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(&txn)
    .await?;
    // The stored tier, not the principal's (cached for `auth_cache_ttl`): read under the
    // same lock, so a tier change and a create never cross, and a downgrade counts at once.
    let tier = super::orgs::tier(&txn, &p.org_id).await?;
    if let Some(limit) = tier.agent_limit() {
        if live(p).count(&txn).await? > limit {
            txn.rollback().await?;
            return Err(AppError::PlanLimitExceeded(PlanLimit {
                resource: "agents",
                tier: tier.as_str(),
                limit,
            }));
        }
    }
    versions::record(&txn, &agent).await?;
    txn.commit().await?;
    Ok(agent)
}

/// Checks that the caller may read agents. Every path to an agent's configuration asks
/// this, `Run.agent` included, so a `runs:read` key cannot read instructions or tool
/// URLs through a run.
pub fn authorize_read(p: &Principal) -> AppResult<()> {
    p.require(Scope::AgentsRead)
}

/// One agent of the caller's organisation.
pub async fn get(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(Scope::AgentsRead)?;
    find(db, p, id).await
}

/// One live agent of the caller's organisation, whatever the caller's scopes (for
/// operations that act on an agent without reading it, like triggering a run).
pub(crate) async fn find(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    live(p)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("agent {id} not found")))
}

/// A page of the caller's agents.
pub async fn list(
    db: &impl ConnectionTrait,
    p: &Principal,
    filter: &AgentFilter,
    sort: &[Sort<AgentField>],
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::AgentsRead)?;
    let mut select = live(p);
    if let Some(model) = &filter.model {
        select = select.filter(Column::Model.eq(model));
    }
    if let Some(after) = filter.created_after {
        select = select.filter(Column::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(before));
    }
    let default = [Sort {
        field: AgentField::CreatedAt,
        desc: true,
    }];
    let sort = if sort.is_empty() { &default[..] } else { sort };
    pagination::paginate(db, select, sort, args).await
}

/// Applies a patch. Only named fields change; a real change bumps the version and
/// stores it; a patch that changes nothing stores nothing.
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait<Transaction = sea_orm::DatabaseTransaction>),
    p: &Principal,
    rules: &AgentRules,
    id: &str,
    patch: AgentPatch,
) -> AppResult<Model> {
    p.require(Scope::AgentsWrite)?;
    validate::patch(rules, &patch)?;
    if let Some(ids) = &patch.knowledge_ids {
        super::knowledge::check_ids(db, p, ids).await?;
    }
    // Read outside the transaction; the write below is guarded on the version read, so
    // the transaction starts with a write (see `create`).
    let current = find(db, p, id).await?;
    let mut next = current.clone();
    if let Some(v) = patch.name {
        next.name = v.trim().to_owned();
    }
    if let Some(v) = patch.description {
        next.description = v;
    }
    if let Some(v) = patch.model {
        next.model = v;
    }
    if let Some(v) = patch.model_settings {
        next.model_settings = v;
    }
    if let Some(v) = patch.instructions {
        next.instructions = v;
    }
    if let Some(v) = patch.tools {
        next.tools = json!(v);
    }
    if let Some(v) = patch.knowledge_ids {
        next.knowledge_ids = json!(v);
    }
    if let Some(v) = patch.retrieval {
        next.retrieval = Some(v.to_json());
    }
    if let Some(v) = patch.channels {
        next.channels = json!(v);
    }
    if let Some(v) = patch.metadata {
        next.metadata = v;
    }
    if snapshot(&next) == snapshot(&current) {
        return Ok(current);
    }
    next.version = current.version + 1;
    next.updated_at = crate::clock::now();
    // Guarded on the version read above: a concurrent change makes this a conflict
    // instead of silently overwriting it.
    let txn = db.begin().await?;
    let result = Entity::update_many()
        .set(agents::ActiveModel::from(next.clone()).reset_all())
        .filter(Column::Id.eq(id))
        .filter(Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the agent was changed at the same time; retry".into(),
        ));
    }
    versions::record(&txn, &next).await?;
    txn.commit().await?;
    Ok(next)
}

/// Deletes an agent. Its row stays (runs keep their history) but it is gone from
/// every read.
pub async fn delete(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<String> {
    p.require(Scope::AgentsWrite)?;
    let agent = find(db, p, id).await?;
    let mut active: agents::ActiveModel = agent.into();
    active.deleted_at = Set(Some(crate::clock::now()));
    active.update(db).await?;
    Ok(id.to_owned())
}
