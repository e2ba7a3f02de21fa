//! Tool calls that need a person's approval. The model's call of such a tool pauses the
//! run before the call is made: `tool.call`, then the gate and its `gate.pending` event,
//! written in one journal transaction with the run's move to `waiting_for_approval` (see
//! `events::journal::pause`). Once the gate is resolved the run is claimed again and the
//! call goes ahead (approved, or expired with `on_timeout: approve`; with the approver's
//! arguments if they gave some) or is refused: the model is told a person refused it.

use super::executor::{tool_call_event, Calls, Executor};
use super::finish::{Outcome, Totals};
use super::gates::{allows, refusal};
use super::providers::ToolCall;
use super::steps::{NewStep, Step, StepResult};
use super::tools::{HttpTool, DEFAULT_ON_TIMEOUT};
use crate::error::{AppError, AppResult};
use crate::events::journal::RunJournal;
use crate::events::EventKind;
use crate::ids;
use entity::gates::{self, GateStatus};
use entity::run_steps::StepKind;
use entity::runs;
use serde_json::{json, Value};

impl Executor {
    /// Makes (or refuses, or waits for approval of) one tool call at `position`.
    /// `Ok(Ok(content))`: what the model sees; `Ok(Err(outcome))`: the run stops here
    /// (paused at a gate, or cancelled while pausing).
    pub(super) async fn call(
        &self,
        c: &Calls<'_>,
        log: &mut RunJournal,
        totals: &Totals,
        position: i32,
        call: &ToolCall,
    ) -> AppResult<Result<String, Outcome>> {
        let run = c.exec.run;
        let tool = c.tools.iter().find(|t| t.name == call.name);
        match c.gates.iter().find(|g| g.call_id == call.id) {
            Some(g) if g.status == GateStatus::Pending => Err(AppError::internal(anyhow::anyhow!(
                "run {} was claimed while gate {} is pending",
                run.id,
                g.id
            ))),
            Some(g) if allows(g) => {
                let arguments = match &g.resolved_arguments {
                    Some(args) => args.to_string(),
                    None => call.arguments.clone(),
                };
                let content = self
                    .tool_step(c, log, position, call, false, &arguments)
                    .await?;
                Ok(Ok(content))
            }
            Some(g) => Ok(Ok(refused_step(log, run, position, call, g).await?)),
            None => match tool {
                Some(tool) if tool.requires_approval => {
                    tool_call_event(log, call).await?;
                    let paused = self.pause(c, log, totals, tool, call).await?;
                    // Not paused: a cancel came first (or the lease was lost); the run
                    // ends as cancelled if it still can.
                    Ok(Err(if paused {
                        Outcome::Paused
                    } else {
                        Outcome::Cancelled
                    }))
                }
                _ => {
                    let content = self
                        .tool_step(c, log, position, call, true, &call.arguments)
                        .await?;
                    Ok(Ok(content))
                }
            },
        }
    }

    /// Opens the gate of `call` and pauses the run; false if that was refused.
    async fn pause(
        &self,
        c: &Calls<'_>,
        log: &mut RunJournal,
        totals: &Totals,
        tool: &HttpTool,
        call: &ToolCall,
    ) -> AppResult<bool> {
        let run = c.exec.run;
        let cfg = &self.config.gates;
        let wait = tool
            .approval
            .timeout_s
            .map(std::time::Duration::from_secs)
            .unwrap_or(cfg.default_timeout)
            .min(cfg.max_timeout);
        let now = crate::clock::now();
        let expires_at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let arguments: Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        let gate = gates::Model {
            id: ids::new_id(ids::GATE),
            org_id: run.org_id.clone(),
            run_id: run.id.clone(),
            agent_id: run.agent_id.clone(),
            call_id: call.id.clone(),
            tool_name: call.name.clone(),
            arguments,
            prompt: tool.approval.prompt.clone(),
            status: GateStatus::Pending,
            on_timeout: tool
                .approval
                .on_timeout
                .clone()
                .unwrap_or_else(|| DEFAULT_ON_TIMEOUT.to_owned()),
            expires_at,
            resolved_arguments: None,
            resolved_by: None,
            comment: None,
            created_at: now,
            resolved_at: None,
        };
        let spent = run.duration_ms.unwrap_or(0) + c.exec.started.elapsed().as_millis() as i64;
        let waiting = runs::Model {
            tokens_input: totals.input as i64,
            tokens_output: totals.output as i64,
            cost: totals.cost,
            duration_ms: Some(spent),
            ..run.clone()
        };
        let data = crate::webhooks::payload::gate(&gate);
        log.pause(waiting, c.exec.owner, gate, data).await
    }
}

/// A call a person refused (or let expire with `on_timeout: reject`): a failed tool step
/// whose answer tells the model so; the tool is never contacted.
async fn refused_step(
    log: &mut RunJournal,
    run: &runs::Model,
    position: i32,
    call: &ToolCall,
    gate: &gates::Model,
) -> AppResult<String> {
    let text = refusal(gate);
    let input = json!({ "call_id": call.id, "arguments": call.arguments, "gate_id": gate.id });
    let step = Step::start(
        log,
        run,
        NewStep {
            position,
            kind: StepKind::Tool,
            name: Some(&call.name),
            input,
        },
    )
    .await?;
    log.event(
        EventKind::ToolResult,
        json!({ "call_id": call.id, "name": call.name, "ok": false, "output": text, "gate_id": gate.id }),
    )
    .await?;
    let code = match gate.status {
        GateStatus::Expired => "gate_expired",
        _ => "gate_rejected",
    };
    step.finish(
        log,
        StepResult {
            output: json!({ "refused": text }),
            error: Some(json!({ "code": code, "message": text })),
            ..Default::default()
        },
    )
    .await?;
    Ok(text)
}
