//! One step of a run's trace in GraphQL: a model call, a tool call, or the retrieval
//! from the agent's knowledge bases.

use super::enums::{RunStepStatus, RunStepType};
use super::runs::{error_of, RunError, TokenUsage};
use super::scalars::DateTime;
use async_graphql::{Json, Object, ID};
use entity::run_steps;
use serde_json::Value;

/// One step of a run's trace.
pub struct RunStep(pub run_steps::Model);

#[Object]
impl RunStep {
    /// `stp_...`
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// 1, 2, ... in execution order.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// A model call, a tool call, or the retrieval from the agent's knowledge bases.
    #[graphql(name = "type")]
    async fn kind(&self) -> RunStepType {
        self.0.kind.into()
    }
    /// The model (llm) or tool name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Where the step is.
    async fn status(&self) -> RunStepStatus {
        self.0.status.into()
    }
    /// What went in.
    async fn input(&self) -> Json<Value> {
        Json(self.0.input.clone())
    }
    /// What came out.
    async fn output(&self) -> Option<Json<Value>> {
        self.0.output.clone().map(Json)
    }
    /// Tokens of this step.
    async fn tokens(&self) -> TokenUsage {
        TokenUsage {
            input: self.0.tokens_input,
            output: self.0.tokens_output,
        }
    }
    /// Cost of this step.
    async fn cost(&self) -> f64 {
        self.0.cost
    }
    /// Why the step failed.
    async fn error(&self) -> Option<RunError> {
        error_of(&self.0.error)
    }
    /// When it started.
    async fn started_at(&self) -> DateTime {
        self.0.started_at.into()
    }
    /// When it ended.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(Into::into)
    }
    /// Milliseconds it took.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }
}
