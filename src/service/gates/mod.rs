//! Approval gates: reading them (`runs:read`), approving and rejecting them
//! (`gates:write`), and following the organisation's gates as they open and close. The
//! resolution itself (one transaction, exactly one winner) is the runtime's
//! ([`crate::runtime::gates::resolve`]), shared with expiry and cancel.

mod arguments;

use super::pagination::{self, Page, PageArgs, Sort};
use super::Services;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, FieldError};
use crate::runtime::gates::{resolve, Resolution, Then};
use entity::gates::{Column, Entity, GateStatus, Model};
use entity::runs::{self, RunStatus};
use futures::{Stream, StreamExt};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use std::sync::Arc;

/// Longest approver comment, in characters.
pub const MAX_COMMENT: usize = 2_000;

/// Filters on gate lists (and `gateUpdates`).
#[derive(Debug, Clone, Default)]
pub struct GateFilter {
    /// Gates in any of these statuses.
    pub status: Vec<GateStatus>,
    /// Gates of this run.
    pub run_id: Option<String>,
    /// Gates of this agent's runs.
    pub agent_id: Option<String>,
}

impl GateFilter {
    /// Whether a gate matches (for live updates; lists filter in SQL).
    pub fn matches(&self, g: &Model) -> bool {
        (self.status.is_empty() || self.status.contains(&g.status))
            && self.run_id.as_ref().is_none_or(|v| *v == g.run_id)
            && self.agent_id.as_ref().is_none_or(|v| *v == g.agent_id)
    }
}

pagination::keyset_by_created_at!(Model, Entity, Column);

/// One gate of the caller's organisation (another organisation's: not found).
pub async fn get(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(Scope::RunsRead)?;
    find(db, p, id).await
}

async fn find(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    Entity::find_by_id(id.to_owned())
        .filter(Column::OrgId.eq(&p.org_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("gate {id} not found")))
}

/// A page of the caller's gates, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    p: &Principal,
    f: &GateFilter,
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::RunsRead)?;
    let mut select = Entity::find().filter(Column::OrgId.eq(&p.org_id));
    if !f.status.is_empty() {
        select = select.filter(Column::Status.is_in(f.status.iter().copied()));
    }
    if let Some(v) = &f.run_id {
        select = select.filter(Column::RunId.eq(v));
    }
    if let Some(v) = &f.agent_id {
        select = select.filter(Column::AgentId.eq(v));
    }
    let sort = [Sort {
        field: (),
        desc: true,
    }];
    pagination::paginate(db, select, &sort, args).await
}

/// The gates of a run the caller has read, oldest first.
pub async fn for_run(
    db: &impl ConnectionTrait,
    p: &Principal,
    run: &runs::Model,
) -> AppResult<Vec<Model>> {
    p.require(Scope::RunsRead)?;
    Ok(Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::RunId.eq(&run.id))
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?)
}

/// The gate a run waits at, if it waits (no query for a run that does not).
pub async fn pending_for_run(
    db: &impl ConnectionTrait,
    p: &Principal,
    run: &runs::Model,
) -> AppResult<Option<Model>> {
    if run.status != RunStatus::WaitingForApproval || run.org_id != p.org_id {
        return Ok(None);
    }
    Ok(Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::RunId.eq(&run.id))
        .filter(Column::Status.eq(GateStatus::Pending))
        .one(db)
        .await?)
}

/// Fails with `gate_not_pending` for a resolved gate before its input is checked (the
/// resolution checks again, atomically).
fn pending(gate: &Model) -> AppResult<()> {
    if gate.status == GateStatus::Pending {
        return Ok(());
    }
    Err(AppError::GateNotPending(format!(
        "gate {} is not pending (it was {})",
        gate.id, gate.status
    )))
}

fn check_comment(comment: &Option<String>, errors: &mut Vec<FieldError>) {
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT)
    {
        errors.push(FieldError::new(
            "/comment",
            format!("must be at most {MAX_COMMENT} characters"),
        ));
    }
}

/// Approves a pending gate: its run is queued again and calls the tool, with
/// `arguments` instead of the model's when given (checked against the tool's schema in
/// the run's agent version: 422 with pointers, nothing written).
pub async fn approve(
    s: &Services,
    p: &Principal,
    id: &str,
    comment: Option<String>,
    arguments: Option<Value>,
) -> AppResult<Model> {
    p.require(Scope::GatesWrite)?;
    let gate = find(&s.db, p, id).await?;
    pending(&gate)?;
    let mut errors = Vec::new();
    check_comment(&comment, &mut errors);
    if let Some(args) = &arguments {
        arguments::check(&s.db, &gate, args, &mut errors).await?;
    }
    AppError::from_field_errors(errors)?;
    let r = Resolution {
        status: GateStatus::Approved,
        by: Some(p.key_id.clone()),
        comment,
        arguments,
    };
    let after = |f| s.after_commit(f);
    Ok(resolve(&s.db, &s.bus, &gate.id, r, Then::Requeue, &after)
        .await?
        .0)
}

/// Rejects a pending gate: its run is queued again and the model is told a person
/// refused the call (with the comment).
pub async fn reject(
    s: &Services,
    p: &Principal,
    id: &str,
    comment: Option<String>,
) -> AppResult<Model> {
    p.require(Scope::GatesWrite)?;
    let gate = find(&s.db, p, id).await?;
    pending(&gate)?;
    let mut errors = Vec::new();
    check_comment(&comment, &mut errors);
    AppError::from_field_errors(errors)?;
    let r = Resolution {
        status: GateStatus::Rejected,
        by: Some(p.key_id.clone()),
        comment,
        arguments: None,
    };
    let after = |f| s.after_commit(f);
    Ok(resolve(&s.db, &s.bus, &gate.id, r, Then::Requeue, &after)
        .await?
        .0)
}

/// The caller's organisation's gates as they open and close (matching `filter`).
pub fn updates(
    s: &Services,
    p: &Principal,
    filter: GateFilter,
) -> AppResult<impl Stream<Item = Arc<Model>>> {
    p.require(Scope::RunsRead)?;
    let updates = s.bus.subscribe_gates(&p.org_id);
    Ok(updates.into_stream().filter_map(move |g| {
        let keep = g.ok().filter(|gate| filter.matches(gate));
        async move { keep }
    }))
}
