//! The one registry of long-lived streams: REST SSE responses, GraphQL over SSE and the
//! operations (and connections) of GraphQL over WebSocket. It counts open streams per API
//! key and per organisation against the configured caps, and tells each stream when it
//! must end: its key was revoked (on this instance, or on another one through the bus) or
//! the server is shutting down. Without it, one key could hold any number of streams, a
//! revoked key would keep its open sockets, and an open stream would hold the process
//! past its shutdown signal.

use crate::auth::{Authenticator, Principal};
use crate::config::StreamsConfig;
use crate::error::{AppError, AppResult};
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a stream must end before its source does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The key it was opened with was revoked.
    Revoked,
    /// The server is shutting down.
    ShuttingDown,
}

impl End {
    /// The error a client is told (its `code` says which).
    pub fn error(self) -> AppError {
        match self {
            End::Revoked => AppError::Unauthenticated("the API key was revoked".into()),
            End::ShuttingDown => AppError::Unavailable(
                "the server is shutting down; reconnect to resume (with Last-Event-ID where the stream has ids)"
                    .into(),
            ),
        }
    }
}

/// The streams of this instance; cheap to clone.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

struct Inner {
    max_per_key: usize,
    max_per_org: usize,
    auth: Authenticator,
    shutdown: CancellationToken,
    registry: Mutex<Registry>,
    /// Woken when the last handle goes.
    idle: Notify,
}

#[derive(Default)]
struct Registry {
    keys: HashMap<String, KeyEntry>,
    orgs: HashMap<String, usize>,
    /// Handles alive (streams and watched connections).
    live: usize,
    generation: u64,
}

/// A key's handles: the token its revocation cancels, how many handles use it, how many
/// of those are counted streams.
struct KeyEntry {
    token: CancellationToken,
    generation: u64,
    handles: usize,
    streams: usize,
}

/// One registered stream (or watched connection); dropping it releases its place.
pub struct StreamGuard {
    inner: Arc<Inner>,
    key: Option<KeyRef>,
    /// The organisation whose count this stream is in (a counted stream).
    org: Option<String>,
}

struct KeyRef {
    id: String,
    token: CancellationToken,
    generation: u64,
}

