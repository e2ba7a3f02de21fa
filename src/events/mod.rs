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

/// What happened to a run; stored (and shown to REST clients) as its dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum EventKind {
    /// `run.created`: the run was accepted and queued.
    RunCreated,
    /// `run.started`: a worker began executing it.
    RunStarted,
    /// `step.started`: a model or tool step began.
    StepStarted,
    /// `token`: a piece of the model's answer (`{"delta": "..."}`).
    Token,
    /// `tool.call`: the model asked for a tool.
    ToolCall,
    /// `tool.result`: a tool answered (or failed).
    ToolResult,
    /// `gate.pending`: the run waits for a person to approve a tool call.
    GatePending,
    /// `gate.resolved`: the gate was approved, rejected or expired.
    GateResolved,
    /// `step.completed`: a step ended.
    StepCompleted,
    /// `run.completed`: the run finished with an output.
    RunCompleted,
    /// `run.failed`: the run ended with an error.
    RunFailed,
    /// `run.cancelled`: the run was cancelled.
    RunCancelled,
}

impl EventKind {
    /// Every kind, in the order a run emits them.
    pub const ALL: [Self; 12] = [
        Self::RunCreated,
        Self::RunStarted,
        Self::StepStarted,
        Self::Token,
        Self::ToolCall,
        Self::ToolResult,
        Self::GatePending,
        Self::GateResolved,
        Self::StepCompleted,
        Self::RunCompleted,
        Self::RunFailed,
        Self::RunCancelled,
    ];

    /// The stored name (`run.created`, `token`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunCreated => "run.created",
            Self::RunStarted => "run.started",
            Self::StepStarted => "step.started",
            Self::Token => "token",
            Self::ToolCall => "tool.call",
            Self::ToolResult => "tool.result",
            Self::GatePending => "gate.pending",
            Self::GateResolved => "gate.resolved",
            Self::StepCompleted => "step.completed",
            Self::RunCompleted => "run.completed",
            Self::RunFailed => "run.failed",
            Self::RunCancelled => "run.cancelled",
        }
    }

    /// The kind stored as `s`, if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this event ends its run's stream.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::RunCompleted | Self::RunFailed | Self::RunCancelled
        )
    }
}

impl From<EventKind> for &'static str {
    fn from(kind: EventKind) -> Self {
        kind.as_str()
    }
}

impl TryFrom<String> for EventKind {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("unknown event kind `{s}`"))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    pub kind: EventKind,
    /// Event payload.
    pub data: Value,
    /// When it was appended.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<entity::run_events::Model> for RunEvent {
    type Error = crate::error::AppError;

    /// Fails only on a row no version of the server wrote.
    fn try_from(m: entity::run_events::Model) -> Result<Self, Self::Error> {
        let kind = EventKind::parse(&m.kind).ok_or_else(|| {
            crate::error::AppError::internal(anyhow::anyhow!(
                "run {} event {} has an unknown kind `{}`",
                m.run_id,
                m.seq,
                m.kind
            ))
        })?;
        Ok(Self {
            run_id: m.run_id,
            org_id: m.org_id,
            seq: m.seq,
            kind,
            data: m.data,
            created_at: m.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(serde_json::from_value::<EventKind>(json).unwrap(), kind);
        }
        assert_eq!(EventKind::parse("run.exploded"), None);
        let terminal: Vec<_> = EventKind::ALL
            .into_iter()
            .filter(|k| k.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                EventKind::RunCompleted,
                EventKind::RunFailed,
                EventKind::RunCancelled
            ]
        );
    }
}
