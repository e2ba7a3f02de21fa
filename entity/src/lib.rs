//! sea-orm entities, one module per table. No business logic lives here: rules are in
//! `orchstack::service`.

pub mod agent_versions;
pub mod agents;
pub mod api_keys;
pub mod gates;
pub mod idempotency_keys;
pub mod instances;
pub mod knowledge_bases;
pub mod knowledge_blobs;
pub mod knowledge_chunks;
pub mod knowledge_documents;
pub mod organizations;
pub mod prelude;
pub mod run_events;
pub mod run_steps;
pub mod runs;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
pub mod webhook_events;
