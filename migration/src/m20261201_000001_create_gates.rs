use sea_orm_migration::{prelude::*, schema::*};

/// Approval gates: a run paused before a tool call that needs a person's approval.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Gates::Table)
                .col(string(Gates::Id).primary_key())
                .col(string(Gates::OrgId))
                .col(string(Gates::RunId))
                .col(string(Gates::AgentId))
                .col(string(Gates::CallId))
                .col(string(Gates::ToolName))
                .col(json(Gates::Arguments))
                .col(text_null(Gates::Prompt))
                .col(string(Gates::Status))
                .col(string(Gates::OnTimeout))
                .col(timestamp_with_time_zone(Gates::ExpiresAt))
                .col(json_null(Gates::ResolvedArguments))
                .col(string_null(Gates::ResolvedBy))
                .col(text_null(Gates::Comment))
                .col(timestamp_with_time_zone(Gates::CreatedAt))
                .col(timestamp_with_time_zone_null(Gates::ResolvedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Gates::Table, Gates::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        let indexes: [(&str, Vec<Gates>, bool); 4] = [
            (
                "idx_gates_org_created",
                vec![Gates::OrgId, Gates::CreatedAt, Gates::Id],
                false,
            ),
            ("idx_gates_run", vec![Gates::RunId, Gates::CreatedAt], false),
            // The expiry sweep looks for pending gates past their time.
            (
                "idx_gates_status_expires",
                vec![Gates::Status, Gates::ExpiresAt],
                false,
            ),
            // One gate per tool call of a run, whatever retries happen.
            (
                "idx_gates_run_call",
                vec![Gates::RunId, Gates::CallId],
                true,
            ),
        ];
        for (name, cols, unique) in indexes {
            let mut idx = Index::create();
            idx.name(name).table(Gates::Table);
            if unique {
                idx.unique();
            }
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Gates::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Gates {
    Table,
    Id,
    OrgId,
    RunId,
    AgentId,
    CallId,
    ToolName,
    Arguments,
    Prompt,
    Status,
    OnTimeout,
    ExpiresAt,
    ResolvedArguments,
    ResolvedBy,
    Comment,
    CreatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
}
