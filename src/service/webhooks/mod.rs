//! Webhook endpoints: where an organisation wants its events delivered. Created,
//! listed, changed, disabled and re-enabled (holding and replaying their deliveries),
//! deleted; their signing secret is shown when it is made (create, rotate) and never
//! again. Deliveries, retries and test events are in [`deliveries`].

pub mod deliveries;
mod validate;

pub use validate::{ALL_EVENTS, MAX_DESCRIPTION, MAX_URL};

use super::pagination::{self, Keyset, Kind, Page, PageArgs, Sort, SortValue};
use super::Services;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, FieldError};
use crate::ids;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use entity::webhook_deliveries::{self, DeliveryStatus};
use entity::webhook_endpoints::{self, Column, Entity, Model};
use rand::RngCore;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::json;
use validate::Check;

/// A new endpoint.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event type names, or `["*"]`.
    pub events: Vec<String>,
    /// A note for people.
    pub description: Option<String>,
    /// Whether it receives deliveries (default true).
    pub enabled: Option<bool>,
}

/// A change to an endpoint: `None` leaves a field as it is; `description` is doubly
/// optional so that `null` clears it. `nulls` names fields the client set to `null`
/// that cannot be cleared (each a validation error).
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    /// New URL.
    pub url: Option<String>,
    /// New event list.
    pub events: Option<Vec<String>>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// Disable (`false`: its pending deliveries are held) or re-enable (`true`: its held
    /// deliveries are sent again).
    pub enabled: Option<bool>,
    /// Pointers of fields sent as `null` that cannot be null.
    pub nulls: Vec<String>,
}

/// An endpoint and its secret, as shown once when the secret is made.
#[derive(Debug, Clone)]
pub struct WithSecret {
    /// The endpoint.
    pub endpoint: Model,
    /// `whsec_` + base64 of 32 random bytes.
    pub secret: String,
}

/// Sortable endpoint fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

impl Keyset for Model {
    type Entity = Entity;
    type Field = EndpointField;
    fn column(field: EndpointField) -> Column {
        match field {
            EndpointField::CreatedAt => Column::CreatedAt,
            EndpointField::UpdatedAt => Column::UpdatedAt,
        }
    }
    fn id_column() -> Column {
        Column::Id
    }
    fn field_name(field: EndpointField) -> &'static str {
        match field {
            EndpointField::CreatedAt => "created_at",
            EndpointField::UpdatedAt => "updated_at",
        }
    }
    fn kind(_: EndpointField) -> Kind {
        Kind::Time
    }
    fn value(&self, field: EndpointField) -> SortValue {
        SortValue::Time(match field {
            EndpointField::CreatedAt => self.created_at,
            EndpointField::UpdatedAt => self.updated_at,
        })
    }
    fn id(&self) -> &str {
        &self.id
    }
}

/// A fresh signing secret: `whsec_` + standard base64 of 32 bytes from a CSPRNG
/// (`rand`'s thread generator: ChaCha seeded from the operating system).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The event types an endpoint subscribes to (`["*"]` for all).
pub fn events_of(endpoint: &Model) -> Vec<String> {
    serde_json::from_value(endpoint.events.clone()).unwrap_or_default()
}

/// The outbound guard that webhook URLs are checked with (the one the tools use).
fn outbound(s: &Services) -> &crate::outbound::Outbound {
    &s.agent_rules.outbound
}

/// Wakes the delivery workers of every instance after a commit that made deliveries due
/// (otherwise they would find them at their next poll, `webhooks.poll_interval`).
pub(crate) fn wake_deliveries(s: &Services) {
    let bus = s.bus.clone();
    s.after_commit(Box::new(move || bus.notify_deliveries()));
}

fn of_org(p: &Principal) -> sea_orm::Select<Entity> {
    Entity::find().filter(Column::OrgId.eq(&p.org_id))
}

/// One endpoint of the caller's organisation, whatever the caller's scopes.
pub(crate) async fn find(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    of_org(p)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("webhook endpoint {id} not found")))
}

