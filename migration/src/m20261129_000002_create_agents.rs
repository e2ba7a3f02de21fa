use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Agents::Table)
                .col(string(Agents::Id).primary_key())
                .col(string(Agents::OrgId))
                .col(string(Agents::Name))
                .col(text_null(Agents::Description))
                .col(string(Agents::Model))
                .col(json(Agents::ModelSettings))
                .col(text(Agents::Instructions))
                .col(json(Agents::Tools))
                .col(json(Agents::KnowledgeIds))
                .col(json(Agents::Channels))
                .col(json(Agents::Metadata))
                .col(integer(Agents::Version))
                .col(timestamp_with_time_zone(Agents::CreatedAt))
                .col(timestamp_with_time_zone(Agents::UpdatedAt))
                .col(timestamp_with_time_zone_null(Agents::DeletedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Agents::Table, Agents::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Keyset pagination walks (org_id, sort column, id).
        for (name, col) in [
            ("idx_agents_org_created", Agents::CreatedAt),
            ("idx_agents_org_updated", Agents::UpdatedAt),
            ("idx_agents_org_name", Agents::Name),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Agents::Table)
                    .col(Agents::OrgId)
                    .col(col)
                    .col(Agents::Id)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(AgentVersions::Table)
                .col(string(AgentVersions::Id).primary_key())
                .col(string(AgentVersions::OrgId))
                .col(string(AgentVersions::AgentId))
                .col(integer(AgentVersions::Version))
                .col(json(AgentVersions::Snapshot))
                .col(timestamp_with_time_zone(AgentVersions::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(AgentVersions::Table, AgentVersions::AgentId)
                        .to(Agents::Table, Agents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_agent_versions_agent_version")
                .table(AgentVersions::Table)
                .col(AgentVersions::AgentId)
                .col(AgentVersions::Version)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AgentVersions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Agents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    OrgId,
    Name,
    Description,
    Model,
    ModelSettings,
    Instructions,
    Tools,
    KnowledgeIds,
    Channels,
    Metadata,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum AgentVersions {
    Table,
    Id,
    OrgId,
    AgentId,
    Version,
    Snapshot,
    CreatedAt,
}
