//! Approval gates in GraphQL: the `Gate` type, `gate`, `gates`, `approveGate`,
//! `rejectGate` (the `gateUpdates` subscription is in `subscriptions`).

use super::connection::{from_page, page_args};
use super::scalars::DateTime;
use super::{caller, db, principal};
use crate::service::gates::{self as svc, GateFilter as SvcFilter};
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, Json, Object, Result, ID};
use entity::gates;
use serde_json::Value;

/// Where a gate is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::gates::GateStatus")]
pub enum GateStatus {
    /// Waiting for a person.
    Pending,
    /// Approved: the run calls the tool.
    Approved,
    /// Rejected: the model is told the call was refused.
    Rejected,
    /// Nobody resolved it in time, or its run was cancelled.
    Expired,
}

/// A tool call that waits for a person's approval before it is made.
pub struct Gate(pub gates::Model);

#[Object]
impl Gate {
    /// `gate_...`
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The run that waits.
    async fn run_id(&self) -> ID {
        ID(self.0.run_id.clone())
    }
    /// The run's agent.
    async fn agent_id(&self) -> ID {
        ID(self.0.agent_id.clone())
    }
    /// The model's id for the call.
    async fn call_id(&self) -> &str {
        &self.0.call_id
    }
    /// The tool the model wants to call.
    async fn tool_name(&self) -> &str {
        &self.0.tool_name
    }
    /// The arguments the model gave.
    async fn arguments(&self) -> Json<Value> {
        Json(self.0.arguments.clone())
    }
    /// What the agent asks the approver.
    async fn prompt(&self) -> Option<&str> {
        self.0.prompt.as_deref()
    }
    /// Pending, approved, rejected or expired.
    async fn status(&self) -> GateStatus {
        self.0.status.into()
    }
    /// What expiry does: `reject` or `approve`.
    async fn on_timeout(&self) -> &str {
        &self.0.on_timeout
    }
    /// The approver's comment.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// The key (or user) that resolved it; none when it expired.
    async fn resolved_by(&self) -> Option<&str> {
        self.0.resolved_by.as_deref()
    }
    /// The arguments the approver gave instead of the model's.
    async fn resolved_arguments(&self) -> Option<Json<Value>> {
        self.0.resolved_arguments.clone().map(Json)
    }
    /// When it opened.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime> {
        self.0.resolved_at.map(Into::into)
    }
    /// When it expires if nobody resolves it.
    async fn expires_at(&self) -> DateTime {
        self.0.expires_at.into()
    }
}

/// Filters on gate lists (and `gateUpdates`).
#[derive(InputObject, Default, Clone)]
pub struct GateFilter {
    /// Gates in any of these statuses.
    pub status: Option<Vec<GateStatus>>,
    /// Gates of this run.
    pub run_id: Option<ID>,
    /// Gates of this agent's runs.
    pub agent_id: Option<ID>,
}

impl From<GateFilter> for SvcFilter {
    fn from(f: GateFilter) -> Self {
        Self {
            status: f
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            run_id: f.run_id.map(|i| i.0),
            agent_id: f.agent_id.map(|i| i.0),
        }
    }
}

/// Approving a gate.
#[derive(InputObject, Default)]
pub struct ApproveGateInput {
    /// Why (shown on the gate).
    pub comment: Option<String>,
    /// Arguments that replace the model's (checked against the tool's schema).
    pub arguments: Option<Json<Value>>,
}

/// Rejecting a gate.
#[derive(InputObject, Default)]
pub struct RejectGateInput {
    /// Why (the model is told).
    pub comment: Option<String>,
}

/// Gate queries.
#[derive(Default)]
pub struct GatesQuery;

#[Object]
impl GatesQuery {
    /// One gate by id.
    async fn gate(&self, ctx: &Context<'_>, id: ID) -> Result<Gate> {
        Ok(Gate(svc::get(db(ctx), principal(ctx), &id).await?))
    }

    /// The organisation's gates, newest first.
    async fn gates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<GateFilter>,
    ) -> Result<Connection<String, Gate>> {
        let filter = filter.unwrap_or_default().into();
        let args = page_args(first, after, last, before);
        let page = svc::list(db(ctx), principal(ctx), &filter, &args).await?;
        Ok(from_page(page, Gate))
    }
}

/// Gate mutations.
#[derive(Default)]
pub struct GatesMutation;

#[Object]
impl GatesMutation {
    /// Approves a pending gate; its run goes on and calls the tool (with `arguments`
    /// when given).
    async fn approve_gate(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Option<ApproveGateInput>,
    ) -> Result<Gate> {
        let (s, p) = caller(ctx);
        let input = input.unwrap_or_default();
        let arguments = input.arguments.map(|j| j.0);
        Ok(Gate(
            svc::approve(s, p, &id, input.comment, arguments).await?,
        ))
    }

    /// Rejects a pending gate; its run goes on and the model is told the call was
    /// refused (with the comment).
    async fn reject_gate(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Option<RejectGateInput>,
    ) -> Result<Gate> {
        let (s, p) = caller(ctx);
        let input = input.unwrap_or_default();
        Ok(Gate(svc::reject(s, p, &id, input.comment).await?))
    }
}
