//! Outgoing webhooks, the pieces below the journal: the event types endpoints subscribe
//! to and the outbox that records an event in the same transaction as the state change it
//! reports. Signing, the retry schedule and sending one attempt live here too; the
//! delivery loop that leases due deliveries is the runtime's.

pub mod attempt;
pub mod outbox;
pub mod payload;
pub mod results;
pub mod schedule;
pub mod sign;

use serde::{Deserialize, Serialize};

/// What an endpoint can subscribe to (`events: [...]`, or `["*"]` for every type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum EventType {
    /// `agent.run.completed`: a run finished with an output.
    RunCompleted,
    /// `agent.run.failed`: a run ended with an error (timeouts included).
    RunFailed,
    /// `agent.run.cancelled`: a run was cancelled.
    RunCancelled,
    /// `agent.gate.pending`: a run waits for a person to approve a tool call.
    GatePending,
    /// `agent.gate.resolved`: a gate was approved, rejected or expired.
    GateResolved,
    /// `knowledge.indexed`: a document finished indexing; its chunks are searchable.
    KnowledgeIndexed,
    /// `knowledge.failed`: a document could not be indexed (`error.code` says why).
    KnowledgeFailed,
    /// `webhook.test`: sent on request to one endpoint (`POST /v1/webhooks/{id}/test`);
    /// not subscribable.
    Test,
}

impl EventType {
    /// Every type.
    pub const ALL: [Self; 8] = [
        Self::RunCompleted,
        Self::RunFailed,
        Self::RunCancelled,
        Self::GatePending,
        Self::GateResolved,
        Self::KnowledgeIndexed,
        Self::KnowledgeFailed,
        Self::Test,
    ];

    /// The types an endpoint may name in its `events` list.
    pub fn subscribable() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|t| *t != Self::Test)
    }

    /// The wire name (`agent.run.completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunCompleted => "agent.run.completed",
            Self::RunFailed => "agent.run.failed",
            Self::RunCancelled => "agent.run.cancelled",
            Self::GatePending => "agent.gate.pending",
            Self::GateResolved => "agent.gate.resolved",
            Self::KnowledgeIndexed => "knowledge.indexed",
            Self::KnowledgeFailed => "knowledge.failed",
            Self::Test => "webhook.test",
        }
    }

    /// The type named `s`, if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl From<EventType> for &'static str {
    fn from(t: EventType) -> Self {
        t.as_str()
    }
}

impl TryFrom<String> for EventType {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("unknown webhook event type `{s}`"))
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
