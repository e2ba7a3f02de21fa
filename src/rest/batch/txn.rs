//! A batch's transaction: begun at its first write (a batch of reads takes no write
//! lock), a savepoint per operation, and what to tell the client when a commit fails.

use super::dispatch::Outcome;
use crate::error::AppResult;
use crate::service::unit::Unit;
use crate::service::Services;

/// The transaction of a batch (or of the stretch between two operations that had to be
/// sent alone).
pub struct BatchTxn<'a> {
    services: &'a Services,
    /// The unit the batch request came with, if any: the batch runs inside it.
    outer: Option<Unit>,
    open: Option<Unit>,
    /// The operations kept in `open` so far (their answers are wrong if it fails).
    kept: Vec<usize>,
}

impl<'a> BatchTxn<'a> {
    /// No transaction yet; `outer` is the batch request's own unit, if any.
    pub fn new(services: &'a Services, outer: Option<Unit>) -> Self {
        Self {
            services,
            outer,
            open: None,
            kept: Vec::new(),
        }
    }

    /// Whether a transaction is open.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Whether an operation may be sent outside the transaction: not when the batch
    /// request's own unit must hold everything it does.
    pub fn can_step_out(&self) -> bool {
        self.outer.is_none()
    }

    /// The open transaction, begun if need be.
    pub async fn unit(&mut self) -> AppResult<Unit> {
        if let Some(unit) = &self.open {
            return Ok(unit.clone());
        }
        let unit = match &self.outer {
            Some(outer) => outer.nested().await?,
            None => Unit::begin(self.services).await?,
        };
        self.open = Some(unit.clone());
        Ok(unit)
    }

    /// A savepoint for one operation.
    pub async fn savepoint(&mut self) -> AppResult<Unit> {
        self.unit().await?.nested().await
    }

    /// Keeps operation `index`'s changes if it succeeded, rolls them back if not; the
    /// answer to give for it.
    pub async fn settle(
        &mut self,
        index: usize,
        savepoint: Unit,
        outcome: Outcome,
        results: &mut [Outcome],
    ) -> Outcome {
        let ended = match outcome.ok() {
            true => savepoint.commit().await,
            false => savepoint.rollback().await,
        };
        match ended {
            Ok(()) => {
                if outcome.ok() {
                    self.kept.push(index);
                }
                outcome
            }
            // The transaction is in doubt: nothing in it is kept.
            Err(err) => {
                let answer = Outcome::error(err).await;
                self.abandon(results, &answer).await;
                answer
            }
        }
    }

    /// Commits what is open. If that fails, nothing of it was kept and the answers of
    /// its operations say so.
    pub async fn commit(&mut self, results: &mut [Outcome]) {
        let Some(unit) = self.open.take() else {
            return;
        };
        match unit.commit().await {
            Ok(()) => self.kept.clear(),
            Err(err) => {
                tracing::warn!(error = %err, "a batch's transaction did not commit");
                let answer = Outcome::error(err).await;
                self.mark(results, &answer);
            }
        }
    }

    /// Commits what is open; a failure is the caller's to report (atomic batches).
    pub async fn commit_or_fail(&mut self) -> AppResult<()> {
        self.kept.clear();
        match self.open.take() {
            Some(unit) => unit.commit().await,
            None => Ok(()),
        }
    }

    /// Rolls back the open transaction (atomic batches).
    pub async fn rollback(&mut self) -> AppResult<()> {
        self.kept.clear();
        match self.open.take() {
            Some(unit) => unit.rollback().await,
            None => Ok(()),
        }
    }

    /// Ends a transaction in doubt: rolled back, its kept operations answered `answer`.
    async fn abandon(&mut self, results: &mut [Outcome], answer: &Outcome) {
        if let Some(unit) = self.open.take() {
            if let Err(err) = unit.rollback().await {
                tracing::warn!(error = %err, "could not roll back a batch's transaction");
            }
        }
        self.mark(results, answer);
    }

    fn mark(&mut self, results: &mut [Outcome], answer: &Outcome) {
        for index in self.kept.drain(..) {
            if let Some(result) = results.get_mut(index) {
                *result = answer.clone();
            }
        }
    }
}
