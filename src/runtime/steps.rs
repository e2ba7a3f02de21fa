//! Recording a run's trace: each step is a row (with tokens, cost, timing, error) and a
//! pair of events (`step.started`, `step.completed`).

use crate::error::AppResult;
use crate::events::journal::RunJournal;
use crate::events::EventKind;
use crate::ids;
use entity::run_steps::{self, StepKind, StepStatus};
use entity::runs;
use serde_json::{json, Value};
use std::time::Instant;

/// A step about to start.
pub struct NewStep<'a> {
    /// 1, 2, ... within the run.
    pub position: i32,
    /// A model or a tool call.
    pub kind: StepKind,
    /// The model or tool name.
    pub name: Option<&'a str>,
    /// What goes in.
    pub input: Value,
}

/// A step in progress.
pub struct Step {
    row: run_steps::Model,
    started: Instant,
}

/// What a step produced.
#[derive(Default)]
pub struct StepResult {
    /// The step's output.
    pub output: Value,
    /// Prompt tokens.
    pub tokens_input: u64,
    /// Completion tokens.
    pub tokens_output: u64,
    /// Cost in the price table's currency.
    pub cost: f64,
    /// `{"code", "message"}` when the step failed.
    pub error: Option<Value>,
}

impl Step {
    /// Starts step number `position` of a run.
    pub async fn start(
        log: &mut RunJournal,
        run: &runs::Model,
        new: NewStep<'_>,
    ) -> AppResult<Self> {
        let NewStep {
            position,
            kind,
            name,
            input,
        } = new;
        let row = run_steps::Model {
            id: ids::new_id(ids::RUN_STEP),
            run_id: run.id.clone(),
            org_id: run.org_id.clone(),
            position,
            kind,
            name: name.map(str::to_owned),
            input,
            output: None,
            tokens_input: 0,
            tokens_output: 0,
            cost: 0.0,
            status: StepStatus::Running,
            error: None,
            started_at: crate::clock::now(),
            completed_at: None,
            duration_ms: None,
        };
        log.step(row.clone()).await?;
        log.event(
            EventKind::StepStarted,
            json!({ "step_id": row.id, "type": kind.as_str(), "name": name, "position": position }),
        )
        .await?;
        Ok(Self {
            row,
            started: Instant::now(),
        })
    }

    /// The step's id.
    pub fn id(&self) -> &str {
        &self.row.id
    }

    /// Ends the step with its result.
    pub async fn finish(self, log: &mut RunJournal, result: StepResult) -> AppResult<()> {
        let duration_ms = self.started.elapsed().as_millis() as i64;
        let status = if result.error.is_some() {
            StepStatus::Failed
        } else {
            StepStatus::Completed
        };
        let id = self.row.id.clone();
        let row = run_steps::Model {
            output: Some(result.output),
            tokens_input: result.tokens_input as i64,
            tokens_output: result.tokens_output as i64,
            cost: result.cost,
            status,
            error: result.error.clone(),
            completed_at: Some(crate::clock::now()),
            duration_ms: Some(duration_ms),
            ..self.row
        };
        log.step(row).await?;
        log.event(
            EventKind::StepCompleted,
            json!({
                "step_id": id,
                "status": status.as_str(),
                "tokens": { "input": result.tokens_input, "output": result.tokens_output },
                "cost": result.cost,
                "duration_ms": duration_ms,
                "error": result.error,
            }),
        )
        .await?;
        Ok(())
    }
}
