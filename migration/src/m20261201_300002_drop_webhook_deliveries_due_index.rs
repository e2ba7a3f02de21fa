use sea_orm_migration::prelude::*;

/// Drops `idx_webhook_deliveries_due` (status, next_attempt_at): the claim seeks due
/// deliveries per endpoint through the partial indexes of `m20261201_300001`, and orphans
/// are found through the partial `sending` index, so it only cost every insert and every
/// status change one more index entry (the outbox writes one delivery per run's ending).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_webhook_deliveries_due")
                .table(Alias::new("webhook_deliveries"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_due")
                .table(Alias::new("webhook_deliveries"))
                .col(Alias::new("status"))
                .col(Alias::new("next_attempt_at"))
                .to_owned(),
        )
        .await
    }
}
