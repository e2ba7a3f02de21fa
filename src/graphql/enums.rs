//! The schema's enums for values stored as strings. Each mirrors the domain type it is
//! converted from (`remote`), so a new domain value cannot be forgotten here; REST shows
//! the domain's own lower-case spelling (see `rest::enums`).

use async_graphql::Enum;

/// Where a run is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::runs::RunStatus")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is executing it.
    Running,
    /// Paused until a person approves a step.
    WaitingForApproval,
    /// Ended with an output.
    Completed,
    /// Ended with an error.
    Failed,
    /// Cancelled before it ended.
    Cancelled,
}

/// Where a step of a run's trace is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::run_steps::StepStatus")]
pub enum RunStepStatus {
    /// In progress.
    Running,
    /// Ended with an output.
    Completed,
    /// Ended with an error, or cut short by its run's failure.
    Failed,
    /// Cut short by its run's cancellation.
    Cancelled,
}

/// What a step of a run's trace does.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::run_steps::StepKind")]
pub enum RunStepType {
    /// A model call.
    Llm,
    /// A tool call.
    Tool,
    /// Chunks retrieved from the agent's knowledge bases before its first model call.
    Retrieval,
}

/// What an event of a run says happened (REST spells these `run.created`, `token`, ...).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::events::EventKind")]
pub enum RunEventType {
    /// The run was accepted and queued.
    RunCreated,
    /// A worker began executing it.
    RunStarted,
    /// A model or tool step began.
    StepStarted,
    /// A piece of the model's answer (`{"delta": "..."}`).
    Token,
    /// The model asked for a tool.
    ToolCall,
    /// A tool answered (or failed).
    ToolResult,
    /// The run waits for a person to approve a tool call.
    GatePending,
    /// The gate was approved, rejected or expired.
    GateResolved,
    /// A step ended.
    StepCompleted,
    /// The run finished with an output.
    RunCompleted,
    /// The run ended with an error.
    RunFailed,
    /// The run was cancelled.
    RunCancelled,
}

/// Whether a key's runs use real providers.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::api_keys::KeyMode")]
pub enum ApiKeyMode {
    /// Runs use the configured providers.
    Live,
    /// Runs use the mock provider (an `os_test_` key).
    Test,
}

/// An organisation's plan tier; it sets rate limits and how many agents it may have.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::service::orgs::Tier")]
pub enum Tier {
    /// 100 requests/min, 3 agents.
    Free,
    /// 1,000 requests/min, 25 agents.
    Pro,
    /// 10,000 requests/min, unlimited agents.
    Enterprise,
}
