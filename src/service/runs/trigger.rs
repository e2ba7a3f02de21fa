//! Triggering a run and, for a synchronous trigger, waiting for it: the one rule every
//! front end (GraphQL `runAgent`, `POST /v1/agents/{id}/run`) shares.

use super::{create, find, RunRequest};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::events::reader::EndWatch;
use crate::service::Services;
use entity::runs::Model;

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
pub async fn trigger(
    s: &Services,
    p: &Principal,
    agent_id: &str,
    mut req: RunRequest,
    wait: Wait,
) -> AppResult<Model> {
    if wait == Wait::Async {
        return create(&s.db, &s.bus, &s.journal, p, agent_id, req).await;
    }
    // Watched before it exists, so an end that comes at once is not missed.
    let id = req
        .id
        .get_or_insert_with(|| crate::ids::new_id(crate::ids::RUN))
        .clone();
    let watch = EndWatch::new(&s.bus, &id);
    let run = create(&s.db, &s.bus, &s.journal, p, agent_id, req).await?;
    let limit = s.config.runs.wait_timeout;
    // After the limit the answer is the run as it is then; a run that waits at a gate
    // is answered at once (`waiting_for_approval`, with its gate).
    let _ = tokio::time::timeout(limit, watch.settled(&s.db, &s.bus)).await;
    find(&s.db, p, &run.id).await
}
