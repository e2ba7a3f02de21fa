//! Triggering a run and, for a synchronous trigger, waiting for it: the one rule every
//! front end (GraphQL `runAgent`, `POST /v1/agents/{id}/run`) shares.

use super::{create, find, RunRequest};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::events::reader::EndWatch;
use crate::service::Services;
use entity::runs::{Column, Entity, Model};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Whether a trigger waits for the run to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wait {
    /// Wait for the run to end (or to wait at an approval gate), up to
    /// `runs.wait_timeout`, and answer with the run as it is then (still `running` if the
    /// limit passed).
    #[default]
    Sync,
    /// Answer at once with the queued run.
    Async,
}

/// Queues a run of `agent_id` and, with [`Wait::Sync`], waits (bounded) for its end.
///
/// Inside a unit of work the run is queued when the unit commits: a unit that may
/// commit early (a single request's) does so before waiting; one that may not (an atomic
/// batch) answers with the queued run at once. The first run of a unit gets the id the
/// unit reserved for it, so a retry of a request whose answer was lost finds the run it
/// made instead of making another.
pub async fn trigger(
    s: &Services,
    p: &Principal,
    agent_id: &str,
    mut req: RunRequest,
    wait: Wait,
) -> AppResult<Model> {
    let unit = s.db.unit().cloned();
    let reserved = match (&req.id, &unit) {
        (None, Some(unit)) => unit.take_run_id(),
        _ => None,
    };
    let existing = match &reserved {
        Some(id) => {
            Entity::find_by_id(id.clone())
                .filter(Column::OrgId.eq(&p.org_id))
                .one(s.db.pool())
                .await?
        }
        None => None,
    };
    req.id = req.id.or(reserved);
    let mut wait = wait;
    if let Some(unit) = &unit {
        if wait == Wait::Sync && !crate::service::unit::flush(unit).await? {
            wait = Wait::Async;
        }
    }
    if wait == Wait::Async {
        return match existing {
            Some(run) => Ok(run),
            None => create(s, p, agent_id, req).await,
        };
    }
    // Watched before it exists, so an end that comes at once is not missed.
    let id = req
        .id
        .get_or_insert_with(|| crate::ids::new_id(crate::ids::RUN))
        .clone();
    let watch = EndWatch::new(&s.bus, &id);
    let run = match existing {
        Some(run) => run,
        None => create(s, p, agent_id, req).await?,
    };
    let limit = s.config.runs.wait_timeout;
    // After the limit the answer is the run as it is then; a run that waits at a gate
    // is answered at once (`waiting_for_approval`, with its gate).
    let db = s.db.pool();
    let _ = tokio::time::timeout(limit, watch.settled(db, &s.bus)).await;
    find(db, p, &run.id).await
}
