//! Webhook endpoints and their deliveries in GraphQL.

use super::connection::{from_page, page_args, OrderDirection};
use super::patch::{clearable, keep};
use super::scalars::DateTime;
use super::webhook_deliveries::{WebhookDelivery, WebhookDeliveryFilter};
use crate::service::pagination::Sort;
use crate::service::webhooks::deliveries::{self, DeliveryFilter};
use crate::service::webhooks::{self as svc, EndpointField, EndpointPatch, NewEndpoint};
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, Result, ID};
use entity::webhook_endpoints;

/// An endpoint that receives the organisation's events (never its secret, which is
/// shown when it is made).
pub struct WebhookEndpoint(pub webhook_endpoints::Model);

#[Object]
impl WebhookEndpoint {
    /// `wh_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// A note for people.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The event types it receives (`agent.run.completed`, ...), or `["*"]` for all.
    async fn events(&self) -> Vec<String> {
        svc::events_of(&self.0)
    }
    /// Whether it receives deliveries; a disabled endpoint's deliveries are held.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Why the server disabled it (`gone`: it answered 410; `failing`), if it did.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// Since when every attempt to it has failed.
    async fn failing_since(&self) -> Option<DateTime> {
        self.0.failing_since.map(Into::into)
    }
    /// After a rotation: until when the previous secret still signs beside the new one.
    async fn previous_secret_expires_at(&self) -> Option<DateTime> {
        self.0.previous_secret_expires_at.map(Into::into)
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// Its deliveries, newest first, each with its event and attempts.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<WebhookDeliveryFilter>,
    ) -> Result<Connection<String, WebhookDelivery>> {
        let (s, p) = super::caller(ctx);
        let filter = DeliveryFilter {
            status: filter
                .and_then(|f| f.status)
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        };
        let args = page_args(first, after, last, before);
        let page = deliveries::list(s, p, &self.0, &filter, &args).await?;
        Ok(from_page(page, WebhookDelivery))
    }
}

/// An endpoint with its signing secret: the answer of creating it and of rotating its
/// secret, and the only places the secret is ever shown.
pub struct WebhookEndpointWithSecret(svc::WithSecret);

#[Object]
impl WebhookEndpointWithSecret {
    /// `wh_...`
    pub async fn id(&self) -> ID {
        ID(self.0.endpoint.id.clone())
    }
    /// The signing secret, `whsec_` + base64 of 32 random bytes. Store it now: it
    /// cannot be shown again.
    async fn secret(&self) -> &str {
        &self.0.secret
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.endpoint.url
    }
    /// A note for people.
    async fn description(&self) -> Option<&str> {
        self.0.endpoint.description.as_deref()
    }
    /// The event types it receives, or `["*"]`.
    async fn events(&self) -> Vec<String> {
        svc::events_of(&self.0.endpoint)
    }
    /// Whether it receives deliveries.
    async fn enabled(&self) -> bool {
        self.0.endpoint.enabled
    }
    /// Why the server disabled it, if it did.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.endpoint.disabled_reason.as_deref()
    }
    /// Since when every attempt to it has failed.
    async fn failing_since(&self) -> Option<DateTime> {
        self.0.endpoint.failing_since.map(Into::into)
    }
    /// Until when the previous secret still signs beside this one (after a rotation).
    async fn previous_secret_expires_at(&self) -> Option<DateTime> {
        self.0.endpoint.previous_secret_expires_at.map(Into::into)
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime {
        self.0.endpoint.created_at.into()
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.endpoint.updated_at.into()
    }
}

/// Fields an endpoint list can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookEndpointOrderField {
    /// By creation time.
    CreatedAt,
    /// By last change.
    UpdatedAt,
}

