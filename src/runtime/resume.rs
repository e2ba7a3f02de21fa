//! Resuming a run that waited at an approval gate: its conversation is rebuilt from the
//! steps it stored (model steps keep their text and tool calls, tool steps their
//! answers), so the model sees exactly what it saw before the pause, and the run goes on
//! with the calls of its last model step that were not made yet.

use super::providers::{Message, ToolCall};
use crate::error::AppResult;
use entity::gates;
use entity::run_steps::{self, StepKind};
use entity::runs;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use std::collections::HashSet;

/// Where a resumed run goes on from.
#[derive(Default)]
pub(super) struct Resumed {
    /// The assistant and tool messages of the steps done, in order.
    pub(super) messages: Vec<Message>,
    /// The last step's position.
    pub(super) position: i32,
    /// Model steps done (they count against `max_steps`).
    pub(super) llm_steps: u64,
    /// The calls of the last model step not made yet, in the model's order.
    pub(super) pending: Vec<ToolCall>,
    /// The user message with its retrieved sources, when the run retrieved.
    pub(super) retrieved: Option<String>,
}

/// The gates of a run, oldest first (none for a run that never paused: only a run
/// claimed again can have any, so a first claim does not look).
pub(super) async fn gates_of(
    db: &impl ConnectionTrait,
    run: &runs::Model,
) -> AppResult<Vec<gates::Model>> {
    if run.attempts <= 1 {
        return Ok(Vec::new());
    }
    Ok(gates::Entity::find()
        .filter(gates::Column::RunId.eq(&run.id))
        .order_by_asc(gates::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Rebuilds a run's conversation from its stored steps.
pub(super) async fn rebuild(db: &impl ConnectionTrait, run: &runs::Model) -> AppResult<Resumed> {
    let steps = run_steps::Entity::find()
        .filter(run_steps::Column::RunId.eq(&run.id))
        .order_by_asc(run_steps::Column::Position)
        .all(db)
        .await?;
    let mut out = Resumed::default();
    let mut last_calls: Vec<ToolCall> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    for step in steps {
        out.position = out.position.max(step.position);
        let output = step.output.clone().unwrap_or(Value::Null);
        match step.kind {
            StepKind::Llm => {
                out.llm_steps += 1;
                last_calls = calls_of(&output);
                answered.clear();
                out.messages.push(Message::Assistant {
                    content: output["text"].as_str().unwrap_or_default().to_owned(),
                    tool_calls: last_calls.clone(),
                });
            }
            StepKind::Retrieval => {
                out.retrieved = output["message"].as_str().map(str::to_owned);
            }
            StepKind::Tool => {
                let call_id = step.input["call_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                answered.insert(call_id.clone());
                out.messages.push(Message::Tool {
                    call_id,
                    name: step.name.clone().unwrap_or_default(),
                    content: content_of(&output),
                });
            }
        }
    }
    out.pending = last_calls
        .into_iter()
        .filter(|c| !answered.contains(&c.id))
        .collect();
    Ok(out)
}

/// The tool calls a model step stored (`output.tool_calls`).
fn calls_of(output: &Value) -> Vec<ToolCall> {
    output["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| ToolCall {
                    id: c["id"].as_str().unwrap_or_default().to_owned(),
                    name: c["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: c["arguments"].as_str().unwrap_or("{}").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the model was shown for a tool step (as `Executor::tool_step` made it).
fn content_of(output: &Value) -> String {
    if let Some(text) = output["result"].as_str() {
        return text.to_owned();
    }
    if let Some(text) = output["refused"].as_str() {
        return text.to_owned();
    }
    format!("error: {}", output["error"].as_str().unwrap_or_default())
}
