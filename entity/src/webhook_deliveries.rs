//! Webhook deliveries: one event to one endpoint, leased by delivery workers.
use sea_orm::entity::prelude::*;

/// One delivery and where it is in its retry schedule.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub org_id: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The instance sending it, while it holds the lease.
    pub lease_owner: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
}

/// A delivery's status, stored as its lower-case name.
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
pub enum DeliveryStatus {
    /// Due at `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// A worker is sending it (leased).
    #[sea_orm(string_value = "sending")]
    Sending,
    /// The endpoint answered 2xx.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Every attempt of the schedule failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Kept while its endpoint is disabled; sent again when it is re-enabled.
    #[sea_orm(string_value = "held")]
    Held,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Sending,
        Self::Succeeded,
        Self::Failed,
        Self::Held,
    ];

    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Held => "held",
        }
    }

    /// The status named `s`, if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for DeliveryStatus {
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
        for s in DeliveryStatus::iter() {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(DeliveryStatus::iter().count(), DeliveryStatus::ALL.len());
    }
}