/// Creates an endpoint (within `webhooks.max_endpoints` per organisation); the answer
/// holds its secret, shown this once.
pub async fn create(s: &Services, p: &Principal, new: NewEndpoint) -> AppResult<WithSecret> {
    p.require(Scope::WebhooksWrite)?;
    let mut check = Check::default();
    check.url(outbound(s), &new.url).await;
    check.events(&new.events);
    check.description(new.description.as_deref());
    check.finish()?;
    let now = crate::clock::now();
    let secret = new_secret();
    // Insert first, then count (a transaction that writes before it reads): concurrent
    // creates queue on SQLite's write lock, and on PostgreSQL on the organisation's row
    // lock, so the count sees every endpoint committed before and none can slip past.
    let txn = s.db.begin().await?;
    super::orgs::lock_for_update(&txn, &p.org_id).await?;
    let endpoint = webhook_endpoints::ActiveModel {
        id: Set(ids::new_id(ids::WEBHOOK_ENDPOINT)),
        org_id: Set(p.org_id.clone()),
        url: Set(new.url),
        description: Set(new.description),
        events: Set(json!(new.events)),
        enabled: Set(new.enabled.unwrap_or(true)),
        disabled_reason: Set(None),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let max = s.config.webhooks.max_endpoints;
    if of_org(p).count(&txn).await? > max as u64 {
        txn.rollback().await?;
        return Err(AppError::Validation {
            message: format!("an organisation may have at most {max} webhook endpoints"),
            errors: vec![FieldError::new(
                "/",
                format!("the organisation already has {max} webhook endpoints; delete one first"),
            )],
        });
    }
    txn.commit().await?;
    Ok(WithSecret { endpoint, secret })
}

/// One endpoint of the caller's organisation (never its secret).
pub async fn get(s: &Services, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(Scope::WebhooksRead)?;
    find(&s.db, p, id).await
}

/// A page of the caller's endpoints, newest first unless `sort` says otherwise.
pub async fn list(
    s: &Services,
    p: &Principal,
    sort: &[Sort<EndpointField>],
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::WebhooksRead)?;
    let default = [Sort {
        field: EndpointField::CreatedAt,
        desc: true,
    }];
    let sort = if sort.is_empty() { &default[..] } else { sort };
    pagination::paginate(&s.db, of_org(p), sort, args).await
}

/// Applies a patch. Disabling holds the endpoint's pending deliveries; re-enabling
/// clears why it was disabled and makes its held deliveries due now, in the same
/// transaction as the change.
pub async fn update(
    s: &Services,
    p: &Principal,
    id: &str,
    patch: EndpointPatch,
) -> AppResult<Model> {
    p.require(Scope::WebhooksWrite)?;
    let mut check = Check::default();
    for pointer in &patch.nulls {
        check.not_null(pointer);
    }
    if let Some(url) = &patch.url {
        check.url(outbound(s), url).await;
    }
    if let Some(events) = &patch.events {
        check.events(events);
    }
    if let Some(Some(d)) = &patch.description {
        check.description(Some(d));
    }
    check.finish()?;
    let now = crate::clock::now();
    let mut set = webhook_endpoints::ActiveModel {
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(url) = patch.url {
        set.url = Set(url);
    }
    if let Some(events) = patch.events {
        set.events = Set(json!(events));
    }
    if let Some(d) = patch.description {
        set.description = Set(d);
    }
    let txn = s.db.begin().await?;
    let changed = Entity::update_many()
        .set(set)
        .filter(Column::Id.eq(id))
        .filter(Column::OrgId.eq(&p.org_id))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!(
            "webhook endpoint {id} not found"
        )));
    }
    let mut replayed = false;
    if let Some(enabled) = patch.enabled {
        // Only a real switch touches the deliveries; the conditional update decides
        // which of two concurrent switches does.
        let switched = Entity::update_many()
            .col_expr(Column::Enabled, Expr::value(enabled))
            .col_expr(Column::DisabledReason, Expr::value(Option::<String>::None))
            .col_expr(
                Column::FailingSince,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .filter(Column::Id.eq(id))
            .filter(Column::Enabled.eq(!enabled))
            .exec(&txn)
            .await?;
        if switched.rows_affected == 1 {
            let (from, to, due) = if enabled {
                (DeliveryStatus::Held, DeliveryStatus::Pending, Some(now))
            } else {
                (DeliveryStatus::Pending, DeliveryStatus::Held, None)
            };
            let moved = webhook_deliveries::Entity::update_many()
                .col_expr(webhook_deliveries::Column::Status, Expr::value(to))
                .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(due))
                .filter(webhook_deliveries::Column::EndpointId.eq(id))
                .filter(webhook_deliveries::Column::Status.eq(from))
                .exec(&txn)
                .await?;
            replayed = enabled && moved.rows_affected > 0;
        }
    }
    let endpoint = find(&txn, p, id).await?;
    txn.commit().await?;
    if replayed {
        wake_deliveries(s);
    }
    Ok(endpoint)
}

