//! The GraphQL schema: one root per aggregate, merged. Resolvers are thin adapters
//! onto `service`; REST executes on this same schema.

pub mod agent_retrieval;
pub mod agent_versions;
pub mod agents;
pub mod api_keys;
mod batch;
pub mod citations;
pub mod connection;
pub mod cost;
pub mod enums;
pub mod errors;
pub mod gates;
pub mod http;
pub mod knowledge;
pub mod knowledge_documents;
pub mod limits;
pub mod loaders;
mod params;
mod patch;
pub mod run_steps;
pub mod runs;
pub mod scalars;
pub mod sse;
pub mod subscriptions;
pub mod viewer;
pub mod webhook_deliveries;
pub mod webhooks;
pub mod ws;
pub mod ws_legacy;

use crate::auth::Principal;
use crate::config::Config;
use crate::service::Services;
use async_graphql::{Context, MergedObject, Schema};
use std::sync::Arc;

/// Query root.
#[derive(MergedObject, Default)]
pub struct Query(
    viewer::ViewerQuery,
    agents::AgentsQuery,
    api_keys::ApiKeysQuery,
    runs::RunsQuery,
    webhooks::WebhooksQuery,
    gates::GatesQuery,
    knowledge::KnowledgeQuery,
);

/// Mutation root.
#[derive(MergedObject, Default)]
pub struct Mutation(
    agents::AgentsMutation,
    api_keys::ApiKeysMutation,
    runs::RunsMutation,
    webhooks::WebhooksMutation,
    gates::GatesMutation,
    knowledge::KnowledgeMutation,
    knowledge_documents::KnowledgeDocumentsMutation,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, subscriptions::Subscription>;

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

/// The schema used to serve requests: resolvers reach the service layer through the
/// one [`Services`] value in the schema data, and the caller through the request's data.
pub fn build_schema(config: &Config, services: Services) -> AppSchema {
    schema_builder(config)
        .data(async_graphql::dataloader::DataLoader::new(
            loaders::AgentLoader(services.clone()),
            tokio::spawn,
        ))
        .data(services)
        .finish()
}

/// The SDL of the schema (what `orchstack schema` prints and `schema/schema.graphql` holds).
pub fn sdl() -> String {
    schema_builder(&Config::default()).finish().sdl()
}

/// Hands the HTTP request's caller, request id and (on GraphQL routes) rate-limit meter
/// to a GraphQL request, so resolvers see the same principal whichever transport
/// (GraphQL or REST) brought the request.
pub fn with_caller(
    mut gql: async_graphql::Request,
    ext: &::http::Extensions,
) -> async_graphql::Request {
    if let Some(p) = ext.get::<Arc<Principal>>() {
        gql = gql.data(p.clone());
    }
    if let Some(id) = ext.get::<crate::http::request_id::RequestId>() {
        gql = gql.data(id.clone());
    }
    // A request on a unit of work: its resolvers write through the unit's transaction
    // (request data comes before the schema's `Services`).
    if let Some(unit) = crate::service::unit::Unit::of(ext) {
        gql = gql.data(unit.services());
    }
    // The request's account with the rate limit, where documents are priced: the
    // document's cost is charged to it once measured (`limits`). REST's stored
    // documents are not (a REST call costs 1).
    if let Some(meter) = ext
        .get::<crate::http::rate_limit::Meter>()
        .filter(|m| m.prices_documents())
    {
        gql = gql.data(meter.clone());
    }
    gql
}

/// The caller of this request.
pub(crate) fn principal<'a>(ctx: &'a Context<'_>) -> &'a Principal {
    // The auth layer rejects every request without a principal before execution.
    ctx.data_unchecked::<Arc<Principal>>()
}

/// The service layer's handles.
pub(crate) fn services<'a>(ctx: &'a Context<'_>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

/// The service layer's handles and the caller: what every resolver hands on.
pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> (&'a Services, &'a Principal) {
    (services(ctx), principal(ctx))
}

/// The loader that batches the agents of a page of runs into one query.
pub(crate) fn agent_loader<'a>(
    ctx: &'a Context<'_>,
) -> &'a async_graphql::dataloader::DataLoader<loaders::AgentLoader> {
    ctx.data_unchecked()
}

/// The database (the pool, or the request's unit of work).
pub(crate) fn db<'a>(ctx: &'a Context<'_>) -> &'a crate::service::Db {
    &services(ctx).db
}
