//! Runs in GraphQL: the `Run` type with its trace, queries, `runAgent` and `cancelRun`.

use super::agents::Agent;
use super::connection::{from_page, page_args, OrderDirection};
use super::enums::RunStatus;
use super::gates::Gate;
use super::run_steps::RunStep;
use super::scalars::DateTime;
use super::{caller, db, principal};
use crate::service::runs::{self as svc, Multitask, RunFilter as SvcFilter, RunRequest, Wait};
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, Json, Object, Result, SimpleObject, ID};
use entity::{agents, runs};
use serde_json::Value;
use std::sync::Arc;

/// A run: one execution of an agent on one input, with its trace. Shared with the bus
/// (an update reaches every subscriber as the same row); a page of runs carries its
/// agents, read in one query with the page (see [`RunsQuery::runs`]).
pub struct Run(pub Arc<runs::Model>, Option<Arc<agents::Model>>);

impl Run {
    /// A run whose agent is read when asked for.
    pub fn new(run: impl Into<Arc<runs::Model>>) -> Self {
        Self(run.into(), None)
    }
}

/// Why a run failed.
#[derive(SimpleObject)]
pub struct RunError {
    /// Stable code: `provider_error`, `timeout`, `rate_limited`, `tool_error`,
    /// `max_steps_exceeded`, `worker_lost`, `template_error`, `unknown_provider`, `internal`.
    pub code: String,
    /// What happened.
    pub message: String,
}

/// Token counts.
#[derive(SimpleObject)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input: i64,
    /// Completion tokens.
    pub output: i64,
}

pub(super) fn error_of(v: &Option<Value>) -> Option<RunError> {
    v.as_ref().map(|e| RunError {
        code: e["code"].as_str().unwrap_or("internal").to_owned(),
        message: e["message"].as_str().unwrap_or_default().to_owned(),
    })
}

#[Object]
impl Run {
    /// `run_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Where the run is in its life.
    async fn status(&self) -> RunStatus {
        self.0.status.into()
    }
    /// The agent's id.
    async fn agent_id(&self) -> ID {
        ID(self.0.agent_id.clone())
    }
    /// The agent (as it is now; `agentVersion` is the version the run used).
    async fn agent(&self, ctx: &Context<'_>) -> Result<Option<Agent>> {
        crate::service::agents::authorize_read(principal(ctx))?;
        if let Some(agent) = &self.1 {
            return Ok(Some(Agent(agent.clone())));
        }
        Ok(super::agent_loader(ctx)
            .load_one((self.0.org_id.clone(), self.0.agent_id.clone()))
            .await?
            .map(Agent))
    }
    /// The agent version the run executed.
    async fn agent_version(&self) -> i32 {
        self.0.agent_version
    }
    /// The user's message.
    async fn input(&self) -> &str {
        &self.0.input
    }
    /// The agent's answer, once completed.
    async fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }
    /// Channel.
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    /// End user.
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    /// Explicit conversation id.
    async fn session_id(&self) -> Option<&str> {
        self.0.session_id.as_deref()
    }
    /// Why the run failed.
    async fn error(&self) -> Option<RunError> {
        error_of(&self.0.error)
    }
    /// Token usage over all model steps.
    async fn tokens(&self) -> TokenUsage {
        TokenUsage {
            input: self.0.tokens_input,
            output: self.0.tokens_output,
        }
    }
    /// Cost over all model steps (price table in config).
    async fn cost(&self) -> f64 {
        self.0.cost
    }
    /// Milliseconds from start to end.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }
    /// Free-form metadata given when the run was triggered.
    async fn metadata(&self) -> Json<Value> {
        Json(self.0.metadata.clone())
    }
    /// Whether a test key triggered it (mock provider).
    async fn test_mode(&self) -> bool {
        self.0.test_mode
    }
    /// When it was triggered.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When a worker started it.
    async fn started_at(&self) -> Option<DateTime> {
        self.0.started_at.map(Into::into)
    }
    /// When it ended.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(Into::into)
    }
    /// The gate the run waits at (while `WAITING_FOR_APPROVAL`).
    async fn gate(&self, ctx: &Context<'_>) -> Result<Option<Gate>> {
        let (s, p) = caller(ctx);
        Ok(crate::service::gates::pending_for_run(&s.db, p, &self.0)
            .await?
            .map(Gate))
    }
    /// Every gate of the run, oldest first.
    async fn gates(&self, ctx: &Context<'_>) -> Result<Vec<Gate>> {
        let (s, p) = caller(ctx);
        Ok(crate::service::gates::for_run(&s.db, p, &self.0)
            .await?
            .into_iter()
            .map(Gate)
            .collect())
    }
    /// The sources its retrieval step gave the model, in source-number order (`[1]` is
    /// the first); empty when its agent lists no knowledge base.
    async fn citations(&self, ctx: &Context<'_>) -> Result<Vec<super::citations::Citation>> {
        let found = svc::citations(db(ctx), &self.0).await?;
        Ok(found.iter().map(super::citations::Citation::of).collect())
    }
    /// Its trace: model calls, tool calls and retrieval, in order.
    async fn steps(&self, ctx: &Context<'_>) -> Result<Vec<RunStep>> {
        Ok(svc::steps(db(ctx), &self.0)
            .await?
            .into_iter()
            .map(RunStep)
            .collect())
    }
}

/// Whether `runAgent` waits for the run.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum RunMode {
    /// Wait for the run to end, up to the wait limit.
    #[default]
    Sync,
    /// Answer at once with the queued run.
    Async,
}

