//! The GraphQL schema: one root per aggregate, merged. Resolvers are thin adapters
//! onto `service`; REST executes on this same schema.

pub mod agents;
pub mod api_keys;
pub mod connection;
pub mod cost;
pub mod enums;
pub mod errors;
pub mod http;
pub mod limits;
pub mod loaders;
pub mod runs;
pub mod scalars;
pub mod sse;
pub mod subscriptions;
pub mod viewer;
pub mod ws;
pub mod ws_legacy;

use crate::auth::{Authenticator, Principal};
use crate::config::Config;
use async_graphql::{Context, MergedObject, Schema};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Query root.
#[derive(MergedObject, Default)]
pub struct Query(
    viewer::ViewerQuery,
    agents::AgentsQuery,
    api_keys::ApiKeysQuery,
    runs::RunsQuery,
);

/// Mutation root.
#[derive(MergedObject, Default)]
pub struct Mutation(
    agents::AgentsMutation,
    api_keys::ApiKeysMutation,
    runs::RunsMutation,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, subscriptions::Subscription>;

/// The id of the HTTP request a GraphQL request came in on (for error messages).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Builds the schema with its limits; `db` and `auth` are available to resolvers.
pub fn schema_builder(
    config: &Config,
) -> async_graphql::SchemaBuilder<Query, Mutation, subscriptions::Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscriptions::Subscription,
    )
    .limit_depth(config.graphql.max_depth)
    // Complexity is `limits`' (with list multipliers, checked before validation).
    .limit_recursive_depth(cost::MAX_RECURSIVE_DEPTH)
    .extension(errors::ErrorCodes)
    .extension(limits::Limits::new(&config.graphql))
}

/// The schema used to serve requests.
pub fn build_schema(
    config: &Config,
    db: DatabaseConnection,
    auth: Authenticator,
    bus: Arc<crate::events::bus::Bus>,
    journal: crate::events::journal::Journal,
    agent_rules: crate::service::agents::AgentRules,
) -> AppSchema {
    schema_builder(config)
        .data(async_graphql::dataloader::DataLoader::new(
            loaders::AgentLoader(db.clone()),
            tokio::spawn,
        ))
        .data(Arc::new(config.clone()))
        .data(db)
        .data(auth)
        .data(bus)
        .data(journal)
        .data(agent_rules)
        .finish()
}

/// The SDL of the schema (what `orchstack schema` prints and `schema/schema.graphql` holds).
pub fn sdl() -> String {
    schema_builder(&Config::default()).finish().sdl()
}

/// Hands the HTTP request's caller and request id to a GraphQL request, so resolvers see
/// the same principal whichever transport (GraphQL or REST) brought the request.
pub fn with_caller(
    mut gql: async_graphql::Request,
    ext: &::http::Extensions,
) -> async_graphql::Request {
    if let Some(p) = ext.get::<Arc<Principal>>() {
        gql = gql.data(p.clone());
    }
    if let Some(id) = ext.get::<RequestId>() {
        gql = gql.data(id.clone());
    }
    gql
}

/// The caller of this request.
pub(crate) fn principal<'a>(ctx: &'a Context<'_>) -> &'a Principal {
    // The auth layer rejects every request without a principal before execution.
    ctx.data_unchecked::<Arc<Principal>>()
}

/// The database pool.
pub(crate) fn db<'a>(ctx: &'a Context<'_>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}
