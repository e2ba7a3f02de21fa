//! Runs as they happen: one run's event log (replayed, then live) and the status
//! changes of an organisation's runs. GraphQL subscriptions and REST SSE read these.

use super::{get, matches, RunFilter};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::events::{reader, RunEvent};
use crate::service::Services;
use entity::runs::Model;
use futures::{Stream, StreamExt};
use std::sync::Arc;

/// The run's events after `after` (all of them from 0), then live ones; the stream ends
/// after the run's terminal event.
pub async fn events(
    s: &Services,
    p: &Principal,
    run_id: &str,
    after: i64,
) -> AppResult<impl Stream<Item = Result<Arc<RunEvent>, AppError>>> {
    let run = get(&s.db, p, run_id).await?;
    Ok(reader::follow(
        s.db.pool().clone(),
        s.bus.clone(),
        run.id,
        after.max(0),
    ))
}

/// Every status change of the caller's organisation's runs that matches `filter`.
pub fn updates(
    s: &Services,
    p: &Principal,
    filter: RunFilter,
) -> AppResult<impl Stream<Item = Arc<Model>>> {
    p.require(Scope::RunsRead)?;
    let updates = s.bus.subscribe_org(&p.org_id);
    Ok(updates.into_stream().filter_map(move |r| {
        let keep = r.ok().filter(|run| matches(&filter, run));
        async move { keep }
    }))
}
