//! Workers' claims of queued runs as the journal holds them: a claim that finds nothing
//! waits (parked) until a batch may make a run claimable or its wait is over.

use crate::error::AppResult;
use entity::runs;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A worker asking for queued runs.
pub(super) struct Claim {
    pub(super) owner: String,
    pub(super) limit: usize,
    pub(super) done: oneshot::Sender<AppResult<Vec<runs::Model>>>,
    /// Until when a claim that finds nothing waits in the journal (see
    /// [`Journal::claim`]); `None`: it is answered at once.
    pub(super) until: Option<tokio::time::Instant>,
    /// The worker's free slots, and the most runs one claim may take.
    pub(super) room: Option<(Arc<tokio::sync::Semaphore>, usize)>,
}

impl Claim {
    /// How many runs the claim takes when it runs: the slots its worker held when it
    /// asked, plus those freed since (a claim may have waited in the journal meanwhile),
    /// up to the worker's cap.
    pub(super) fn limit_now(&self) -> usize {
        match &self.room {
            Some((free, cap)) => {
                (self.limit + free.available_permits()).min((*cap).max(self.limit))
            }
            None => self.limit,
        }
    }
}

/// Answers the parked claims whose wait is over: nothing found.
pub(super) fn answer_expired(parked: &mut Vec<Claim>) {
    let now = tokio::time::Instant::now();
    let (over, waiting): (Vec<_>, Vec<_>) = std::mem::take(parked)
        .into_iter()
        .partition(|c| c.until.is_none_or(|u| u <= now));
    *parked = waiting;
    answer_expired_all(over);
}

pub(super) fn answer_expired_all(claims: Vec<Claim>) {
    for c in claims {
        let _ = c.done.send(Ok(Vec::new()));
    }
}