impl Streams {
    /// A registry with the configured caps; `auth` says which keys are revoked.
    pub fn new(config: &StreamsConfig, auth: Authenticator) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_per_key: config.max_per_key,
                max_per_org: config.max_per_org,
                auth,
                shutdown: CancellationToken::new(),
                registry: Mutex::default(),
                idle: Notify::new(),
            }),
        }
    }

    /// Opens a stream for `p`: `too_many_streams` beyond the key's or the organisation's
    /// cap, `unauthenticated` for a revoked key, `unavailable` while shutting down.
    pub fn acquire(&self, p: &Principal) -> AppResult<StreamGuard> {
        self.register(p, true)
    }

    /// Opens a stream for the caller of an HTTP request (the principal the auth layer put
    /// in its extensions).
    pub fn acquire_caller(&self, ext: &::http::Extensions) -> AppResult<StreamGuard> {
        let p = ext.get::<Arc<Principal>>().ok_or_else(|| {
            AppError::Unauthenticated(crate::auth::authenticator::MISSING_CREDENTIALS.into())
        })?;
        self.acquire(p)
    }

    /// Watches a connection of `p` (a WebSocket) without counting it as a stream: it
    /// learns of its key's revocation and of shutdown.
    pub fn watch(&self, p: &Principal) -> AppResult<StreamGuard> {
        self.register(p, false)
    }

    /// Watches a connection that has no key yet: it learns of shutdown only.
    pub fn watch_anonymous(&self) -> StreamGuard {
        self.inner.lock().live += 1;
        StreamGuard {
            inner: self.inner.clone(),
            key: None,
            org: None,
        }
    }

    fn register(&self, p: &Principal, counted: bool) -> AppResult<StreamGuard> {
        if self.inner.shutdown.is_cancelled() {
            return Err(End::ShuttingDown.error());
        }
        let mut reg = self.inner.lock();
        // Under the lock that `revoke` takes after marking the key: either the mark is
        // seen here, or this handle is registered before `revoke` cancels the key's token.
        if self.inner.auth.is_revoked(&p.key_id) {
            return Err(End::Revoked.error());
        }
        if counted {
            let key_streams = reg.keys.get(&p.key_id).map_or(0, |e| e.streams);
            if key_streams >= self.inner.max_per_key {
                return Err(AppError::TooManyStreams(format!(
                    "this API key already holds {} open streams (the limit); close one first",
                    self.inner.max_per_key
                )));
            }
            let org_streams = reg.orgs.get(&p.org_id).copied().unwrap_or(0);
            if org_streams >= self.inner.max_per_org {
                return Err(AppError::TooManyStreams(format!(
                    "this organisation already holds {} open streams (the limit); close one first",
                    self.inner.max_per_org
                )));
            }
            *reg.orgs.entry(p.org_id.clone()).or_default() += 1;
        }
        reg.generation += 1;
        let generation = reg.generation;
        let entry = reg
            .keys
            .entry(p.key_id.clone())
            .or_insert_with(|| KeyEntry {
                token: CancellationToken::new(),
                generation,
                handles: 0,
                streams: 0,
            });
        entry.handles += 1;
        entry.streams += usize::from(counted);
        let key = KeyRef {
            id: p.key_id.clone(),
            token: entry.token.clone(),
            generation: entry.generation,
        };
        reg.live += 1;
        Ok(StreamGuard {
            inner: self.inner.clone(),
            key: Some(key),
            org: counted.then(|| p.org_id.clone()),
        })
    }

    /// Ends every stream of a key (call after the authenticator has marked it revoked).
    pub fn revoke(&self, key_id: &str) {
        if let Some(entry) = self.inner.lock().keys.remove(key_id) {
            entry.token.cancel();
        }
    }

    /// Ends every stream: the server is shutting down. New ones are refused.
    pub fn shut_down(&self) {
        self.inner.shutdown.cancel();
    }

    /// Resolves once [`Streams::shut_down`] was called.
    pub async fn shutting_down(&self) {
        self.inner.shutdown.cancelled().await
    }

    /// Resolves once no stream or watched connection is left.
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.lock().live == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StreamGuard {
    /// Resolves when the stream must end, saying why; owns what it needs, so it can be
    /// held next to a mutable borrow of the stream's owner.
    pub fn ended(&self) -> impl Future<Output = End> + Send + 'static {
        let key = self.key.as_ref().map(|k| k.token.clone());
        let shutdown = self.inner.shutdown.clone();
        async move {
            match key {
                Some(key) => tokio::select! {
                    biased;
                    _ = key.cancelled() => End::Revoked,
                    _ = shutdown.cancelled() => End::ShuttingDown,
                },
                None => {
                    shutdown.cancelled().await;
                    End::ShuttingDown
                }
            }
        }
    }

    /// The items of `source` until it ends, or until this stream must end: then one
    /// `Err` saying why, and nothing more. The guard lives as long as the result.
    pub fn bound<T: Send + 'static>(
        self,
        source: impl Stream<Item = T> + Send + 'static,
    ) -> impl Stream<Item = Result<T, End>> + Send + 'static {
        let ended = self.ended();
        async_stream::stream! {
            let _guard = self;
            tokio::pin!(ended);
            let mut source = std::pin::pin!(source);
            loop {
                tokio::select! {
                    biased;
                    end = &mut ended => {
                        yield Err(end);
                        break;
                    }
                    item = source.next() => match item {
                        Some(item) => yield Ok(item),
                        None => break,
                    },
                }
            }
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut reg = self.inner.lock();
        if let Some(org) = &self.org {
            if let Some(n) = reg.orgs.get_mut(org) {
                *n -= 1;
                if *n == 0 {
                    reg.orgs.remove(org);
                }
            }
        }
        if let Some(key) = &self.key {
            // A revoked key's entry is gone (and a later one is another generation).
            if let Some(entry) = reg
                .keys
                .get_mut(&key.id)
                .filter(|e| e.generation == key.generation)
            {
                entry.handles -= 1;
                entry.streams -= usize::from(self.org.is_some());
                if entry.handles == 0 {
                    reg.keys.remove(&key.id);
                }
            }
        }
        reg.live -= 1;
        if reg.live == 0 {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tier;

    fn principal(key: &str, org: &str) -> Principal {
        Principal {
            org_id: org.into(),
            key_id: key.into(),
            scopes: vec!["*".into()],
            test_mode: false,
            tier: Tier::Enterprise,
            rate_override: Default::default(),
        }
    }

    async fn streams(per_key: usize, per_org: usize) -> Streams {
        let db = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("db");
        let auth = Authenticator::new(db, std::time::Duration::from_secs(10));
        Streams::new(
            &StreamsConfig {
                max_per_key: per_key,
                max_per_org: per_org,
            },
            auth,
        )
    }

    #[tokio::test]
    async fn places_are_given_back_when_guards_drop() {
        let s = streams(2, 3).await;
        let (a, b) = (principal("key_a", "org_1"), principal("key_b", "org_1"));
        let a1 = s.acquire(&a).expect("first");
        let _a2 = s.acquire(&a).expect("second");
        let err = s.acquire(&a).err().expect("third is over the key cap");
        assert_eq!(err.code().as_str(), "too_many_streams");
        // Watching a connection is not a stream.
        let _conn = s.watch(&a).expect("watch");
        let _b1 = s.acquire(&b).expect("org has room for one more");
        assert!(s.acquire(&b).is_err(), "the org cap");
        drop(a1);
        let _b2 = s.acquire(&b).expect("a place was given back");
    }

    #[tokio::test]
    async fn revocation_ends_a_keys_streams_and_drain_waits_for_the_last() {
        let s = streams(10, 10).await;
        let a = principal("key_a", "org_1");
        let guard = s.acquire(&a).expect("acquire");
        let ended = guard.ended();
        s.revoke("key_a");
        assert_eq!(ended.await, End::Revoked);
        let other = s.watch_anonymous();
        s.shut_down();
        assert_eq!(other.ended().await, End::ShuttingDown);
        let drained = s.drained();
        tokio::pin!(drained);
        assert!(futures::poll!(drained.as_mut()).is_pending());
        drop(guard);
        drop(other);
        drained.await;
        assert_eq!(
            s.acquire(&a).err().map(|e| e.code().as_str()),
            Some("unavailable"),
            "no new streams while shutting down"
        );
    }
}
