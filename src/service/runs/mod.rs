//! Runs: triggered on an agent, executed by workers, cancelled, listed and read with
//! their trace. Conversation rules (`multitask`) live here.

mod cancel;
mod live;
mod trigger;

pub use cancel::cancel;
use cancel::request_cancel;
pub use live::{events, updates};
pub use trigger::{trigger, Wait};

use super::pagination::{self, Page, PageArgs, Sort};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, FieldError};
use crate::events::log::RunLog;
use crate::events::EventKind;
use crate::ids;
use chrono::{DateTime, Utc};
use entity::run_steps;
use entity::runs::{self, Column, Entity, Model, RunStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait, TryIntoModel,
};
use serde_json::{json, Value};

/// Largest run input, in characters.
pub const MAX_INPUT: usize = 100_000;

/// What to do when the conversation already has a run in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Multitask {
    /// Queue behind it (runs of one conversation execute in order).
    #[default]
    Enqueue,
    /// Refuse with `conflict`.
    Reject,
    /// Cancel it, then queue.
    Interrupt,
}

/// A request to run an agent.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The new run's id (a caller may watch it before the run exists); generated if
    /// absent.
    pub id: Option<String>,
    /// The user's message.
    pub input: String,
    /// Channel (`whatsapp`, `web`, ...).
    pub channel: Option<String>,
    /// The end user.
    pub user_id: Option<String>,
    /// An explicit conversation id (otherwise user + channel make the conversation).
    pub session_id: Option<String>,
    /// Free-form metadata, available to the instructions template.
    pub metadata: Option<Value>,
    /// The conversation policy.
    pub multitask: Multitask,
}

/// Run statuses that are not final.
pub fn active() -> impl Iterator<Item = RunStatus> {
    RunStatus::ALL.into_iter().filter(|s| s.is_active())
}

/// Whether a run whose status is spelled `status` (as stored, and as REST shows it) is
/// still going (not final).
pub fn is_active(status: &str) -> bool {
    RunStatus::parse(status).is_some_and(RunStatus::is_active)
}

/// Whether a run whose status is spelled `status` is being worked on (queued or
/// running): the run call answers such a run with 202. A run waiting for approval is
/// not: nothing happens to it until a person acts, so it is answered with 200.
pub fn is_going(status: &str) -> bool {
    matches!(
        RunStatus::parse(status),
        Some(RunStatus::Queued | RunStatus::Running)
    )
}

/// Filters on run lists.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Runs of this agent.
    pub agent_id: Option<String>,
    /// Runs in any of these statuses.
    pub status: Vec<RunStatus>,
    /// Runs on this channel.
    pub channel: Option<String>,
    /// Runs of this end user.
    pub user_id: Option<String>,
    /// Runs of this workflow. Runs have no workflow yet (workflows do not exist), so a
    /// run list filtered on one is empty: the documented filter is accepted, and it
    /// becomes a column filter when workflows start runs.
    pub workflow_id: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
}

pagination::keyset_by_created_at!(Model, Entity, Column);

fn validate(req: &RunRequest) -> AppResult<()> {
    let mut errors = Vec::new();
    let n = req.input.chars().count();
    if req.input.trim().is_empty() {
        errors.push(FieldError::new("/input", "must not be empty"));
    } else if n > MAX_INPUT {
        errors.push(FieldError::new(
            "/input",
            format!("must be at most {MAX_INPUT} characters, not {n}"),
        ));
    }
    for (pointer, v) in [
        ("/channel", &req.channel),
        ("/user_id", &req.user_id),
        ("/session_id", &req.session_id),
    ] {
        if v.as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.len() > 200)
        {
            errors.push(FieldError::new(pointer, "must be 1 to 200 characters"));
        }
    }
    if req.metadata.as_ref().is_some_and(|m| !m.is_object()) {
        errors.push(FieldError::new("/metadata", "must be a JSON object"));
    }
    AppError::from_field_errors(errors)
}

