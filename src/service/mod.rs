//! Domain rules, one module per aggregate. Resolvers, REST routes, the CLI and workers
//! all call these functions; tenancy and scope checks live here, never only in a caller.
//!
//! Transactions write before they read: on SQLite a transaction that reads first and
//! then writes fails with "database is locked" if another connection wrote in between.

pub mod agents;
pub mod api_keys;
mod db;
pub mod gates;
pub mod idempotency;
pub mod knowledge;
pub mod orgs;
pub mod pagination;
pub mod runs;
pub mod unit;
pub mod webhooks;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::events::bus::Bus;
use crate::events::journal::Journal;
pub use db::Db;
use std::sync::Arc;

/// What the service layer works with, in one value: every front end (GraphQL, REST
/// through GraphQL, the CLI) hands this and the caller's [`crate::auth::Principal`] to
/// the service functions, and nothing else. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The database: the pool, or the request's unit of work.
    pub db: Db,
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
    /// Embeddings, cached vectors and kept originals of knowledge bases.
    pub knowledge: knowledge::Knowledge,
}

impl Services {
    /// Runs `f` once this request's changes are committed: at once outside a unit of
    /// work, when the outermost unit commits inside one (and never if it rolls back).
    /// Bus publishes, worker wake-ups and cache evictions go through here, so nobody
    /// hears of a change that is not visible yet, or that never happened.
    pub fn after_commit(&self, f: Box<dyn FnOnce() + Send>) {
        match self.db.unit() {
            Some(t) => t.after_commit(f),
            None => f(),
        }
    }
}
