use sea_orm_migration::{prelude::*, schema::*};

/// Idempotency keys: one row per organisation and key. The row is the in-flight lock
/// (unique on org + key), and the stored answer once the request's transaction committed.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(string(IdempotencyKeys::Id).primary_key())
                .col(string(IdempotencyKeys::OrgId))
                .col(string(IdempotencyKeys::Key))
                .col(string(IdempotencyKeys::Fingerprint))
                .col(string(IdempotencyKeys::State))
                .col(string(IdempotencyKeys::Owner))
                .col(timestamp_with_time_zone(IdempotencyKeys::LockedUntil))
                .col(string_null(IdempotencyKeys::RunId))
                .col(integer_null(IdempotencyKeys::Status))
                .col(json_null(IdempotencyKeys::Headers))
                .col(text_null(IdempotencyKeys::Body))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(IdempotencyKeys::Table, IdempotencyKeys::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_org_key")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::OrgId)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        // The prune sweep deletes expired rows oldest first.
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_expires")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::ExpiresAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    OrgId,
    Key,
    Fingerprint,
    State,
    Owner,
    LockedUntil,
    RunId,
    Status,
    Headers,
    Body,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}
