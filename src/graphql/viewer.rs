//! `viewer` (who am I) and `node(id:)` (any object by its global id).

use super::agents::{Agent, AgentVersion};
use super::api_keys::ApiKey;
use super::scalars::DateTime;
use super::{db, principal};
use crate::ids;
use crate::service::{agents, api_keys, orgs};
use async_graphql::{Context, Interface, Object, Result, SimpleObject, ID};

/// Any object with a global id.
// Nodes live for one response; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The global id; its prefix names the type."
))]
pub enum Node {
    /// An agent.
    Agent(Agent),
    /// An agent version.
    AgentVersion(AgentVersion),
    /// An API key.
    ApiKey(ApiKey),
}

/// An organisation.
#[derive(SimpleObject)]
pub struct Organization {
    /// `org_...`
    pub id: ID,
    /// Display name.
    pub name: String,
    /// `free`, `pro` or `enterprise`.
    pub tier: String,
    /// When it was created.
    pub created_at: DateTime,
}

/// The caller.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The caller's organisation.
    pub organization: Organization,
    /// The id of the key the caller used.
    pub api_key_id: ID,
    /// The caller's scopes.
    pub scopes: Vec<String>,
    /// Whether the caller used a test key.
    pub test_mode: bool,
}

/// `viewer` and `node`.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who is calling.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let p = principal(ctx);
        let org = orgs::get(db(ctx), &p.org_id).await?;
        Ok(Viewer {
            organization: Organization {
                id: ID(org.id),
                name: org.name,
                tier: org.tier,
                created_at: org.created_at.into(),
            },
            api_key_id: ID(p.key_id.clone()),
            scopes: p.scopes.clone(),
            test_mode: p.test_mode,
        })
    }

    /// Any object by id; `null` when it does not exist or is not the caller's.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (db, p) = (db(ctx), principal(ctx));
        let found = match ids::prefix_of(&id) {
            Some(ids::AGENT) => agents::get(db, p, &id).await.map(|a| Node::Agent(Agent(a))),
            Some(ids::API_KEY) => api_keys::get(db, p, &id)
                .await
                .map(|k| Node::ApiKey(ApiKey(k))),
            Some(ids::AGENT_VERSION) => agents::versions::get(db, p, &id)
                .await
                .map(|v| Node::AgentVersion(AgentVersion(v))),
            _ => return Ok(None),
        };
        match found {
            Ok(node) => Ok(Some(node)),
            Err(crate::error::AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
