//! An agent's versions in GraphQL: immutable snapshots of its configuration.

use super::agents::{json_list, strings};
use super::scalars::DateTime;
use async_graphql::{Json, Object, ID};
use entity::agent_versions;
use serde_json::Value;

/// An immutable snapshot of an agent's configuration.
pub struct AgentVersion(pub agent_versions::Model);

impl AgentVersion {
    fn field(&self, name: &str) -> Value {
        self.0.snapshot.get(name).cloned().unwrap_or(Value::Null)
    }
}

#[Object]
impl AgentVersion {
    /// `agv_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The agent this is a version of.
    async fn agent_id(&self) -> ID {
        ID(self.0.agent_id.clone())
    }
    /// The version number (1 for the agent as created).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Name at this version.
    async fn name(&self) -> String {
        self.field("name").as_str().unwrap_or_default().to_owned()
    }
    /// Description at this version.
    async fn description(&self) -> Option<String> {
        self.field("description").as_str().map(str::to_owned)
    }
    /// Model at this version.
    async fn model(&self) -> String {
        self.field("model").as_str().unwrap_or_default().to_owned()
    }
    /// Model settings at this version.
    async fn model_settings(&self) -> Json<Value> {
        Json(self.field("model_settings"))
    }
    /// Instructions at this version.
    async fn instructions(&self) -> String {
        self.field("instructions")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    /// Tools at this version.
    async fn tools(&self) -> Vec<Json<Value>> {
        json_list(&self.field("tools"))
    }
    /// Knowledge bases at this version.
    async fn knowledge_ids(&self) -> Vec<ID> {
        strings(&self.field("knowledge_ids"))
            .into_iter()
            .map(ID)
            .collect()
    }
    /// Retrieval settings at this version.
    async fn retrieval(&self) -> super::agent_retrieval::AgentRetrieval {
        let v = self.field("retrieval");
        super::agent_retrieval::AgentRetrieval::of(Some(&v).filter(|v| !v.is_null()))
    }
    /// Channels at this version.
    async fn channels(&self) -> Vec<String> {
        strings(&self.field("channels"))
    }
    /// Metadata at this version.
    async fn metadata(&self) -> Json<Value> {
        Json(self.field("metadata"))
    }
    /// When this version was made.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}
