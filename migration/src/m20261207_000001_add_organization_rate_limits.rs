use sea_orm_migration::prelude::*;

/// Per-organisation rate limits: when set, they replace the tier's (config
/// `rate_limits.<tier>`) for that organisation. SQLite adds one column per statement.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Organizations::RequestsPerMinute,
            Organizations::BurstPerSecond,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(ColumnDef::new(col).integer().null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Organizations::RequestsPerMinute,
            Organizations::BurstPerSecond,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    RequestsPerMinute,
    BurstPerSecond,
}