/// What to do when the conversation already has a run in progress.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum MultitaskPolicy {
    /// Queue behind it.
    #[default]
    Enqueue,
    /// Refuse (`CONFLICT`).
    Reject,
    /// Cancel it, then run.
    Interrupt,
}

/// A run request.
#[derive(InputObject)]
pub struct RunAgentInput {
    /// The user's message.
    pub input: String,
    /// Channel (`whatsapp`, `web`, ...); with `userId` it identifies the conversation.
    pub channel: Option<String>,
    /// The end user.
    pub user_id: Option<String>,
    /// An explicit conversation id.
    pub session_id: Option<String>,
    /// Free-form metadata (available to the instructions template).
    pub metadata: Option<Json<Value>>,
    /// Wait for the run (default) or answer at once.
    #[graphql(default)]
    pub mode: RunMode,
    /// The conversation policy.
    #[graphql(default)]
    pub multitask: MultitaskPolicy,
}

/// Filters on run lists (and `runUpdates`).
#[derive(InputObject, Default, Clone)]
pub struct RunFilter {
    /// Runs of this agent.
    pub agent_id: Option<ID>,
    /// Runs in any of these statuses.
    pub status: Option<Vec<RunStatus>>,
    /// Runs on this channel.
    pub channel: Option<String>,
    /// Runs of this end user.
    pub user_id: Option<String>,
    /// Runs of this workflow (none yet: workflows do not start runs yet).
    pub workflow_id: Option<ID>,
    /// Created at or after.
    pub created_after: Option<DateTime>,
    /// Created before.
    pub created_before: Option<DateTime>,
}

impl From<RunFilter> for SvcFilter {
    fn from(f: RunFilter) -> Self {
        Self {
            agent_id: f.agent_id.map(|i| i.0),
            status: f
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            channel: f.channel,
            user_id: f.user_id,
            workflow_id: f.workflow_id.map(|i| i.0),
            created_after: f.created_after.map(|d| d.0),
            created_before: f.created_before.map(|d| d.0),
        }
    }
}

/// Fields a run list can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RunOrderField {
    /// Trigger time.
    CreatedAt,
}

/// The sort of a run list.
#[derive(InputObject, Clone, Copy)]
pub struct RunOrder {
    /// The field.
    pub field: RunOrderField,
    /// The direction.
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// Run queries.
#[derive(Default)]
pub struct RunsQuery;

#[Object]
impl RunsQuery {
    /// One run by id, with its trace.
    async fn run(&self, ctx: &Context<'_>, id: ID) -> Result<Run> {
        Ok(Run::new(svc::get(db(ctx), principal(ctx), &id).await?))
    }

    /// The organisation's runs, newest first unless `orderBy` says otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<RunFilter>,
        order_by: Option<Vec<RunOrder>>,
    ) -> Result<Connection<String, Run>> {
        let desc = order_by
            .and_then(|o| o.first().map(|o| o.direction == OrderDirection::Desc))
            .unwrap_or(true);
        let filter = filter.unwrap_or_default().into();
        let page = svc::list(
            db(ctx),
            principal(ctx),
            &filter,
            desc,
            &page_args(first, after, last, before),
        )
        .await?;
        // The page's agents in one query, when the selection asks for them (a page of
        // 50 runs is then 2 statements, not 50 loads merged with other requests' keys).
        let la = ctx.look_ahead();
        // A caller who may not read agents gets the field's own refusal on each run.
        let p = principal(ctx);
        let agents = if (la.field("nodes").field("agent").exists()
            || la.field("edges").field("node").field("agent").exists())
            && crate::service::agents::authorize_read(p).is_ok()
        {
            let ids = page.items.iter().map(|(_, r)| r.agent_id.as_str());
            crate::service::agents::by_ids(db(ctx), p, ids).await?
        } else {
            Default::default()
        };
        Ok(from_page(page, |r| {
            let agent = agents.get(&r.agent_id).cloned();
            Run(Arc::new(r), agent)
        }))
    }
}

/// Run mutations.
#[derive(Default)]
pub struct RunsMutation;

#[Object]
impl RunsMutation {
    /// Triggers a run. `mode: SYNC` (the default) waits for it to end (or to wait at an
    /// approval gate: `WAITING_FOR_APPROVAL`, with its `gate`), up to the server's wait
    /// limit, and returns it as it is then (still `running` if the limit passed).
    async fn run_agent(
        &self,
        ctx: &Context<'_>,
        agent_id: ID,
        input: RunAgentInput,
    ) -> Result<Run> {
        let (s, p) = caller(ctx);
        let req = RunRequest {
            id: None,
            input: input.input,
            channel: input.channel,
            user_id: input.user_id,
            session_id: input.session_id,
            metadata: input.metadata.map(|j| j.0),
            multitask: match input.multitask {
                MultitaskPolicy::Enqueue => Multitask::Enqueue,
                MultitaskPolicy::Reject => Multitask::Reject,
                MultitaskPolicy::Interrupt => Multitask::Interrupt,
            },
        };
        let wait = match input.mode {
            RunMode::Sync => Wait::Sync,
            RunMode::Async => Wait::Async,
        };
        Ok(Run::new(svc::trigger(s, p, &agent_id, req, wait).await?))
    }

    /// Cancels a run; an in-flight model stream is stopped. Waits briefly (the server's
    /// cancel wait) for a running run to end and returns it as it is then.
    async fn cancel_run(&self, ctx: &Context<'_>, id: ID) -> Result<Run> {
        let (s, p) = caller(ctx);
        Ok(Run::new(svc::cancel(s, p, &id).await?))
    }
}
