//! The instances table: one row per running instance, the liveness every lease shares.
//!
//! An instance upserts its row before it claims anything and then once per heartbeat
//! (one statement, however many leases it holds). Its leases are alive while
//! `last_seen` is within the lease TTL; a reaper elsewhere takes a missing or stale row
//! for the instance's death (see [`super::lease`]). On a clean stop the instance deletes
//! its row, so whatever it still holds is taken over at the next reap instead of a TTL
//! later.

use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Creates the row or renews `last_seen` (`started_at` stays). Binds: id, now.
const PG_BEAT: &str = "INSERT INTO instances (id, started_at, last_seen) VALUES ($1, $2, $2) \
     ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen";
const SQLITE_BEAT: &str = "INSERT INTO instances (id, started_at, last_seen) VALUES (?1, ?2, ?2) \
     ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen";
/// Deletes one instance's row. Binds: id.
const PG_LEAVE: &str = "DELETE FROM instances WHERE id = $1";
const SQLITE_LEAVE: &str = "DELETE FROM instances WHERE id = ?1";
/// Deletes the rows of instances dead since before the cutoff. Binds: cutoff.
const PG_FORGET: &str = "DELETE FROM instances WHERE last_seen < $1";
const SQLITE_FORGET: &str = "DELETE FROM instances WHERE last_seen < ?1";

fn pick(backend: DbBackend, postgres: &'static str, sqlite: &'static str) -> &'static str {
    if backend == DbBackend::Postgres {
        postgres
    } else {
        sqlite
    }
}

async fn exec(
    db: &impl ConnectionTrait,
    sql: (&'static str, &'static str),
    values: impl IntoIterator<Item = Value>,
) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, pick(backend, sql.0, sql.1), values);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// Keeps instance `id` alive: creates its row or renews its `last_seen` to `now`.
pub async fn beat(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>) -> AppResult<()> {
    exec(db, (PG_BEAT, SQLITE_BEAT), [id.into(), now.into()]).await?;
    Ok(())
}

/// Deletes instance `id`'s row: the leases it still holds are orphans from now on.
pub async fn leave(db: &impl ConnectionTrait, id: &str) -> AppResult<()> {
    exec(db, (PG_LEAVE, SQLITE_LEAVE), [id.into()]).await?;
    Ok(())
}

/// Deletes the rows of instances last seen before `cutoff` (dead: for every lease a
/// missing row and a stale one mean the same), so restarts do not pile rows up.
pub async fn forget_dead(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<u64> {
    exec(db, (PG_FORGET, SQLITE_FORGET), [cutoff.into()]).await
}

/// The moment before which an instance not seen since counts as dead.
pub fn dead_before(ttl: Duration) -> DateTime<Utc> {
    crate::clock::now() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

/// This instance's side: its id, its heartbeat, and whether its row is fresh enough to
/// claim under.
pub struct Instance {
    db: DatabaseConnection,
    id: String,
    ttl: Duration,
    /// When the last successful heartbeat was sent (taken before sending it).
    last_beat: Mutex<Option<Instant>>,
}

impl Instance {
    /// Instance `id` on `db`, whose leases others take for dead `ttl` after its last
    /// heartbeat.
    pub fn new(db: DatabaseConnection, id: String, ttl: Duration) -> Self {
        Self {
            db,
            id,
            ttl,
            last_beat: Mutex::new(None),
        }
    }

    /// The instance id (the owner named by its leases).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How often to beat: three heartbeats per TTL, so one lost beat costs nothing.
    pub fn beat_interval(&self) -> Duration {
        (self.ttl / 3).max(Duration::from_secs(1))
    }

    /// Renews this instance's row (creates it if missing).
    pub async fn beat(&self) -> AppResult<()> {
        let sent = Instant::now();
        beat(&self.db, &self.id, crate::clock::now()).await?;
        *self.last_beat.lock().unwrap_or_else(|e| e.into_inner()) = Some(sent);
        Ok(())
    }

    /// Beats first unless a heartbeat went through within half the TTL: a lease claimed
    /// under a stale row (after a pause, or before the first heartbeat) could be taken
    /// for an orphan as soon as it is claimed.
    pub async fn ensure_fresh(&self) -> AppResult<()> {
        let last = *self.last_beat.lock().unwrap_or_else(|e| e.into_inner());
        match last {
            Some(at) if at.elapsed() < self.ttl / 2 => Ok(()),
            _ => self.beat().await,
        }
    }

    /// Deletes this instance's row (on a clean stop).
    pub async fn leave(&self) -> AppResult<()> {
        *self.last_beat.lock().unwrap_or_else(|e| e.into_inner()) = None;
        leave(&self.db, &self.id).await
    }
}
