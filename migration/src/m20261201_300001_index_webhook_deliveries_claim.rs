use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Claiming deliveries takes, per endpoint, its oldest due ones beside those it has in
/// flight (`jobs::deliveries`): two partial indexes make both an index seek per endpoint,
/// however long one endpoint's backlog grows.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_webhook_deliveries_pending ON webhook_deliveries \
             (endpoint_id, next_attempt_at, id) WHERE status = 'pending'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_webhook_deliveries_sending ON webhook_deliveries \
             (endpoint_id) WHERE status = 'sending'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX idx_webhook_deliveries_sending")
            .await?;
        db.execute_unprepared("DROP INDEX idx_webhook_deliveries_pending")
            .await?;
        Ok(())
    }
}
