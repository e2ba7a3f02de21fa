//! The executor: runs one leased run to its end. It loops model step → tool steps →
//! model step until the model answers without tool calls (or `max_steps`), streaming
//! every token into the run's event log, and it always ends the run: `completed`,
//! `failed` (with `error.code`) or `cancelled`; unless the model calls a tool that needs
//! approval: then the run pauses at a gate (see `approval`) and a later execution,
//! after the gate is resolved, goes on from its stored steps (see `resume`).

use super::finish::{finish, watch_cancel, Outcome, Totals};
use super::prompt;
use super::providers::{ChatRequest, Message, Providers, StreamEvent, ToolCall};
use super::steps::{NewStep, Step, StepResult};
use super::tools::{self, HttpTool};
use crate::config::Config;
use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::journal::{Journal, RunJournal};
use crate::events::log::RunLog;
use crate::events::EventKind;
use crate::jobs::runs as lease;
use entity::run_steps::StepKind;
use entity::runs;
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Everything an executor needs; cheap to clone.
#[derive(Clone)]
pub struct Executor {
    /// The database.
    pub db: DatabaseConnection,
    /// The event bus.
    pub bus: Arc<Bus>,
    /// Model providers.
    pub providers: Arc<Providers>,
    /// The guarded client for tool URLs.
    pub outbound: crate::outbound::Outbound,
    /// The bounded renderer for the agents' instructions.
    pub templates: crate::templates::Renderer,
    /// Configuration (limits, prices).
    pub config: Arc<Config>,
    /// Where runs' events, steps and endings are written.
    pub journal: Journal,
    /// Agent versions (immutable, so cached without expiry).
    pub versions: super::versions::VersionCache,
    /// Knowledge search for agents that list knowledge bases.
    pub retriever: super::retrieval::Retriever,
}

impl Executor {
    /// Executes a run this instance (`owner`) has leased, to its end.
    pub async fn execute(&self, run: runs::Model, owner: &str) {
        let id = run.id.clone();
        if let Err(err) = self.execute_inner(run, owner).await {
            tracing::error!(run_id = %id, error = ?err, "could not record the end of a run");
        }
        self.bus.forget(&id);
    }

