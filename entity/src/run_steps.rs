//! The steps of a run's trace: model calls and tool calls.
use sea_orm::entity::prelude::*;

/// One step: `llm` (a model call) or `tool` (a tool call).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub run_id: String,
    pub org_id: String,
    pub position: i32,
    /// What the step does (the `type` clients see).
    pub kind: StepKind,
    pub name: Option<String>,
    pub input: Json,
    pub output: Option<Json>,
    pub tokens_input: i64,
    pub tokens_output: i64,
    pub cost: f64,
    /// Where the step is.
    pub status: StepStatus,
    pub error: Option<Json>,
    pub started_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
}

/// What a step does, stored as `llm` or `tool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StepKind {
    /// A model call.
    #[sea_orm(string_value = "llm")]
    Llm,
    /// A tool call.
    #[sea_orm(string_value = "tool")]
    Tool,
    /// Chunks retrieved from the agent's knowledge bases before the first model call.
    #[sea_orm(string_value = "retrieval")]
    Retrieval,
}

impl StepKind {
    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::Tool => "tool",
            Self::Retrieval => "retrieval",
        }
    }
}

/// A step's status, stored as its lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StepStatus {
    /// In progress.
    #[sea_orm(string_value = "running")]
    Running,
    /// Ended with an output.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Ended with an error (or cut short by its run's failure).
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Cut short by its run's cancellation.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl StepStatus {
    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
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
        for s in StepStatus::iter() {
            assert_eq!(s.to_value(), s.as_str());
        }
        for k in StepKind::iter() {
            assert_eq!(k.to_value(), k.as_str());
        }
    }
}
