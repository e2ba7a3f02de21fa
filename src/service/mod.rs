//! Domain rules, one module per aggregate. Resolvers, REST routes, the CLI and workers
//! all call these functions; tenancy and scope checks live here, never only in a caller.
//!
//! Transactions write before they read: on SQLite a transaction that reads first and
//! then writes fails with "database is locked" if another connection wrote in between.

pub mod agents;
pub mod api_keys;
pub mod gates;
pub mod orgs;
pub mod pagination;
pub mod runs;
pub mod webhooks;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::events::bus::Bus;
use crate::events::journal::Journal;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// What the service layer works with, in one value: every front end (GraphQL, REST
/// through GraphQL, the CLI) hands this and the caller's [`crate::auth::Principal`] to
/// the service functions, and nothing else. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Live events between instances, the API and the workers.
    pub bus: Arc<Bus>,
    /// The group-committing writer of runs and their events.
    pub journal: Journal,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// API key verification (its cache is evicted when a key is revoked).
    pub auth: Authenticator,
    /// What checking an agent needs from the configuration.
    pub agent_rules: agents::AgentRules,
}