    async fn execute_inner(&self, run: runs::Model, owner: &str) -> AppResult<()> {
        // A cancel that reached this instance between the claim and here is kept by
        // the bus; one requested before the claim is on the claimed row.
        let cancel = self.bus.cancel_token(&run.id);
        if run.cancel_requested {
            cancel.cancel();
        }
        let last_seq = lease::last_seq(&self.db, &run).await?;
        // Without a shared bus a cancel made on another instance reaches this one only
        // through the database.
        let watch =
            !self.bus.is_shared() && self.db.get_database_backend() == sea_orm::DbBackend::Postgres;
        let watcher = watch.then(|| {
            tokio::spawn(watch_cancel(
                self.db.clone(),
                run.id.clone(),
                cancel.clone(),
            ))
        });
        let mut log = RunJournal::new(
            self.journal.clone(),
            RunLog::after(&run.id, &run.org_id, last_seq),
        );
        log.event(EventKind::RunStarted, json!({ "attempt": run.attempts }))
            .await?;
        let started = Instant::now();
        let mut totals = Totals::of(&run);
        // Each execution has the whole budget: a run resumed after a gate starts afresh.
        let limit = self.config.runs.timeout;
        let exec = Exec {
            run: &run,
            owner,
            started,
        };
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => Outcome::Cancelled,
            res = tokio::time::timeout(limit, self.run_loop(&exec, &mut log, &mut totals)) => match res {
                Ok(outcome) => outcome,
                Err(_) => Outcome::failed("timeout", format!("the run did not finish within {} s", limit.as_secs())),
            },
        };
        if let Some(w) = watcher {
            w.abort();
        }
        if let Outcome::Paused = outcome {
            // Recorded by the pause: the run waits, holding no lease and no slot.
            return Ok(());
        }
        finish(run, owner, &mut log, outcome, totals, started.elapsed()).await
    }

    async fn run_loop(
        &self,
        exec: &Exec<'_>,
        log: &mut RunJournal,
        totals: &mut Totals,
    ) -> Outcome {
        match self.steps(exec, log, totals).await {
            Ok(outcome) => outcome,
            Err(err) => err.into(),
        }
    }

    async fn steps(
        &self,
        exec: &Exec<'_>,
        log: &mut RunJournal,
        totals: &mut Totals,
    ) -> AppResult<Outcome> {
        let run = exec.run;
        let snap =
            super::versions::snapshot(&self.db, &self.versions, &run.agent_id, run.agent_version)
                .await?;
        let snap = &*snap;
        let model = snap["model"].as_str().unwrap_or_default().to_owned();
        let (provider, model_name) = match self.providers.resolve(&model, run.test_mode) {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::failed(e.code, e.message)),
        };
        let instructions = snap["instructions"].as_str().unwrap_or_default();
        let system = match prompt::render(&self.templates, instructions, run).await {
            Ok(s) => s,
            Err(message) => return Ok(Outcome::failed("template_error", message)),
        };
        let settings = snap["model_settings"].clone();
        let tools: Vec<HttpTool> = tools::from_snapshot(&snap["tools"]);
        let specs = tools.iter().map(HttpTool::spec).collect::<Vec<_>>();
        let mut messages = vec![Message::System(system)];
        messages.extend(prompt::history(&self.db, run).await?);
        // Agents saved before the limit existed are held to it too.
        let max_steps = settings["max_steps"]
            .as_u64()
            .unwrap_or(self.config.runs.max_steps as u64)
            .clamp(1, u64::from(self.config.runs.max_steps_limit));
        // A run that waited at a gate goes on where it stopped (see `resume`), with the
        // sources it retrieved the first time.
        let gates = super::resume::gates_of(&self.db, run).await?;
        let mut position = 0;
        let mut llm_steps = 0;
        let mut pending = Vec::new();
        if gates.is_empty() {
            let user = match super::retrieval::step(self, log, run, snap, position + 1).await? {
                Ok(user) => user,
                Err(stop) => return Ok(stop),
            };
            // The retrieval step, when there was one, took position 1.
            if snap["knowledge_ids"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                position += 1;
            }
            messages.push(Message::User(user));
        } else {
            let resumed = super::resume::rebuild(&self.db, run).await?;
            messages.push(Message::User(
                resumed.retrieved.unwrap_or_else(|| run.input.clone()),
            ));
            messages.extend(resumed.messages);
            position = resumed.position;
            llm_steps = resumed.llm_steps;
            pending = resumed.pending;
        }
        let gated = Calls {
            exec,
            tools: &tools,
            gates: &gates,
        };
        loop {
            for call in std::mem::take(&mut pending) {
                position += 1;
                let content = match self.call(&gated, log, totals, position, &call).await? {
                    Ok(content) => content,
                    Err(stop) => return Ok(stop),
                };
                messages.push(Message::Tool {
                    call_id: call.id,
                    name: call.name,
                    content,
                });
            }
            if llm_steps >= max_steps {
                return Ok(Outcome::failed(
                    "max_steps_exceeded",
                    format!("the agent did not answer within {max_steps} model steps"),
                ));
            }
            llm_steps += 1;
            position += 1;
            let input = json!({ "model": model, "messages": messages.len(), "tools": specs.len() });
            let step = Step::start(
                log,
                run,
                NewStep {
                    position,
                    kind: StepKind::Llm,
                    name: Some(&model),
                    input,
                },
            )
            .await?;
            let req = ChatRequest {
                model: model_name.clone(),
                messages: messages.clone(),
                tools: specs.clone(),
                settings: settings.clone(),
            };
            let (tx, mut rx) = mpsc::channel(256);
            let step_id = step.id().to_owned();
            let mut text = String::new();
            let mut calls: Vec<ToolCall> = Vec::new();
            let mut usage = (0, 0);
            let mut stored: AppResult<()> = Ok(());
            let (res, ()) = tokio::join!(provider.stream(req, tx), async {
                while let Some(ev) = rx.recv().await {
                    match ev {
                        StreamEvent::Token(t) => {
                            text.push_str(&t);
                            if stored.is_ok() {
                                stored = log
                                    .event(
                                        EventKind::Token,
                                        json!({ "delta": t, "step_id": step_id }),
                                    )
                                    .await;
                            }
                        }
                        StreamEvent::ToolCall(c) => calls.push(c),
                        StreamEvent::Usage { input, output } => usage = (input, output),
                    }
                }
            });
            stored?;
            let cost = self.config.runs.cost(&model, usage.0, usage.1);
            totals.input += usage.0;
            totals.output += usage.1;
            totals.cost += cost;
            let calls_json: Vec<Value> = calls
                .iter()
                .map(|c| json!({ "id": c.id, "name": c.name, "arguments": c.arguments }))
                .collect();
            let error = res
                .as_ref()
                .err()
                .map(|e| json!({ "code": e.code, "message": e.message }));
            let output = json!({ "text": text, "tool_calls": calls_json });
            step.finish(
                log,
                StepResult {
                    output,
                    tokens_input: usage.0,
                    tokens_output: usage.1,
                    cost,
                    error,
                },
            )
            .await?;
            if let Err(e) = res {
                return Ok(Outcome::failed(e.code, e.message));
            }
            if calls.is_empty() {
                return Ok(Outcome::Completed(text));
            }
            messages.push(Message::Assistant {
                content: text,
                tool_calls: calls.clone(),
            });
            pending = calls;
        }
    }

    /// One tool call as a step; its answer (or error) is what the model sees next.
    /// `announce`: emit `tool.call` first (a call that waited at a gate announced itself
    /// before the gate). `arguments` are what the tool receives.
    pub(super) async fn tool_step(
        &self,
        c: &Calls<'_>,
        log: &mut RunJournal,
        position: i32,
        call: &ToolCall,
        announce: bool,
        arguments: &str,
    ) -> AppResult<String> {
        let (run, tools) = (c.exec.run, c.tools);
        if announce {
            tool_call_event(log, call).await?;
        }
        let input = json!({ "call_id": call.id, "arguments": arguments });
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
        let result = match tools.iter().find(|t| t.name == call.name) {
            Some(tool) => tools::call(&self.outbound, tool, arguments).await,
            None => Err(format!("the agent has no tool named `{}`", call.name)),
        };
        let (content, output, error) = match &result {
            Ok(text) => (text.clone(), json!({ "result": text }), None),
            Err(msg) => (
                format!("error: {msg}"),
                json!({ "error": msg }),
                Some(json!({ "code": "tool_error", "message": msg })),
            ),
        };
        log.event(EventKind::ToolResult, json!({ "call_id": call.id, "name": call.name, "ok": result.is_ok(), "output": content })).await?;
        step.finish(
            log,
            StepResult {
                output,
                error,
                ..Default::default()
            },
        )
        .await?;
        Ok(content)
    }
}

/// `tool.call`: the model asked for a tool.
pub(super) async fn tool_call_event(log: &mut RunJournal, call: &ToolCall) -> AppResult<()> {
    log.event(
        EventKind::ToolCall,
        json!({ "call_id": call.id, "name": call.name, "arguments": call.arguments }),
    )
    .await
}

/// The execution in progress: its run, the lease it holds and when it started.
pub(super) struct Exec<'a> {
    pub(super) run: &'a runs::Model,
    pub(super) owner: &'a str,
    pub(super) started: Instant,
}

/// What deciding a tool call needs: the execution, the agent's tools, the run's gates.
pub(super) struct Calls<'a> {
    pub(super) exec: &'a Exec<'a>,
    pub(super) tools: &'a [HttpTool],
    pub(super) gates: &'a [entity::gates::Model],
}
