//! Webhook endpoints: where an organisation wants its events delivered.
use sea_orm::entity::prelude::*;

/// One endpoint and its signing secret(s).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The event types it subscribes to (a JSON array of strings; `["*"]` for all).
    pub events: Json,
    pub enabled: bool,
    /// Why the server disabled it (`gone`, `failing`), if it did.
    pub disabled_reason: Option<String>,
    /// `whsec_` + base64 of 32 random bytes: needed to sign, so kept as is.
    #[serde(skip_serializing)]
    pub secret: String,
    /// The secret before the last rotation, still signing until it expires.
    #[serde(skip_serializing)]
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// Since when every attempt to it has failed (none while it succeeds).
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
