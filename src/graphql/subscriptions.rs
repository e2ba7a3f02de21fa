//! Subscriptions: `runEvents` (a run's event log, replayed then live, completing after
//! the run's last event), `runUpdates` (status changes of the organisation's runs) and
//! `gateUpdates` (the organisation's gates as they open and close).
//! The REST SSE routes execute these same resolvers.

use super::caller;
use super::enums::RunEventType;
use super::gates::{Gate, GateFilter};
use super::runs::{Run, RunFilter};
use super::scalars::DateTime;
use crate::events::RunEvent as Event;
use crate::service::runs as svc;
use async_graphql::{Context, Json, Object, Result, Subscription, ID};
use futures::{Stream, StreamExt};
use serde_json::Value;
use std::sync::Arc;

/// One event of a run.
pub struct RunEvent(pub Arc<Event>);

#[Object]
impl RunEvent {
    /// Position in the run's log (the SSE `id`), from 1.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// What happened (REST: `run.created`, `token`, ...).
    #[graphql(name = "type")]
    async fn kind(&self) -> RunEventType {
        self.0.kind.into()
    }
    /// The payload (`{"delta": "..."}` for tokens).
    async fn data(&self) -> Json<Value> {
        Json(self.0.data.clone())
    }
    /// The run.
    async fn run_id(&self) -> ID {
        ID(self.0.run_id.clone())
    }
    /// When it was appended.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// Subscription root.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// The run's events after `after` (all of them by default), then live ones; the
    /// subscription completes after the run's last event.
    async fn run_events(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = Result<RunEvent>>> {
        let (s, p) = caller(ctx);
        let events = svc::events(s, p, &run_id, after.unwrap_or(0)).await?;
        Ok(events.map(|e| e.map(RunEvent).map_err(Into::into)))
    }

    /// Every status change of the organisation's runs that matches `filter`.
    async fn run_updates(
        &self,
        ctx: &Context<'_>,
        filter: Option<RunFilter>,
    ) -> Result<impl Stream<Item = Run>> {
        let (s, p) = caller(ctx);
        let updates = svc::updates(s, p, filter.unwrap_or_default().into())?;
        Ok(updates.map(Run::new))
    }

    /// A knowledge base's documents as their indexing moves: uploads, progress, and
    /// each ending (`INDEXED` or `FAILED`).
    async fn document_updates(
        &self,
        ctx: &Context<'_>,
        knowledge_id: ID,
    ) -> Result<impl Stream<Item = super::knowledge_documents::KnowledgeDocument>> {
        let (s, p) = caller(ctx);
        let updates = crate::service::knowledge::documents::updates(s, p, &knowledge_id).await?;
        Ok(updates.map(super::knowledge_documents::from_update))
    }

    /// The organisation's gates (matching `filter`) as they open and as they are
    /// approved, rejected or expire.
    async fn gate_updates(
        &self,
        ctx: &Context<'_>,
        filter: Option<GateFilter>,
    ) -> Result<impl Stream<Item = Gate>> {
        let (s, p) = caller(ctx);
        let updates = crate::service::gates::updates(s, p, filter.unwrap_or_default().into())?;
        Ok(updates.map(|gate| Gate((*gate).clone())))
    }
}
