//! API keys: issued, listed and revoked per organisation; shown once, stored hashed.

use super::pagination::{self, Page, PageArgs, Sort};
pub use crate::auth::store::scopes_of;
use crate::auth::{keys, scopes, Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::ids;
use entity::api_keys::{self, Column, Entity, KeyMode, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

/// What a caller asks for when creating a key.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A label for people.
    pub name: String,
    /// Scopes to grant.
    pub scopes: Vec<String>,
    /// An `os_test_` key.
    pub test: bool,
}

/// A key as stored, and the secret that is shown this once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// The stored key.
    pub key: Model,
    /// The whole key; never stored, never shown again.
    pub secret: String,
}

pagination::keyset_by_created_at!(Model, Entity, Column);

/// Issues a key for an organisation with the given secret (or a fresh one). Operator
/// path: the CLI and the bootstrap key, which have no principal.
pub async fn issue(
    db: &impl ConnectionTrait,
    org_id: &str,
    new: NewKey,
    secret: Option<String>,
) -> AppResult<IssuedKey> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("/name", "must be 1 to 200 characters"));
    }
    let scopes = scopes::validate(&new.scopes, "/scopes")?;
    let secret = secret.unwrap_or_else(|| keys::generate(new.test));
    let key = api_keys::ActiveModel {
        id: Set(ids::new_id(ids::API_KEY)),
        org_id: Set(org_id.to_owned()),
        name: Set(name),
        prefix: Set(keys::display_prefix(&secret)),
        key_hash: Set(keys::hash(&secret)),
        scopes: Set(serde_json::json!(scopes)),
        mode: Set(if keys::is_test(&secret) {
            KeyMode::Test
        } else {
            KeyMode::Live
        }),
        created_at: Set(crate::clock::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(IssuedKey { key, secret })
}

/// Creates a key for the caller's organisation. A key can grant at most its own scopes,
/// and a test key only test keys: the key mode is part of what a key grants, so a
/// sandbox key cannot mint its way out of the sandbox.
pub async fn create(db: &impl ConnectionTrait, p: &Principal, new: NewKey) -> AppResult<IssuedKey> {
    p.require(Scope::KeysWrite)?;
    scopes::validate(&new.scopes, "/scopes")?;
    if !p.can_grant(&new.scopes) {
        return Err(AppError::Forbidden(
            "a key cannot grant scopes its creator does not hold".into(),
        ));
    }
    if p.test_mode && !new.test {
        return Err(AppError::Forbidden(
            "a test key can only create test keys (set `test: true`)".into(),
        ));
    }
    issue(db, &p.org_id, new, None).await
}

/// Whether `p` may act on `key` as its manager: it holds every scope the key has, and a
/// test key manages only test keys. Revoking is held to the same rule as granting, so a
/// narrow `keys:write` key cannot take down the organisation's admin key.
fn may_manage(p: &Principal, key: &Model) -> bool {
    p.can_grant(&scopes_of(key)) && (!p.test_mode || key.mode == KeyMode::Test)
}

/// One key of the caller's organisation.
pub async fn get(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(Scope::KeysWrite)?;
    Entity::find_by_id(id.to_owned())
        .filter(Column::OrgId.eq(&p.org_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("API key {id} not found")))
}

/// The caller's organisation's keys, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    p: &Principal,
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::KeysWrite)?;
    let select = Entity::find().filter(Column::OrgId.eq(&p.org_id));
    pagination::paginate(
        db,
        select,
        &[Sort {
            field: (),
            desc: true,
        }],
        args,
    )
    .await
}

/// Revokes a key: requests with it fail from now on, on every instance (its cached
/// verification is dropped and its open streams and sockets end). Revoking a revoked
/// key changes nothing in the database.
pub async fn revoke(s: &super::Services, p: &Principal, id: &str) -> AppResult<Model> {
    let key = mark_revoked(&s.db, p, id).await?;
    let (bus, key_id) = (s.bus.clone(), key.id.clone());
    s.after_commit(Box::new(move || bus.revoke_key(&key_id)));
    Ok(key)
}

async fn mark_revoked(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    let key = get(db, p, id).await?;
    if !may_manage(p, &key) {
        return Err(AppError::Forbidden(
            "a key can only revoke keys whose scopes (and mode) it holds itself".into(),
        ));
    }
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active: api_keys::ActiveModel = key.into();
    active.revoked_at = Set(Some(crate::clock::now()));
    Ok(active.update(db).await?)
}

/// Whether any key exists at all (first start of a fresh database).
pub async fn any_exist(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(Entity::find().count(db).await? > 0)
}
