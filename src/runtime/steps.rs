//! Recording a run's trace: each step is a row (with tokens, cost, timing, error) and a
//! pair of events (`step.started`, `step.completed`).

use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::log::RunLog;
use crate::events::{STEP_COMPLETED, STEP_STARTED};
use crate::ids;
use entity::{run_steps, runs};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::{json, Value};
use std::time::Instant;

/// A step about to start.
pub struct NewStep<'a> {
    /// 1, 2, ... within the run.
    pub position: i32,
    /// `llm` or `tool`.
    pub kind: &'a str,
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
        db: &DatabaseConnection,
        bus: &Bus,
        log: &mut RunLog,
        run: &runs::Model,
        new: NewStep<'_>,
    ) -> AppResult<Self> {
        let NewStep {
            position,
            kind,
            name,
            input,
        } = new;
        let row = run_steps::ActiveModel {
            id: Set(ids::new_id(ids::RUN_STEP)),
            run_id: Set(run.id.clone()),
            org_id: Set(run.org_id.clone()),
            position: Set(position),
            kind: Set(kind.to_owned()),
            name: Set(name.map(str::to_owned)),
            input: Set(input),
            output: Set(None),
            tokens_input: Set(0),
            tokens_output: Set(0),
            cost: Set(0.0),
            status: Set("running".into()),
            error: Set(None),
            started_at: Set(crate::service::now()),
            completed_at: Set(None),
            duration_ms: Set(None),
        }
        .insert(db)
        .await?;
        log.append(
            db,
            bus,
            STEP_STARTED,
            json!({ "step_id": row.id, "type": kind, "name": name, "position": position }),
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
    pub async fn finish(
        self,
        db: &DatabaseConnection,
        bus: &Bus,
        log: &mut RunLog,
        result: StepResult,
    ) -> AppResult<()> {
        let duration_ms = self.started.elapsed().as_millis() as i64;
        let status = if result.error.is_some() {
            "failed"
        } else {
            "completed"
        };
        let id = self.row.id.clone();
        let mut active: run_steps::ActiveModel = self.row.into();
        active.output = Set(Some(result.output));
        active.tokens_input = Set(result.tokens_input as i64);
        active.tokens_output = Set(result.tokens_output as i64);
        active.cost = Set(result.cost);
        active.status = Set(status.into());
        active.error = Set(result.error.clone());
        active.completed_at = Set(Some(crate::service::now()));
        active.duration_ms = Set(Some(duration_ms));
        active.update(db).await?;
        log.append(
            db,
            bus,
            STEP_COMPLETED,
            json!({
                "step_id": id,
                "status": status,
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
