//! Idempotency keys: the rules. A request sent with `Idempotency-Key` first *claims*
//! its key (one row per organisation and key; the unique index makes one claim win
//! across instances), then runs on a unit of work whose transaction also stores its
//! answer, so a request whose transaction failed leaves no answer (its retry runs) and
//! one that committed always replays. The HTTP side is `http::idempotency`.

use crate::config::IdempotencyConfig;
use crate::error::{AppError, AppResult};
use crate::ids;
use entity::idempotency_keys::{ActiveModel, Column, Entity, KeyState, Model};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Longest key, in characters.
pub const MAX_KEY: usize = 255;

/// Checks a key: 1 to 255 printable ASCII characters.
pub fn check_key(key: &[u8]) -> AppResult<String> {
    let printable = key.iter().all(|b| (0x20..=0x7e).contains(b));
    if key.is_empty() || key.len() > MAX_KEY || !printable {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters"
        )));
    }
    Ok(String::from_utf8_lossy(key).into_owned())
}

/// The fingerprint of a request: its method, its route (or GraphQL operation) and the
/// SHA-256 of its canonical body (JSON with sorted keys and no insignificant spaces,
/// so the same JSON sent with other spacing or key order is the same request).
pub fn fingerprint(method: &str, route: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(route.as_bytes());
    hash.update(b"\n");
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => hash.update(canonical(json).to_string().as_bytes()),
        Err(_) => hash.update(body),
    }
    hex::encode(hash.finalize())
}

fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// A held key: only its owner may record the answer.
#[derive(Debug, Clone)]
pub struct Lock {
    /// The row.
    pub id: String,
    /// This request's token.
    pub owner: String,
    /// The id the request's run gets.
    pub run_id: Option<String>,
}

/// An answer stored under a key.
#[derive(Debug, Clone)]
pub struct Stored {
    /// HTTP status.
    pub status: u16,
    /// Headers that replay (name, value).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// The key is this request's: do the work.
    Held(Lock),
    /// The same request finished before: its answer.
    Replay(Stored),
    /// The key's first request is still in flight.
    InUse,
    /// The key was used for a different request.
    Reused,
}

/// Claims `key` for a request with fingerprint `fp`.
pub async fn claim(
    db: &impl ConnectionTrait,
    cfg: &IdempotencyConfig,
    org_id: &str,
    key: &str,
    fp: &str,
) -> AppResult<Claim> {
    // A few rounds at most: each lost race means another request changed the row.
    for _ in 0..4 {
        let now = crate::clock::now();
        let lock = Lock {
            id: ids::new_id("idk"),
            owner: ids::new_id("req"),
            run_id: Some(ids::new_id(ids::RUN)),
        };
        let row = ActiveModel {
            id: Set(lock.id.clone()),
            org_id: Set(org_id.to_owned()),
            key: Set(key.to_owned()),
            fingerprint: Set(fp.to_owned()),
            state: Set(KeyState::InFlight),
            owner: Set(lock.owner.clone()),
            locked_until: Set(now + chrono_of(cfg.lock_ttl)),
            run_id: Set(lock.run_id.clone()),
            status: Set(None),
            headers: Set(None),
            body: Set(None),
            created_at: Set(now),
            expires_at: Set(now + chrono_of(cfg.ttl)),
        };
        let inserted = Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::OrgId, Column::Key])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 1 {
            return Ok(Claim::Held(lock));
        }
        let Some(found) = Entity::find()
            .filter(Column::OrgId.eq(org_id))
            .filter(Column::Key.eq(key))
            .one(db)
            .await?
        else {
            continue;
        };
        if found.expires_at <= now {
            // Kept past its time (the sweep has not pruned it yet): gone.
            Entity::delete_many()
                .filter(Column::Id.eq(&found.id))
                .filter(Column::ExpiresAt.lte(now))
                .exec(db)
                .await?;
            continue;
        }
        if found.fingerprint != fp {
            return Ok(Claim::Reused);
        }
        if found.state == KeyState::Done {
            return Ok(Claim::Replay(stored(found)));
        }
        if found.locked_until > now {
            return Ok(Claim::InUse);
        }
        // Its request's instance died. In flight: nothing of it committed, so the work is
        // done again. Committed (a synchronous run whose answer was lost): done again
        // with the same run id, which finds that run instead of making another.
        let owner = ids::new_id("req");
        let taken = Entity::update_many()
            .col_expr(Column::Owner, Expr::value(owner.clone()))
            .col_expr(
                Column::LockedUntil,
                Expr::value(now + chrono_of(cfg.lock_ttl)),
            )
            .filter(Column::Id.eq(&found.id))
            .filter(Column::Owner.eq(&found.owner))
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Claim::Held(Lock {
                id: found.id,
                owner,
                run_id: found.run_id,
            }));
        }
    }
    Ok(Claim::InUse)
}

fn stored(m: Model) -> Stored {
    let headers = m
        .headers
        .and_then(|h| serde_json::from_value::<Vec<(String, String)>>(h).ok())
        .unwrap_or_default();
    Stored {
        status: m.status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
        headers,
        body: m.body.unwrap_or_default(),
    }
}

/// Marks the key's effects committed, in the transaction that commits them (a
/// synchronous run commits before its answer exists). Fails if this request no longer
/// holds the key, which rolls its work back.
pub async fn mark_committed(db: &impl ConnectionTrait, lock: &Lock) -> AppResult<()> {
    let updated = Entity::update_many()
        .col_expr(Column::State, Expr::value(KeyState::Committed))
        .filter(Column::Id.eq(&lock.id))
        .filter(Column::Owner.eq(&lock.owner))
        .filter(Column::State.eq(KeyState::InFlight))
        .exec(db)
        .await?;
    held(updated.rows_affected)
}

/// Stores the answer. Inside the request's transaction when it has not committed yet,
/// so the answer and the effects commit together. Fails if this request no longer
/// holds the key.
pub async fn record(db: &impl ConnectionTrait, lock: &Lock, answer: &Stored) -> AppResult<()> {
    let headers = serde_json::to_value(&answer.headers).map_err(AppError::internal)?;
    let updated = Entity::update_many()
        .col_expr(Column::State, Expr::value(KeyState::Done))
        .col_expr(Column::Status, Expr::value(Some(i32::from(answer.status))))
        .col_expr(Column::Headers, Expr::value(Some(headers)))
        .col_expr(Column::Body, Expr::value(Some(answer.body.clone())))
        .filter(Column::Id.eq(&lock.id))
        .filter(Column::Owner.eq(&lock.owner))
        .filter(Column::State.ne(KeyState::Done))
        .exec(db)
        .await?;
    held(updated.rows_affected)
}

fn held(rows: u64) -> AppResult<()> {
    match rows {
        1 => Ok(()),
        _ => Err(AppError::IdempotencyKeyInUse(
            "another request took this Idempotency-Key over; retry to get its answer".into(),
        )),
    }
}

/// Lets the key go after a request that changed nothing (an error): its retry runs.
pub async fn release(db: &impl ConnectionTrait, lock: &Lock) -> AppResult<()> {
    Entity::delete_many()
        .filter(Column::Id.eq(&lock.id))
        .filter(Column::Owner.eq(&lock.owner))
        .filter(Column::State.eq(KeyState::InFlight))
        .exec(db)
        .await?;
    Ok(())
}

fn chrono_of(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
