//! Short names for every entity.
pub use super::agent_versions::Entity as AgentVersions;
pub use super::agents::Entity as Agents;
pub use super::api_keys::Entity as ApiKeys;
pub use super::gates::Entity as Gates;
pub use super::idempotency_keys::Entity as IdempotencyKeys;
pub use super::instances::Entity as Instances;
pub use super::organizations::Entity as Organizations;
pub use super::run_events::Entity as RunEvents;
pub use super::run_steps::Entity as RunSteps;
pub use super::runs::Entity as Runs;
pub use super::webhook_attempts::Entity as WebhookAttempts;
pub use super::webhook_deliveries::Entity as WebhookDeliveries;
pub use super::webhook_endpoints::Entity as WebhookEndpoints;
pub use super::webhook_events::Entity as WebhookEvents;
