use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Claiming a run checks that its conversation has nothing in progress; a partial index
/// over just the active runs keeps that check cheap however long the queue grows.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_runs_session_active ON runs (session_key) \
                 WHERE status IN ('running', 'waiting_for_approval')",
            )
            .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_runs_queued ON runs (created_at, id) WHERE status = 'queued'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX idx_runs_queued")
            .await?;
        m.get_connection()
            .execute_unprepared("DROP INDEX idx_runs_session_active")
            .await?;
        Ok(())
    }
}
