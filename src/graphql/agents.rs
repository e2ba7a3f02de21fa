//! Agents in GraphQL: the `Agent` and `AgentVersion` types, queries and mutations.

use super::agent_versions::AgentVersion;
use super::connection::{from_page, page_args, OrderDirection};
use super::scalars::DateTime;
use super::{db, principal};
use crate::error::{AppError, FieldError};
use crate::service::agents::{self as svc, versions, AgentField, AgentPatch, NewAgent};
use crate::service::pagination::Sort;
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, Json, MaybeUndefined, Object, Result, ID};
use entity::agents;
use serde_json::Value;
use std::sync::Arc;

/// An agent: a model, instructions and tools that runs act on. Shared, never copied:
/// a page of runs points its runs at one row per agent.
pub struct Agent(pub Arc<agents::Model>);

impl From<agents::Model> for Agent {
    fn from(m: agents::Model) -> Self {
        Self(Arc::new(m))
    }
}

pub(super) fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

pub(super) fn json_list(v: &Value) -> Vec<Json<Value>> {
    v.as_array()
        .map(|a| a.iter().cloned().map(Json).collect())
        .unwrap_or_default()
}

#[Object]
impl Agent {
    /// `agt_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Optional description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// `provider/model`, e.g. `openai/gpt-4o-mini` or `mock/echo`.
    async fn model(&self) -> &str {
        &self.0.model
    }
    /// Provider settings (temperature, max_tokens, ...).
    async fn model_settings(&self) -> Json<Value> {
        Json(self.0.model_settings.clone())
    }
    /// System instructions, a minijinja template.
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }
    /// Tool definitions (`{"type": "http", "name", "url", "description", "parameters"}`).
    async fn tools(&self) -> Vec<Json<Value>> {
        json_list(&self.0.tools)
    }
    /// Knowledge bases the agent may search.
    async fn knowledge_ids(&self) -> Vec<ID> {
        strings(&self.0.knowledge_ids).into_iter().map(ID).collect()
    }
    /// How its runs retrieve from them.
    async fn retrieval(&self) -> super::agent_retrieval::AgentRetrieval {
        super::agent_retrieval::AgentRetrieval::of(self.0.retrieval.as_ref())
    }
    /// Channels the agent serves.
    async fn channels(&self) -> Vec<String> {
        strings(&self.0.channels)
    }
    /// Free-form metadata.
    async fn metadata(&self) -> Json<Value> {
        Json(self.0.metadata.clone())
    }
    /// Current version number; every change adds one.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the agent was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the agent last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// Every version of the agent, newest first.
    async fn versions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AgentVersion>> {
        let page = versions::list(
            db(ctx),
            principal(ctx),
            &self.0.id,
            &page_args(first, after, last, before),
        )
        .await?;
        Ok(from_page(page, AgentVersion))
    }
}

/// Fields an agent list can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AgentOrderField {
    /// Alphabetical by name.
    Name,
    /// By creation time.
    CreatedAt,
    /// By last change.
    UpdatedAt,
}

/// One sort key of an agent list.
#[derive(InputObject, Clone, Copy)]
pub struct AgentOrder {
    /// The field.
    pub field: AgentOrderField,
    /// The direction.
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// Filters on agent lists.
#[derive(InputObject, Default)]
pub struct AgentFilter {
    /// Only agents on exactly this model.
    pub model: Option<String>,
    /// Only agents created at or after this time.
    pub created_after: Option<DateTime>,
    /// Only agents created before this time.
    pub created_before: Option<DateTime>,
}

/// A new agent.
#[derive(InputObject)]
pub struct CreateAgentInput {
    /// Display name (1-200 characters).
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// `provider/model`.
    pub model: String,
    /// Provider settings: a JSON object.
    pub model_settings: Option<Json<Value>>,
    /// System instructions (a minijinja template).
    pub instructions: Option<String>,
    /// Tool definitions.
    pub tools: Option<Vec<Json<Value>>>,
    /// Knowledge bases the agent may search.
    pub knowledge_ids: Option<Vec<ID>>,
    /// How its runs retrieve from them (defaults: 5 chunks, hybrid, no minimum).
    pub retrieval: Option<super::agent_retrieval::AgentRetrievalInput>,
    /// Channels the agent serves.
    pub channels: Option<Vec<String>>,
    /// Free-form metadata: a JSON object.
    pub metadata: Option<Json<Value>>,
}

/// A change to an agent: only the fields given change. Only `description` can be
/// cleared with `null`; `null` for any other field is a validation error.
#[derive(InputObject)]
pub struct UpdateAgentInput {
    /// New name.
    pub name: MaybeUndefined<String>,
    /// New description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// New model.
    pub model: MaybeUndefined<String>,
    /// New model settings.
    pub model_settings: MaybeUndefined<Json<Value>>,
    /// New instructions.
    pub instructions: MaybeUndefined<String>,
    /// New tools.
    pub tools: MaybeUndefined<Vec<Json<Value>>>,
    /// New knowledge base ids.
    pub knowledge_ids: MaybeUndefined<Vec<ID>>,
    /// New retrieval settings (missing fields take their defaults).
    pub retrieval: MaybeUndefined<super::agent_retrieval::AgentRetrievalInput>,
    /// New channels.
    pub channels: MaybeUndefined<Vec<String>>,
    /// New metadata.
    pub metadata: MaybeUndefined<Json<Value>>,
}

/// `Some(v)` for a value, `None` when absent, and a field error for `null`.
fn keep_or_set<T>(v: MaybeUndefined<T>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Value(v) => Some(v),
        MaybeUndefined::Null => {
            errors.push(FieldError::new(
                pointer,
                "cannot be null; leave it out to keep the current value",
            ));
            None
        }
    }
}

