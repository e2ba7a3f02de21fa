//! The state every request handler shares; cheap to clone.

use crate::auth::Authenticator;
use crate::config::Config;
use crate::graphql::http::GraphqlState;
use crate::graphql::AppSchema;
use crate::http::health::HealthState;
use crate::rest::{RestApi, RestState};
use axum::extract::FromRef;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Statements sent to it.
    pub db_stats: Arc<crate::db::DbStats>,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// API key verification with its cache.
    pub auth: Authenticator,
    /// The GraphQL schema (REST executes on it too).
    pub schema: AppSchema,
    /// The REST translation table, documents parsed once.
    pub rest: Arc<RestApi>,
    /// Live events between the API and the workers.
    pub bus: Arc<crate::events::bus::Bus>,
    /// Runs runs (the worker's, and the API's for its own bookkeeping).
    pub executor: crate::runtime::executor::Executor,
    /// Open streams: caps per key and organisation, revocation and shutdown.
    pub streams: crate::http::streams::Streams,
    /// The service layer's handles (what the idempotency layer runs requests on, and a
    /// batch begins its transaction on).
    pub services: crate::service::Services,
    /// Per-organisation rate limits (the layer's, and the WebSocket transport's).
    pub rate_limits: crate::http::rate_limit::RateLimits,
    /// This instance's id (the owner of its leases).
    pub instance_id: String,
}

// Each API's handlers take only their part of the state; these say how to cut it out.
// They live here, at the root, so no API module needs to know `AppState`.

impl FromRef<AppState> for GraphqlState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            schema: state.schema.clone(),
            auth: state.auth.clone(),
            streams: state.streams.clone(),
            config: state.config.clone(),
            rate_limits: state.rate_limits.clone(),
        }
    }
}

impl FromRef<AppState> for RestState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            schema: state.schema.clone(),
            rest: state.rest.clone(),
            streams: state.streams.clone(),
            config: state.config.clone(),
        }
    }
}

impl FromRef<AppState> for HealthState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
        }
    }
}
