//! Domain rules, one module per aggregate. Resolvers, REST routes, the CLI and workers
//! all call these functions; tenancy and scope checks live here, never only in a caller.
//!
//! Transactions write before they read: on SQLite a transaction that reads first and
//! then writes fails with "database is locked" if another connection wrote in between.

pub mod agents;
pub mod api_keys;
pub mod orgs;
pub mod pagination;
pub mod runs;
