use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Runs::Table)
                .col(string(Runs::Id).primary_key())
                .col(string(Runs::OrgId))
                .col(string(Runs::AgentId))
                .col(integer(Runs::AgentVersion))
                .col(string(Runs::Status))
                .col(text(Runs::Input))
                .col(text_null(Runs::Output))
                .col(string_null(Runs::Channel))
                .col(string_null(Runs::UserId))
                .col(string_null(Runs::SessionId))
                .col(string(Runs::SessionKey))
                .col(json_null(Runs::Error))
                .col(big_integer(Runs::TokensInput))
                .col(big_integer(Runs::TokensOutput))
                .col(double(Runs::Cost))
                .col(json(Runs::Metadata))
                .col(boolean(Runs::TestMode))
                .col(boolean(Runs::CancelRequested))
                .col(string_null(Runs::LeaseOwner))
                .col(timestamp_with_time_zone_null(Runs::LeaseExpiresAt))
                .col(integer(Runs::Attempts))
                .col(timestamp_with_time_zone(Runs::CreatedAt))
                .col(timestamp_with_time_zone_null(Runs::StartedAt))
                .col(timestamp_with_time_zone_null(Runs::CompletedAt))
                .col(big_integer_null(Runs::DurationMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(Runs::Table, Runs::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        let indexes: [(&str, Vec<Runs>); 4] = [
            (
                "idx_runs_org_created",
                vec![Runs::OrgId, Runs::CreatedAt, Runs::Id],
            ),
            (
                "idx_runs_agent_created",
                vec![Runs::AgentId, Runs::CreatedAt],
            ),
            // Workers look for queued runs and expired leases.
            (
                "idx_runs_status_created",
                vec![Runs::Status, Runs::CreatedAt],
            ),
            ("idx_runs_session", vec![Runs::SessionKey, Runs::Status]),
        ];
        for (name, cols) in indexes {
            let mut idx = Index::create();
            idx.name(name).table(Runs::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(RunSteps::Table)
                .col(string(RunSteps::Id).primary_key())
                .col(string(RunSteps::RunId))
                .col(string(RunSteps::OrgId))
                .col(integer(RunSteps::Position))
                .col(string(RunSteps::Kind))
                .col(string_null(RunSteps::Name))
                .col(json(RunSteps::Input))
                .col(json_null(RunSteps::Output))
                .col(big_integer(RunSteps::TokensInput))
                .col(big_integer(RunSteps::TokensOutput))
                .col(double(RunSteps::Cost))
                .col(string(RunSteps::Status))
                .col(json_null(RunSteps::Error))
                .col(timestamp_with_time_zone(RunSteps::StartedAt))
                .col(timestamp_with_time_zone_null(RunSteps::CompletedAt))
                .col(big_integer_null(RunSteps::DurationMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(RunSteps::Table, RunSteps::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_run_steps_run_position")
                .table(RunSteps::Table)
                .col(RunSteps::RunId)
                .col(RunSteps::Position)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RunEvents::Table)
                .col(string(RunEvents::RunId))
                .col(big_integer(RunEvents::Seq))
                .col(string(RunEvents::OrgId))
                .col(string(RunEvents::Kind))
                .col(json(RunEvents::Data))
                .col(timestamp_with_time_zone(RunEvents::CreatedAt))
                .primary_key(Index::create().col(RunEvents::RunId).col(RunEvents::Seq))
                .foreign_key(
                    ForeignKey::create()
                        .from(RunEvents::Table, RunEvents::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RunEvents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RunSteps::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Runs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Runs {
    Table,
    Id,
    OrgId,
    AgentId,
    AgentVersion,
    Status,
    Input,
    Output,
    Channel,
    UserId,
    SessionId,
    SessionKey,
    Error,
    TokensInput,
    TokensOutput,
    Cost,
    Metadata,
    TestMode,
    CancelRequested,
    LeaseOwner,
    LeaseExpiresAt,
    Attempts,
    CreatedAt,
    StartedAt,
    CompletedAt,
    DurationMs,
}

#[derive(DeriveIden)]
enum RunSteps {
    Table,
    Id,
    RunId,
    OrgId,
    Position,
    Kind,
    Name,
    Input,
    Output,
    TokensInput,
    TokensOutput,
    Cost,
    Status,
    Error,
    StartedAt,
    CompletedAt,
    DurationMs,
}

#[derive(DeriveIden)]
enum RunEvents {
    Table,
    RunId,
    Seq,
    OrgId,
    Kind,
    Data,
    CreatedAt,
}
