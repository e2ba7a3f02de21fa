//! Run events: the per-run log (the source of truth every live view reads), the bus
//! that carries new events to live readers, and the reader that joins the two.

pub mod bus;
pub mod journal;
pub mod log;
pub mod reader;
pub mod redis;
pub mod transport;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `run.created`: the run was accepted and queued.
pub const RUN_CREATED: &str = "run.created";
/// `run.started`: a worker began executing it.
pub const RUN_STARTED: &str = "run.started";
/// `step.started`: a model or tool step began.
pub const STEP_STARTED: &str = "step.started";
/// `token`: a piece of the model's answer (`{"delta": "..."}`).
pub const TOKEN: &str = "token";
/// `tool.call`: the model asked for a tool.
pub const TOOL_CALL: &str = "tool.call";
/// `tool.result`: a tool answered (or failed).
pub const TOOL_RESULT: &str = "tool.result";
/// `step.completed`: a step ended.
pub const STEP_COMPLETED: &str = "step.completed";
/// `run.completed`: the run finished with an output.
pub const RUN_COMPLETED: &str = "run.completed";
/// `run.failed`: the run ended with an error.
pub const RUN_FAILED: &str = "run.failed";
/// `run.cancelled`: the run was cancelled.
pub const RUN_CANCELLED: &str = "run.cancelled";

/// Whether an event ends its run's stream.
pub fn is_terminal(kind: &str) -> bool {
    matches!(kind, RUN_COMPLETED | RUN_FAILED | RUN_CANCELLED)
}

/// One event of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// The run's organisation (readers of other organisations never see it).
    pub org_id: String,
    /// Position in the run's log, from 1.
    pub seq: i64,
    /// Event type.
    pub kind: String,
    /// Event payload.
    pub data: Value,
    /// When it was appended.
    pub created_at: DateTime<Utc>,
}

impl From<entity::run_events::Model> for RunEvent {
    fn from(m: entity::run_events::Model) -> Self {
        Self {
            run_id: m.run_id,
            org_id: m.org_id,
            seq: m.seq,
            kind: m.kind,
            data: m.data,
            created_at: m.created_at,
        }
    }
}
