//! `viewer` (who am I) and `node(id:)` (any object by its global id).

use super::agent_versions::AgentVersion;
use super::agents::Agent;
use super::api_keys::ApiKey;
use super::enums::Tier;
use super::runs::Run;
use super::scalars::DateTime;
use super::{db, principal};
use crate::error::AppError;
use crate::ids::{self, Kind};
use crate::service::{agents, api_keys, orgs, runs};
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
    /// A run.
    Run(Run),
}

/// An organisation.
#[derive(SimpleObject)]
pub struct Organization {
    /// `org_...`
    pub id: ID,
    /// Display name.
    pub name: String,
    /// The plan tier.
    pub tier: Tier,
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
                tier: orgs::Tier::parse(&org.tier)
                    .map_err(AppError::internal)?
                    .into(),
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
        let found = match ids::Kind::of(&id) {
            Some(Kind::Agent) => agents::get(db, p, &id).await.map(|a| Node::Agent(a.into())),
            Some(Kind::ApiKey) => api_keys::get(db, p, &id)
                .await
                .map(|k| Node::ApiKey(ApiKey(k))),
            Some(Kind::Run) => runs::get(db, p, &id).await.map(|r| Node::Run(Run::new(r))),
            Some(Kind::AgentVersion) => agents::versions::get(db, p, &id)
                .await
                .map(|v| Node::AgentVersion(AgentVersion(v))),
            // Not fetchable on their own: an organisation is the viewer's, a step is
            // read through its run.
            Some(
                Kind::Org
                | Kind::RunStep
                | Kind::Gate
                | Kind::WebhookEndpoint
                | Kind::WebhookEvent
                | Kind::WebhookDelivery
                | Kind::WebhookAttempt
                | Kind::KnowledgeBase
                | Kind::KnowledgeDocument
                | Kind::KnowledgeChunk,
            )
            | None => return Ok(None),
        };
        match found {
            Ok(node) => Ok(Some(node)),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
