//! Turns a bearer token into a [`Principal`]. Verified keys are cached for a short
//! time so a hot path costs no extra query; revocation (on this instance, or on another
//! one through the bus) evicts at once and is remembered for longer than an entry can
//! live, so a verification that raced the revocation cannot put the key back.

use super::{keys, store, Principal};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use moka::sync::Cache;
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The message of a request that carried no credentials at all (RFC 6750 §3.1: such a
/// challenge names no error).
pub const MISSING_CREDENTIALS: &str = "missing Authorization header (use `Bearer <api key>`)";

/// How often `last_used_at` is written for a busy key, in seconds.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

#[derive(Clone)]
struct Entry {
    principal: Arc<Principal>,
    last_touch: Arc<AtomicI64>,
}

/// The API key verifier shared by every request.
#[derive(Clone)]
pub struct Authenticator {
    db: DatabaseConnection,
    cache: Cache<String, Entry>,
    /// Keys revoked lately, by id.
    revoked: Cache<String, ()>,
}

impl Authenticator {
    /// A verifier over `db` trusting a verified key for `ttl`.
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Self {
        Self {
            db,
            cache: Cache::builder()
                .max_capacity(100_000)
                .support_invalidation_closures()
                .time_to_live(ttl)
                .build(),
            // A cache entry read from the database just before the revocation committed
            // lives at most `ttl` after it; past that the database answers.
            revoked: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl + Duration::from_secs(60))
                .build(),
        }
    }

    /// Verifies an `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> AppResult<Arc<Principal>> {
        let header = header.ok_or_else(|| AppError::Unauthenticated(MISSING_CREDENTIALS.into()))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                AppError::Unauthenticated("the Authorization scheme must be Bearer".into())
            })?;
        if !keys::looks_like_key(token) {
            return Err(AppError::Unauthenticated("invalid API key".into()));
        }
        let hash = keys::hash(token);
        let entry = match self.cache.get(&hash) {
            Some(entry) => entry,
            None => {
                let principal = store::principal_for_hash(&self.db, &hash)
                    .await?
                    .ok_or_else(|| {
                        AppError::Unauthenticated("invalid or revoked API key".into())
                    })?;
                let entry = Entry {
                    principal: Arc::new(principal),
                    last_touch: Arc::new(AtomicI64::new(0)),
                };
                self.cache.insert(hash.clone(), entry.clone());
                entry
            }
        };
        if self.is_revoked(&entry.principal.key_id) {
            self.cache.invalidate(&hash);
            return Err(AppError::Unauthenticated(
                "invalid or revoked API key".into(),
            ));
        }
        self.touch(&entry);
        Ok(entry.principal)
    }

    /// Whether a key was revoked lately (as far as this instance has heard).
    pub fn is_revoked(&self, key_id: &str) -> bool {
        self.revoked.contains_key(key_id)
    }

    /// Refuses a key from now on (after revocation): forgets its cached verification and
    /// remembers the revocation.
    pub fn revoke(&self, key_id: &str) {
        self.revoked.insert(key_id.to_owned(), ());
        let key_id = key_id.to_owned();
        if let Err(err) = self
            .cache
            .invalidate_entries_if(move |_, e| e.principal.key_id == key_id)
        {
            // Only if the cache lacked closure support; the TTL still bounds the key's life.
            tracing::error!(error = %err, "could not evict a revoked key from the auth cache");
        }
    }

    /// Records use of a key, at most once a minute, off the request path.
    fn touch(&self, entry: &Entry) {
        let now = Utc::now().timestamp();
        let last = entry.last_touch.load(Ordering::Relaxed);
        if now - last < LAST_USED_GRANULARITY_SECS
            || entry
                .last_touch
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let db = self.db.clone();
        let key_id = entry.principal.key_id.clone();
        tokio::spawn(async move {
            if let Err(err) = store::touch(&db, &key_id).await {
                tracing::warn!(error = %err, key_id, "could not record API key use");
            }
        });
    }
}
