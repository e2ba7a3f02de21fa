//! Short names for every entity.
pub use super::agent_versions::Entity as AgentVersions;
pub use super::agents::Entity as Agents;
pub use super::api_keys::Entity as ApiKeys;
pub use super::instances::Entity as Instances;
pub use super::organizations::Entity as Organizations;
pub use super::run_events::Entity as RunEvents;
pub use super::run_steps::Entity as RunSteps;
pub use super::runs::Entity as Runs;
