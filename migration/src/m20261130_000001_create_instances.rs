use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One row per running instance, kept fresh by its heartbeat: a lease (a run's
/// `lease_owner`) is alive exactly as long as its owner's row is. `runs.lease_expires_at`
/// is no longer written (leases no longer expire one by one) but stays, so this change
/// drops nothing.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Instances::Table)
                .col(string(Instances::Id).primary_key())
                .col(timestamp_with_time_zone(Instances::StartedAt))
                .col(timestamp_with_time_zone(Instances::LastSeen))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Instances::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Instances {
    Table,
    Id,
    StartedAt,
    LastSeen,
}