/// The conversation a run belongs to: its agent and session, or its agent, user and
/// channel; a run with neither is a conversation of its own.
fn session_key(agent_id: &str, run_id: &str, req: &RunRequest) -> String {
    match (&req.session_id, &req.user_id, &req.channel) {
        (Some(s), _, _) => format!("{agent_id}:s:{s}"),
        (None, None, None) => format!("{agent_id}:r:{run_id}"),
        (None, u, c) => format!(
            "{agent_id}:u:{}:{}",
            u.as_deref().unwrap_or(""),
            c.as_deref().unwrap_or("")
        ),
    }
}

fn in_session(p: &Principal, key: &str) -> sea_orm::Select<Entity> {
    Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::SessionKey.eq(key))
        .filter(Column::Status.is_in(active()))
}

/// Checks, before any work is done, that the caller may trigger a run and read its
/// events: a streamed run answers with its events, so it needs both scopes up front
/// (not after the run was created and executed).
pub fn authorize_streamed(p: &Principal) -> AppResult<()> {
    p.require(Scope::RunsWrite)?;
    p.require(Scope::RunsRead)
}

/// Queues a run of an agent (event `run.created`) and wakes a worker.
pub async fn create(
    s: &super::Services,
    p: &Principal,
    agent_id: &str,
    req: RunRequest,
) -> AppResult<Model> {
    let (db, bus, journal) = (&s.db, &s.bus, &s.journal);
    p.require(Scope::RunsWrite)?;
    validate(&req)?;
    let agent = super::agents::find(db, p, agent_id).await?;
    let id = req.id.clone().unwrap_or_else(|| ids::new_id(ids::RUN));
    let key = session_key(&agent.id, &id, &req);
    if req.multitask == Multitask::Interrupt {
        for busy in in_session(p, &key).all(db).await? {
            request_cancel(s, busy).await?;
        }
    }
    let reject = req.multitask == Multitask::Reject;
    let now = crate::clock::now();
    let run = runs::ActiveModel {
        id: Set(id.clone()),
        org_id: Set(p.org_id.clone()),
        agent_id: Set(agent.id.clone()),
        agent_version: Set(agent.version),
        status: Set(RunStatus::Queued),
        input: Set(req.input),
        output: Set(None),
        channel: Set(req.channel),
        user_id: Set(req.user_id),
        session_id: Set(req.session_id),
        session_key: Set(key),
        error: Set(None),
        tokens_input: Set(0),
        tokens_output: Set(0),
        cost: Set(0.0),
        metadata: Set(req.metadata.unwrap_or_else(|| json!({}))),
        test_mode: Set(p.test_mode),
        cancel_requested: Set(false),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        attempts: Set(0),
        created_at: Set(now),
        started_at: Set(None),
        completed_at: Set(None),
        duration_ms: Set(None),
    };
    if !reject && db.unit().is_none() {
        // Group-committed with other runs' writes (see events::journal); only `reject`
        // needs its own transaction, to check the conversation atomically.
        let run = run.try_into_model()?;
        let event =
            RunLog::new(&run.id, &run.org_id).next(EventKind::RunCreated, created_data(&run));
        journal.create(run.clone(), event).await?;
        return Ok(run);
    }
    // Inside a unit of work the run row is part of the request's transaction (it is
    // queued when that commits), so it cannot go through the journal's own transaction.
    let txn = db.begin().await?;
    if reject {
        // Triggers in one organisation queue here, so `reject` sees every earlier run.
        super::orgs::lock_for_update(&txn, &p.org_id).await?;
    }
    let run = run.insert(&txn).await?;
    // Checked after the insert, inside the transaction: two triggers at once cannot both
    // see an idle conversation.
    let busy = match reject {
        true => {
            in_session(p, &run.session_key)
                .filter(Column::Id.ne(&run.id))
                .one(&txn)
                .await?
        }
        false => None,
    };
    if let Some(busy) = busy {
        txn.rollback().await?;
        return Err(AppError::Conflict(format!(
            "the conversation already has run {} ({}); retry later or use multitask `enqueue` or `interrupt`",
            busy.id, busy.status
        )));
    }
    let mut log = RunLog::new(&run.id, &run.org_id);
    let event = log
        .store(&txn, EventKind::RunCreated, created_data(&run))
        .await?;
    txn.commit().await?;
    let (bus, published) = (bus.clone(), run.clone());
    s.after_commit(Box::new(move || {
        bus.publish_event(event);
        bus.publish_run(published);
        bus.notify_work();
    }));
    Ok(run)
}

