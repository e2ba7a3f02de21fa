//! Approval gates: a run paused before a tool call until a person approves or rejects it.
use sea_orm::entity::prelude::*;

/// One gate: the tool call that waits, and how it was resolved.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "gates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub run_id: String,
    pub agent_id: String,
    /// The model's id for the tool call that waits.
    pub call_id: String,
    pub tool_name: String,
    /// The arguments the model gave.
    pub arguments: Json,
    /// What the agent asks the approver, if it says.
    #[sea_orm(column_type = "Text", nullable)]
    pub prompt: Option<String>,
    pub status: GateStatus,
    /// `reject` or `approve`: what expiry does.
    pub on_timeout: String,
    /// When the gate expires if nobody resolved it.
    pub expires_at: DateTimeUtc,
    /// The arguments the approver gave instead of the model's, if any.
    pub resolved_arguments: Option<Json>,
    /// The key or user that resolved it (none for expiry).
    pub resolved_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

/// A gate's status, stored as its lower-case name (the values the REST API shows).
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
pub enum GateStatus {
    /// Waiting for a person.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Approved: the tool is called.
    #[sea_orm(string_value = "approved")]
    Approved,
    /// Rejected: the model is told the call was refused.
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Nobody resolved it in time (or its run was cancelled).
    #[sea_orm(string_value = "expired")]
    Expired,
}

impl GateStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Approved, Self::Rejected, Self::Expired];

    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    /// The status named `s`, if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for GateStatus {
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
        for s in GateStatus::iter() {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(GateStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(GateStatus::iter().count(), GateStatus::ALL.len());
    }
}
