//! After a batch: what each write's owner is told, and what the bus publishes (only what
//! was committed).

use super::{Claim, Create, Finish};
use crate::error::AppResult;
use crate::events::bus::Bus;
use entity::runs;
use std::collections::HashSet;

/// A run whose log can no longer be written in order: stop its executor (it ends the
/// run if it still holds the lease) and drop what it writes until then.
pub(super) fn stop(bus: &Bus, broken: &mut HashSet<String>, run_id: &str) {
    if broken.insert(run_id.to_owned()) {
        bus.cancel(run_id);
    }
}

/// After a claim was (or was not) committed: publish the runs' new state, hand them to
/// the worker (which executes them).
pub(super) fn claimed_runs(bus: &Bus, c: Claim, res: AppResult<Vec<runs::Model>>) {
    if let Ok(runs) = &res {
        for run in runs {
            bus.publish_run(run.clone());
        }
    }
    let _ = c.done.send(res);
}

/// After a new run was (or was not) committed: publish it, tell its creator.
pub(super) fn created_run(bus: &Bus, c: Create, res: AppResult<()>) {
    if res.is_ok() {
        bus.publish_event(c.event);
        bus.publish_run(c.run);
    }
    let _ = c.done.send(res);
}

/// After a run's end was (or was not) committed: publish it, tell its executor.
pub(super) fn end(bus: &Bus, f: Finish, res: AppResult<bool>) {
    if let Ok(true) = res {
        bus.publish_event(f.event);
        bus.publish_run(f.run);
    }
    let _ = f.done.send(res);
}
