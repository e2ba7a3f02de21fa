//! Database migrations, one file per change, run in order on SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_organizations_and_api_keys;
mod m20261129_000002_create_agents;
mod m20261129_000003_create_runs;
mod m20261129_000004_index_active_runs_by_session;
mod m20261130_000001_create_instances;
mod m20261201_000001_create_gates;
mod m20261201_000002_create_webhooks;
mod m20261201_300001_index_webhook_deliveries_claim;
mod m20261201_300002_drop_webhook_deliveries_due_index;
mod m20261207_000001_add_organization_rate_limits;
mod m20261207_000002_create_idempotency_keys;
mod m20261208_000001_create_knowledge;

/// All migrations of OrchStack, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_organizations_and_api_keys::Migration),
            Box::new(m20261129_000002_create_agents::Migration),
            Box::new(m20261129_000003_create_runs::Migration),
            Box::new(m20261129_000004_index_active_runs_by_session::Migration),
            Box::new(m20261130_000001_create_instances::Migration),
            Box::new(m20261201_000001_create_gates::Migration),
            Box::new(m20261201_000002_create_webhooks::Migration),
            Box::new(m20261201_300001_index_webhook_deliveries_claim::Migration),
            Box::new(m20261201_300002_drop_webhook_deliveries_due_index::Migration),
            Box::new(m20261207_000001_add_organization_rate_limits::Migration),
            Box::new(m20261207_000002_create_idempotency_keys::Migration),
            Box::new(m20261208_000001_create_knowledge::Migration),
        ]
    }
}
