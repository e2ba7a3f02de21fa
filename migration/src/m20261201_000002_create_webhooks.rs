use sea_orm_migration::{prelude::*, schema::*};

/// Webhooks: endpoints, the outbox of events, one delivery per event and endpoint, and
/// every attempt of a delivery.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WebhookEndpoints::Table)
                .col(string(WebhookEndpoints::Id).primary_key())
                .col(string(WebhookEndpoints::OrgId))
                .col(text(WebhookEndpoints::Url))
                .col(text_null(WebhookEndpoints::Description))
                .col(json(WebhookEndpoints::Events))
                .col(boolean(WebhookEndpoints::Enabled))
                .col(string_null(WebhookEndpoints::DisabledReason))
                .col(string(WebhookEndpoints::Secret))
                .col(string_null(WebhookEndpoints::PreviousSecret))
                .col(timestamp_with_time_zone_null(
                    WebhookEndpoints::PreviousSecretExpiresAt,
                ))
                .col(timestamp_with_time_zone_null(
                    WebhookEndpoints::FailingSince,
                ))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookEndpoints::Table, WebhookEndpoints::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_endpoints_org_created")
                .table(WebhookEndpoints::Table)
                .col(WebhookEndpoints::OrgId)
                .col(WebhookEndpoints::CreatedAt)
                .col(WebhookEndpoints::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookEvents::Table)
                .col(string(WebhookEvents::Id).primary_key())
                .col(string(WebhookEvents::OrgId))
                .col(string(WebhookEvents::Type))
                .col(json(WebhookEvents::Payload))
                .col(timestamp_with_time_zone(WebhookEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookEvents::Table, WebhookEvents::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_events_org_created")
                .table(WebhookEvents::Table)
                .col(WebhookEvents::OrgId)
                .col(WebhookEvents::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(string(WebhookDeliveries::Id).primary_key())
                .col(string(WebhookDeliveries::EventId))
                .col(string(WebhookDeliveries::EndpointId))
                .col(string(WebhookDeliveries::OrgId))
                .col(string(WebhookDeliveries::Status))
                .col(integer(WebhookDeliveries::Attempts))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::NextAttemptAt,
                ))
                .col(string_null(WebhookDeliveries::LeaseOwner))
                .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::LastAttemptAt,
                ))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::CompletedAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                        .to(WebhookEvents::Table, WebhookEvents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                        .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        let indexes: [(&str, Vec<WebhookDeliveries>, bool); 3] = [
            // Delivery workers look for due deliveries.
            (
                "idx_webhook_deliveries_due",
                vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt],
                false,
            ),
            (
                "idx_webhook_deliveries_endpoint_created",
                vec![
                    WebhookDeliveries::EndpointId,
                    WebhookDeliveries::CreatedAt,
                    WebhookDeliveries::Id,
                ],
                false,
            ),
            // One delivery per event and endpoint: a retry never makes a second one.
            (
                "idx_webhook_deliveries_event_endpoint",
                vec![WebhookDeliveries::EventId, WebhookDeliveries::EndpointId],
                true,
            ),
        ];
        for (name, cols, unique) in indexes {
            let mut idx = Index::create();
            idx.name(name).table(WebhookDeliveries::Table);
            if unique {
                idx.unique();
            }
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(string(WebhookAttempts::Id).primary_key())
                .col(string(WebhookAttempts::DeliveryId))
                .col(string(WebhookAttempts::OrgId))
                .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                .col(integer_null(WebhookAttempts::StatusCode))
                .col(big_integer(WebhookAttempts::DurationMs))
                .col(text_null(WebhookAttempts::Response))
                .col(text_null(WebhookAttempts::Error))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                        .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_attempts_delivery")
                .table(WebhookAttempts::Table)
                .col(WebhookAttempts::DeliveryId)
                .col(WebhookAttempts::AttemptedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrgId,
    Url,
    Description,
    Events,
    Enabled,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    OrgId,
    Type,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EventId,
    EndpointId,
    OrgId,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    CreatedAt,
    LastAttemptAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    OrgId,
    AttemptedAt,
    StatusCode,
    DurationMs,
    Response,
    Error,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}
