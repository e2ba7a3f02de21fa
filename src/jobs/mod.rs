//! Leased work drained from the database: which instances are alive (`instances`), the
//! lease every kind of job shares (`lease`), and its kinds: the runs (`runs`), webhook
//! deliveries (`deliveries`) and indexing jobs (`indexing`). The
//! loops that execute the work live with what they run (`runtime::worker`).
//!
//! Below `runtime` and `events`: nothing here imports them, so the journal can claim
//! runs in its batches and the runtime can drive the worker without a cycle.

pub mod deliveries;
pub mod idempotency;
pub mod indexing;
pub mod instances;
pub mod lease;
pub mod runs;
