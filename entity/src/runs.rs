//! Runs: one execution of an agent on one input.
use sea_orm::entity::prelude::*;

/// A run and its lease. `session_key` groups the runs of one conversation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub agent_id: String,
    pub agent_version: i32,
    /// Where the run is in its life.
    pub status: RunStatus,
    #[sea_orm(column_type = "Text")]
    pub input: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub output: Option<String>,
    pub channel: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The conversation this run belongs to (agent + session, or agent + user + channel).
    pub session_key: String,
    /// `{"code": ..., "message": ...}` when the run failed.
    pub error: Option<Json>,
    pub tokens_input: i64,
    pub tokens_output: i64,
    pub cost: f64,
    pub metadata: Json,
    pub test_mode: bool,
    pub cancel_requested: bool,
    /// The instance executing the run, while it holds the lease.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
}

/// A run's status, stored as its lower-case name (the values the REST API shows).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// A worker is executing it.
    #[sea_orm(string_value = "running")]
    Running,
    /// Paused until a person approves a step.
    #[sea_orm(string_value = "waiting_for_approval")]
    WaitingForApproval,
    /// Ended with an output.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Ended with an error.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Cancelled before it ended.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl RunStatus {
    /// Every status, in life order.
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::WaitingForApproval,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::WaitingForApproval => "waiting_for_approval",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status named `s`, if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the run has not ended yet (a worker may still pick it up or finish it).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Queued | Self::Running | Self::WaitingForApproval
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn stored_values_are_the_names() {
        for s in RunStatus::iter() {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(RunStatus::iter().count(), RunStatus::ALL.len());
    }
}
