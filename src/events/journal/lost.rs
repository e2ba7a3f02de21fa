//! When a run's writes are truly lost (the database stayed unavailable past the retry
//! deadline), the run cannot go on with a hole in its log. It is stopped, and its end is
//! recorded honestly: `failed` with `storage_error`, its steps closed, and a terminal
//! event numbered right after the last event that was stored, so every reader sees a
//! gap-free log that says what happened.

use super::{stop, Batch, Finish};
use crate::error::{AppError, Code};
use crate::events::log::RunLog;
use crate::events::{bus::Bus, EventKind};
use entity::runs::RunStatus;
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use std::collections::HashSet;

/// The code a run ends with when its writes could not be stored.
pub const STORAGE_ERROR: &str = Code::StorageError.as_str();

const LOST_MESSAGE: &str = "some of this run's events could not be stored (the database was \
     unavailable for longer than the run's lease allows); the run was stopped";

/// Gives up on a batch the database would not take in time: every run that had events
/// or steps in it is stopped (its later writes are dropped), and every caller waiting
/// for a reply is told the database is unavailable (executors retry their endings,
/// workers their claims; a new run's creator gets the error).
pub(super) fn give_up(batch: Batch, bus: &Bus, broken: &mut HashSet<String>, err: &AppError) {
    tracing::error!(error = ?err, "the database stayed unavailable past the retry deadline; stopping the runs whose writes were lost");
    let lost = batch
        .events
        .iter()
        .map(|e| e.run_id.as_str())
        .chain(batch.steps.iter().map(|s| s.run_id.as_str()));
    for run_id in lost.collect::<HashSet<_>>() {
        stop(bus, broken, run_id);
    }
    for c in batch.creates {
        let _ = c.done.send(Err(unavailable()));
    }
    for c in batch.claims {
        let _ = c.done.send(Err(unavailable()));
    }
    for f in batch.finishes {
        let _ = f.done.send(Err(unavailable()));
    }
    for p in batch.pauses {
        let _ = p.done.send(Err(unavailable()));
    }
}

fn unavailable() -> AppError {
    AppError::Unavailable("the database is unavailable; try again shortly".into())
}

/// Turns the end an executor sends for a stopped run into a `storage_error` failure,
/// numbered after the last stored event. `Err` (the log could not be read): the
/// executor is told and retries.
pub(super) async fn as_storage_failure(
    db: &DatabaseConnection,
    mut f: Finish,
) -> Result<Finish, (Finish, AppError)> {
    let (run_id, org_id) = (f.run.id.clone(), f.run.org_id.clone());
    let mut log = match RunLog::open(db, &run_id, &org_id).await {
        Ok(log) => log,
        Err(err) => return Err((f, err)),
    };
    let error = json!({ "code": STORAGE_ERROR, "message": LOST_MESSAGE });
    let mut data = f.event.data.clone();
    if let Value::Object(fields) = &mut data {
        fields.insert("output".into(), Value::Null);
        fields.insert("error".into(), error.clone());
    }
    f.event = log.next(EventKind::RunFailed, data);
    f.run.status = RunStatus::Failed;
    f.run.output = None;
    f.run.error = Some(error);
    Ok(f)
}

/// Whether the journal must rewrite this ending (its run was stopped for lost writes).
pub(super) fn is_lost(broken: &HashSet<String>, f: &Finish) -> bool {
    broken.contains(&f.run.id)
}