fn created_data(run: &Model) -> Value {
    json!({ "run_id": run.id, "agent_id": run.agent_id, "agent_version": run.agent_version })
}

/// One run of the caller's organisation.
pub async fn get(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(Scope::RunsRead)?;
    find(db, p, id).await
}

/// One run of the caller's organisation, whatever the caller's scopes: for answering
/// an action the caller was allowed to take (triggering or cancelling a run).
pub async fn find(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    Entity::find_by_id(id.to_owned())
        .filter(Column::OrgId.eq(&p.org_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("run {id} not found")))
}

/// A page of the caller's runs, newest first unless `sort` says otherwise.
pub async fn list(
    db: &impl ConnectionTrait,
    p: &Principal,
    f: &RunFilter,
    desc: bool,
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::RunsRead)?;
    let mut select = Entity::find().filter(Column::OrgId.eq(&p.org_id));
    if let Some(v) = &f.agent_id {
        select = select.filter(Column::AgentId.eq(v));
    }
    if !f.status.is_empty() {
        select = select.filter(Column::Status.is_in(f.status.iter().copied()));
    }
    if let Some(v) = &f.channel {
        select = select.filter(Column::Channel.eq(v));
    }
    if let Some(v) = &f.user_id {
        select = select.filter(Column::UserId.eq(v));
    }
    if f.workflow_id.is_some() {
        // No run belongs to a workflow yet (see `RunFilter::workflow_id`).
        select = select.filter(Expr::cust("1 = 0"));
    }
    if let Some(v) = f.created_after {
        select = select.filter(Column::CreatedAt.gte(v));
    }
    if let Some(v) = f.created_before {
        select = select.filter(Column::CreatedAt.lt(v));
    }
    pagination::paginate(db, select, &[Sort { field: (), desc }], args).await
}

/// Whether a run matches a filter (for live updates; lists filter in SQL).
pub fn matches(f: &RunFilter, run: &Model) -> bool {
    f.agent_id.as_ref().is_none_or(|v| *v == run.agent_id)
        && (f.status.is_empty() || f.status.contains(&run.status))
        && f.channel
            .as_ref()
            .is_none_or(|v| Some(v) == run.channel.as_ref())
        && f.user_id
            .as_ref()
            .is_none_or(|v| Some(v) == run.user_id.as_ref())
        && f.workflow_id.is_none()
        && f.created_after.is_none_or(|v| run.created_at >= v)
        && f.created_before.is_none_or(|v| run.created_at < v)
}

/// The steps of a run, in order.
pub async fn steps(db: &impl ConnectionTrait, run: &Model) -> AppResult<Vec<run_steps::Model>> {
    Ok(run_steps::Entity::find()
        .filter(run_steps::Column::RunId.eq(&run.id))
        .order_by_asc(run_steps::Column::Position)
        .all(db)
        .await?)
}

/// The sources a run's retrieval step gave the model (`[]` for a run that retrieved
/// nothing or whose agent lists no knowledge base), in source-number order.
pub async fn citations(
    db: &impl ConnectionTrait,
    run: &Model,
) -> AppResult<Vec<serde_json::Value>> {
    let step = run_steps::Entity::find()
        .filter(run_steps::Column::RunId.eq(&run.id))
        .filter(run_steps::Column::Kind.eq(run_steps::StepKind::Retrieval))
        .order_by_asc(run_steps::Column::Position)
        .one(db)
        .await?;
    Ok(step
        .and_then(|s| s.output)
        .and_then(|o| o.get("citations").and_then(|c| c.as_array()).cloned())
        .unwrap_or_default())
}
