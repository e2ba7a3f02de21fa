//! One run's side of the journal: what its executor writes.

use super::Journal;
use crate::error::AppResult;
use crate::events::log::RunLog;
use crate::events::EventKind;
use crate::events::RunEvent;
use entity::{gates, run_steps, runs};
use std::sync::Arc;

/// One run's writer for its executor: numbers the run's events and hands them, with the
/// run's step rows and its end, to the journal.
pub struct RunJournal {
    journal: Journal,
    log: RunLog,
    /// A pause handed to the journal whose answer was not taken yet (the executor may
    /// have been stopped, by a cancel or its timeout, while it waited): its event and,
    /// once sent, the answer channel. The run's end looks at it first.
    pausing: Option<(Arc<RunEvent>, Option<PauseAnswer>)>,
}

type PauseAnswer = tokio::sync::oneshot::Receiver<AppResult<bool>>;

impl RunJournal {
    /// A writer appending to `log` through `journal`.
    pub fn new(journal: Journal, log: RunLog) -> Self {
        Self {
            journal,
            log,
            pausing: None,
        }
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
        self.pausing = Some((event.clone(), None));
        let answer = self.journal.pause(run, owner, gate, event).await?;
        if let Some((_, slot)) = &mut self.pausing {
            *slot = Some(answer);
        }
        self.settle_pause().await
    }

    /// The answer to the pause in flight (false when there is none or it never reached
    /// the journal). An event of a pause that did not happen is taken back, so the next
    /// one gets its number and the log has no gap.
    async fn settle_pause(&mut self) -> AppResult<bool> {
        let Some((event, answer)) = self.pausing.as_mut() else {
            return Ok(false);
        };
        let res = match answer.as_mut() {
            Some(rx) => rx.await.unwrap_or(Ok(false)),
            None => Ok(false),
        };
        let event = event.clone();
        self.pausing = None;
        if !matches!(res, Ok(true)) {
            self.log.take_back(&event);
        }
        res
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
        // A pause the executor was stopped while waiting for: if it was recorded the
        // run waits at its gate (that stands, like an end recorded by another instance);
        // if not, its event number is free again.
        if self.pausing.is_some() && self.settle_pause().await.unwrap_or(false) {
            return Ok(false);
        }
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
