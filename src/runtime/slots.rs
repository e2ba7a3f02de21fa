//! Slots of the work loops (runs, webhook deliveries, indexing jobs): each loop claims
//! as much work as it has free slots, so it waits for one, then takes every other one
//! free at that moment.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Waits for a free slot, then takes the others free now, up to `most` in all; `None`
/// once `stop` is cancelled (or the slots are closed).
pub(crate) async fn take(
    slots: &Arc<Semaphore>,
    most: usize,
    stop: &CancellationToken,
) -> Option<Vec<OwnedSemaphorePermit>> {
    let first = tokio::select! {
        p = slots.clone().acquire_owned() => p.ok()?,
        _ = stop.cancelled() => return None,
    };
    let mut permits = vec![first];
    while permits.len() < most {
        match slots.clone().try_acquire_owned() {
            Ok(p) => permits.push(p),
            Err(_) => break,
        }
    }
    Some(permits)
}
