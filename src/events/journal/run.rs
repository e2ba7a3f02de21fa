//! One run's side of the journal: what its executor writes.

use super::Journal;
use crate::error::AppResult;
use crate::events::log::RunLog;
use crate::events::EventKind;
use entity::{gates, run_steps, runs};

/// One run's writer for its executor: numbers the run's events and hands them, with the
/// run's step rows and its end, to the journal.
pub struct RunJournal {
    journal: Journal,
    log: RunLog,
}

impl RunJournal {
    /// A writer appending to `log` through `journal`.
    pub fn new(journal: Journal, log: RunLog) -> Self {
        Self { journal, log }
    }

    /// Appends an event.
    pub async fn event(&mut self, kind: EventKind, data: serde_json::Value) -> AppResult<()> {
        let event = self.log.next(kind, data);
        self.journal.event(event).await
    }

    /// Records a step row (new or updated).
    pub async fn step(&self, step: run_steps::Model) -> AppResult<()> {
        self.journal.step(step).await
    }

    /// Pauses the run at `gate` with its `gate.pending` event (data: `data`); false if
    /// the lease was lost or a cancel was asked for meanwhile (nothing written).
    pub async fn pause(
        &mut self,
        run: runs::Model,
        owner: &str,
        gate: gates::Model,
        data: serde_json::Value,
    ) -> AppResult<bool> {
        let event = self.log.next(EventKind::GatePending, data);
        self.journal.pause(run, owner, gate, event).await
    }

    /// Ends the run (`run` as it ends) with its terminal event; false if the lease was
    /// lost meanwhile. A failed write (the database unreachable) is retried for about
    /// three minutes: while this instance lives its heartbeats keep the lease, so a run
    /// whose end was never recorded would otherwise stay `running`.
    pub async fn finish(
        &mut self,
        run: runs::Model,
        owner: &str,
        kind: EventKind,
        data: serde_json::Value,
    ) -> AppResult<bool> {
        use backon::{ExponentialBuilder, Retryable};
        let event = self.log.next(kind, data);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_millis(100))
            .with_max_delay(std::time::Duration::from_secs(15))
            .with_max_times(20)
            .with_jitter();
        let attempt = || self.journal.finish(run.clone(), owner, event.clone());
        attempt
            .retry(backoff)
            .notify(|err, after| {
                tracing::warn!(error = %err, run_id = %run.id, retry_in = ?after, "could not record the end of a run; retrying");
            })
            .await
    }
}