/// One sort key of an endpoint list.
#[derive(InputObject, Clone, Copy)]
pub struct WebhookEndpointOrder {
    /// The field.
    pub field: WebhookEndpointOrderField,
    /// The direction.
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// A new endpoint.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where to POST deliveries: `https://` (`http://` only to allow-listed hosts), at
    /// most 2,048 characters, reaching public addresses only.
    pub url: String,
    /// Event types to receive (`agent.run.completed`, ...), or `["*"]` for all.
    pub events: Vec<String>,
    /// A note for people (at most 500 characters).
    pub description: Option<String>,
    /// Whether it receives deliveries (default true).
    pub enabled: Option<bool>,
}

/// A change to an endpoint: only the fields given change; only `description` can be
/// cleared with `null`.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// New URL.
    pub url: MaybeUndefined<String>,
    /// New event types.
    pub events: MaybeUndefined<Vec<String>>,
    /// New description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// `false` disables it (its pending deliveries are held); `true` re-enables it (its
    /// held deliveries are sent again).
    pub enabled: MaybeUndefined<bool>,
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// One webhook endpoint by id.
    async fn webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookEndpoint> {
        let (s, p) = super::caller(ctx);
        Ok(WebhookEndpoint(svc::get(s, p, &id).await?))
    }

    /// The organisation's webhook endpoints, newest first unless `orderBy` says otherwise.
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        order_by: Option<Vec<WebhookEndpointOrder>>,
    ) -> Result<Connection<String, WebhookEndpoint>> {
        let (s, p) = super::caller(ctx);
        let sort: Vec<_> = order_by
            .unwrap_or_default()
            .into_iter()
            .map(|o| Sort {
                field: match o.field {
                    WebhookEndpointOrderField::CreatedAt => EndpointField::CreatedAt,
                    WebhookEndpointOrderField::UpdatedAt => EndpointField::UpdatedAt,
                },
                desc: o.direction == OrderDirection::Desc,
            })
            .collect();
        let args = page_args(first, after, last, before);
        Ok(from_page(
            svc::list(s, p, &sort, &args).await?,
            WebhookEndpoint,
        ))
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Creates an endpoint; its secret is in the answer and nowhere else, ever.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointWithSecret> {
        let (s, p) = super::caller(ctx);
        let new = NewEndpoint {
            url: input.url,
            events: input.events,
            description: input.description,
            enabled: input.enabled,
        };
        Ok(WebhookEndpointWithSecret(svc::create(s, p, new).await?))
    }

    /// Changes the fields given; `enabled` holds or replays its deliveries.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpoint> {
        let (s, p) = super::caller(ctx);
        let mut nulls = Vec::new();
        let patch = EndpointPatch {
            url: keep(input.url, "/url", &mut nulls),
            events: keep(input.events, "/events", &mut nulls),
            description: clearable(input.description),
            enabled: keep(input.enabled, "/enabled", &mut nulls),
            nulls,
        };
        Ok(WebhookEndpoint(svc::update(s, p, &id, patch).await?))
    }

    /// Deletes an endpoint with its deliveries; returns its id.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let (s, p) = super::caller(ctx);
        Ok(ID(svc::delete(s, p, &id).await?))
    }

    /// Gives an endpoint a new secret (in the answer, shown this once); the previous one
    /// keeps signing beside it until `previousSecretExpiresAt`.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookEndpointWithSecret> {
        let (s, p) = super::caller(ctx);
        Ok(WebhookEndpointWithSecret(
            svc::rotate_secret(s, p, &id).await?,
        ))
    }

    /// Sends the endpoint a `webhook.test` event (to it only); returns the delivery.
    async fn test_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let (s, p) = super::caller(ctx);
        Ok(WebhookDelivery(deliveries::send_test(s, p, &id).await?))
    }

    /// Makes a delivery due now: a failed one gets another attempt, a succeeded one is
    /// sent again with the same `webhook-id`.
    async fn retry_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        delivery_id: ID,
    ) -> Result<WebhookDelivery> {
        let (s, p) = super::caller(ctx);
        Ok(WebhookDelivery(
            deliveries::retry(s, p, &webhook_id, &delivery_id).await?,
        ))
    }
}
