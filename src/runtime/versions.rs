//! The agent version a run executes, read through a cache. Versions never change, so the
//! cache never goes stale; recording and listing versions is the service layer's
//! (`service::agents::versions`).

use crate::error::{AppError, AppResult};
use entity::agent_versions::{Column, Entity};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use std::sync::Arc;

/// Agent version snapshots by (agent, version). Versions never change, so entries never
/// go stale; the bound only caps memory.
pub type VersionCache = moka::sync::Cache<(String, i32), Arc<Value>>;

/// Bytes of snapshots the cache holds at most (as serialized JSON, roughly what they
/// occupy). A count alone would let tenants with large instructions or tool lists
/// grow it without limit.
pub const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A cache for [`snapshot`], bounded by the snapshots' size.
pub fn cache() -> VersionCache {
    cache_with_capacity(CACHE_BYTES)
}

/// A cache for [`snapshot`] holding at most `bytes` of snapshots.
pub fn cache_with_capacity(bytes: u64) -> VersionCache {
    moka::sync::Cache::builder()
        .weigher(|key: &(String, i32), snap: &Arc<Value>| weight(&key.0, snap))
        .max_capacity(bytes)
        .build()
}

/// What an entry weighs: its serialized size plus the key and bookkeeping.
fn weight(agent_id: &str, snap: &Value) -> u32 {
    let json = serde_json::to_vec(snap).map(|v| v.len()).unwrap_or(0);
    u32::try_from(json + agent_id.len() + 64).unwrap_or(u32::MAX)
}

/// The configuration of one version of an agent (for executing a run of it).
pub async fn snapshot(
    db: &impl ConnectionTrait,
    cache: &VersionCache,
    agent_id: &str,
    version: i32,
) -> AppResult<Arc<Value>> {
    let key = (agent_id.to_owned(), version);
    if let Some(snap) = cache.get(&key) {
        return Ok(snap);
    }
    let row = Entity::find()
        .filter(Column::AgentId.eq(agent_id))
        .filter(Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "version {version} of agent {agent_id} is missing"
            ))
        })?;
    let snap = Arc::new(row.snapshot);
    cache.insert(key, snap.clone());
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_cache_is_bounded_by_bytes_not_entries() {
        let cache = cache_with_capacity(1024 * 1024);
        // 100 snapshots of 100 KiB: ten times the capacity.
        let big = Arc::new(Value::String("x".repeat(100 * 1024)));
        for v in 0..100 {
            cache.insert(("agt_1".into(), v), big.clone());
        }
        cache.run_pending_tasks();
        assert!(
            cache.weighted_size() <= 1024 * 1024,
            "weighted size {} over the bound",
            cache.weighted_size()
        );
        assert!(
            cache.entry_count() <= 10,
            "{} entries kept",
            cache.entry_count()
        );
    }
}