fn ids(v: Option<Vec<ID>>) -> Option<Vec<String>> {
    v.map(|v| v.into_iter().map(|id| id.0).collect())
}

fn unjson(v: Option<Vec<Json<Value>>>) -> Option<Vec<Value>> {
    v.map(|v| v.into_iter().map(|j| j.0).collect())
}

/// Agent queries.
#[derive(Default)]
pub struct AgentsQuery;

#[Object]
impl AgentsQuery {
    /// One agent by id.
    async fn agent(&self, ctx: &Context<'_>, id: ID) -> Result<Agent> {
        Ok(svc::get(db(ctx), principal(ctx), &id).await?.into())
    }

    /// The organisation's agents, newest first unless `orderBy` says otherwise.
    // The arguments are Relay's four plus filter and order: a GraphQL field's arguments.
    #[allow(clippy::too_many_arguments)]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AgentFilter>,
        order_by: Option<Vec<AgentOrder>>,
    ) -> Result<Connection<String, Agent>> {
        let filter = filter.unwrap_or_default();
        let filter = svc::AgentFilter {
            model: filter.model,
            created_after: filter.created_after.map(|d| d.0),
            created_before: filter.created_before.map(|d| d.0),
        };
        let sort: Vec<_> = order_by
            .unwrap_or_default()
            .into_iter()
            .map(|o| Sort {
                field: match o.field {
                    AgentOrderField::Name => AgentField::Name,
                    AgentOrderField::CreatedAt => AgentField::CreatedAt,
                    AgentOrderField::UpdatedAt => AgentField::UpdatedAt,
                },
                desc: o.direction == OrderDirection::Desc,
            })
            .collect();
        let args = page_args(first, after, last, before);
        let page = svc::list(db(ctx), principal(ctx), &filter, &sort, &args).await?;
        Ok(from_page(page, Agent::from))
    }
}

/// Agent mutations.
#[derive(Default)]
pub struct AgentsMutation;

#[Object]
impl AgentsMutation {
    /// Creates an agent (version 1).
    async fn create_agent(&self, ctx: &Context<'_>, input: CreateAgentInput) -> Result<Agent> {
        let new = NewAgent {
            name: input.name,
            description: input.description,
            model: input.model,
            model_settings: input.model_settings.map(|j| j.0),
            instructions: input.instructions,
            tools: unjson(input.tools),
            knowledge_ids: ids(input.knowledge_ids),
            retrieval: input.retrieval.map(Into::into),
            channels: input.channels,
            metadata: input.metadata.map(|j| j.0),
        };
        Ok(Agent::from(
            svc::create(
                db(ctx),
                principal(ctx),
                &super::services(ctx).agent_rules,
                new,
            )
            .await?,
        ))
    }

    /// Changes the fields given; a real change makes a new version.
    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateAgentInput,
    ) -> Result<Agent> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let patch = AgentPatch {
            name: keep_or_set(input.name, "/name", e),
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
            model: keep_or_set(input.model, "/model", e),
            model_settings: keep_or_set(input.model_settings, "/model_settings", e).map(|j| j.0),
            instructions: keep_or_set(input.instructions, "/instructions", e),
            tools: unjson(keep_or_set(input.tools, "/tools", e)),
            knowledge_ids: ids(keep_or_set(input.knowledge_ids, "/knowledge_ids", e)),
            retrieval: keep_or_set(input.retrieval, "/retrieval", e).map(Into::into),
            channels: keep_or_set(input.channels, "/channels", e),
            metadata: keep_or_set(input.metadata, "/metadata", e).map(|j| j.0),
        };
        AppError::from_field_errors(errors)?;
        Ok(Agent::from(
            svc::update(
                db(ctx),
                principal(ctx),
                &super::services(ctx).agent_rules,
                &id,
                patch,
            )
            .await?,
        ))
    }

    /// Deletes an agent; returns its id.
    async fn delete_agent(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        Ok(ID(svc::delete(db(ctx), principal(ctx), &id).await?))
    }
}
