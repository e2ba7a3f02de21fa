//! Idempotency keys: the in-flight lock of a request sent with `Idempotency-Key`, then
//! its stored answer, per organisation and key.
use sea_orm::entity::prelude::*;

/// One key of one organisation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// Method, route (or GraphQL operation) and the hash of the canonical body.
    pub fingerprint: String,
    pub state: KeyState,
    /// A token of the request that holds the lock: only it may record the answer.
    pub owner: String,
    /// While `in_flight`, the lock is the owner's until then; after, another request
    /// with the key may take it over (its owner died before anything committed).
    pub locked_until: DateTimeUtc,
    /// The id a run created under this key gets, so a retry finds the same run.
    pub run_id: Option<String>,
    /// The stored answer's HTTP status.
    pub status: Option<i32>,
    /// The stored answer's headers that replay (`content-type`, `location`).
    pub headers: Option<Json>,
    /// The stored answer's body.
    #[sea_orm(column_type = "Text", nullable)]
    pub body: Option<String>,
    pub created_at: DateTimeUtc,
    /// When the prune sweep deletes it.
    pub expires_at: DateTimeUtc,
}

/// Where a key's request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum KeyState {
    /// Claimed; nothing committed yet.
    #[sea_orm(string_value = "in_flight")]
    InFlight,
    /// Its effects committed; its answer is still being made (a synchronous run).
    #[sea_orm(string_value = "committed")]
    Committed,
    /// The answer is stored and replays.
    #[sea_orm(string_value = "done")]
    Done,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