/// Deletes an endpoint with its deliveries and their attempts; returns its id.
pub async fn delete(s: &Services, p: &Principal, id: &str) -> AppResult<String> {
    p.require(Scope::WebhooksWrite)?;
    let txn = s.db.begin().await?;
    // Children first, so nothing depends on the foreign keys' cascade.
    let delivery_ids = Query::select()
        .column(webhook_deliveries::Column::Id)
        .from(webhook_deliveries::Entity)
        .and_where(webhook_deliveries::Column::EndpointId.eq(id))
        .and_where(webhook_deliveries::Column::OrgId.eq(&p.org_id))
        .to_owned();
    entity::webhook_attempts::Entity::delete_many()
        .filter(entity::webhook_attempts::Column::DeliveryId.in_subquery(delivery_ids))
        .exec(&txn)
        .await?;
    webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::EndpointId.eq(id))
        .filter(webhook_deliveries::Column::OrgId.eq(&p.org_id))
        .exec(&txn)
        .await?;
    let gone = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::OrgId.eq(&p.org_id))
        .exec(&txn)
        .await?;
    if gone.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!(
            "webhook endpoint {id} not found"
        )));
    }
    txn.commit().await?;
    Ok(id.to_owned())
}

/// Gives an endpoint a new secret and returns it (shown this once). The old one keeps
/// signing beside it for `webhooks.rotation_grace`, so receivers can switch without
/// losing a delivery; a second rotation within that time ends the first one's grace.
pub async fn rotate_secret(s: &Services, p: &Principal, id: &str) -> AppResult<WithSecret> {
    p.require(Scope::WebhooksWrite)?;
    let now = crate::clock::now();
    let grace =
        chrono::Duration::from_std(s.config.webhooks.rotation_grace).map_err(AppError::internal)?;
    let secret = new_secret();
    let txn = s.db.begin().await?;
    // One statement: the old secret moves over as the new one lands (the right-hand
    // sides read the row as it was), so two rotations cannot lose a secret in between.
    let rotated = Entity::update_many()
        .col_expr(Column::PreviousSecret, Expr::col(Column::Secret))
        .col_expr(Column::Secret, Expr::value(secret.clone()))
        .col_expr(
            Column::PreviousSecretExpiresAt,
            Expr::value(Some(now + grace)),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::OrgId.eq(&p.org_id))
        .exec(&txn)
        .await?;
    if rotated.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!(
            "webhook endpoint {id} not found"
        )));
    }
    let endpoint = find(&txn, p, id).await?;
    txn.commit().await?;
    Ok(WithSecret { endpoint, secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let s = new_secret();
        let raw = STANDARD
            .decode(s.strip_prefix("whsec_").expect("prefix"))
            .expect("standard base64");
        assert_eq!(raw.len(), 32);
        assert_ne!(new_secret(), s);
    }
}
