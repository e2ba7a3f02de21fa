//! The state every request handler shares; cheap to clone.

use crate::auth::Authenticator;
use crate::config::Config;
use crate::graphql::AppSchema;
use crate::rest::RestApi;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// API key verification with its cache.
    pub auth: Authenticator,
    /// The GraphQL schema (REST executes on it too).
    pub schema: AppSchema,
    /// The REST translation table, documents parsed once.
    pub rest: Arc<RestApi>,
}
