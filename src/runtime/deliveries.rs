//! The webhook delivery loop of one instance: claims due deliveries (as many as it has
//! free slots, `webhooks.concurrency` in all, at most `per_endpoint_concurrency` per
//! endpoint across instances; see `jobs::deliveries`), sends them concurrently through
//! the outbound guard, and hands each result to a writer task that records many in one
//! transaction (`webhooks::results`). It wakes when a commit wrote deliveries
//! (`Bus::notify_deliveries`, from any instance), when results freed an endpoint's
//! slots, when the earliest retry it scheduled is due, and otherwise every
//! `poll_interval`. Its leases live on the instance's heartbeat, like the runs'.

use crate::config::WebhooksConfig;
use crate::error::AppResult;
use crate::events::bus::Bus;
use crate::events::journal::WriteTurn;
use crate::jobs::deliveries;
use crate::jobs::instances::Instance;
use crate::outbound::Outbound;
use crate::webhooks::attempt::{self, Request};
use crate::webhooks::results::{self, Done, State, Unsent};
use crate::webhooks::sign;
use chrono::{DateTime, Utc};
use entity::{webhook_deliveries, webhook_endpoints, webhook_events};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Deliveries claimed in one statement, at most.
const CLAIM_BATCH: usize = 256;
/// Results recorded in one transaction, at most.
const WRITE_BATCH: usize = 1024;

/// What the delivery loop needs.
#[derive(Clone)]
pub struct Deliverer {
    /// The database.
    pub db: DatabaseConnection,
    /// Wake-ups from commits (here and on other instances).
    pub bus: Arc<Bus>,
    /// The one guarded client for tenant URLs.
    pub outbound: Outbound,
    /// `[webhooks]`.
    pub config: WebhooksConfig,
    /// Turns at writing, shared with the journal (SQLite).
    pub turn: WriteTurn,
}

/// What the claim loop and the writer share.
struct Shared {
    /// Results were committed: an endpoint may have room again.
    freed: Notify,
    /// When retries this instance scheduled fall due (the loop wakes for each; past
    /// [`MAX_HINTS`] the poll finds the rest).
    retries: Mutex<BTreeSet<DateTime<Utc>>>,
    /// Attempts sent or being sent whose result has not reached the writer yet.
    in_flight: AtomicUsize,
}

/// How long the writer waits for results still in flight to join a batch: the attempts
/// of one claim end within about this of each other, and on SQLite every statement
/// costs a round trip to its connection's thread, so one transaction for them all is
/// cheaper than one each.
const GATHER: Duration = Duration::from_millis(2);

/// Retry times remembered for wake-ups, at most.
const MAX_HINTS: usize = 10_000;

/// An endpoint as this batch sends to it.
struct Target {
    url: String,
    secrets: Vec<String>,
    enabled: bool,
}

/// Runs the delivery loop as lease owner `owner` (this instance, whose heartbeat the
/// run worker keeps; `ttl` is the lease TTL) until `stop`; then waits for the attempts
/// in flight and records them.
pub async fn run(d: Deliverer, owner: String, ttl: Duration, stop: CancellationToken) {
    let instance = Instance::new(d.db.clone(), owner.clone(), ttl);
    let shared = Arc::new(Shared {
        freed: Notify::new(),
        retries: Mutex::default(),
        in_flight: AtomicUsize::new(0),
    });
    let (tx, rx) = mpsc::channel::<Done>(WRITE_BATCH * 4);
    let writer = tokio::spawn(write_results(d.clone(), owner.clone(), rx, shared.clone()));
    let slots = Arc::new(Semaphore::new(d.config.concurrency));
    let mut sending = JoinSet::new();
    loop {
        let Some(mut permits) = super::slots::take(&slots, CLAIM_BATCH, &stop).await else {
            break;
        };
        while sending.try_join_next().is_some() {}
        let claimed = match instance.ensure_fresh().await {
            Ok(()) => claim(&d, &owner, permits.len()).await,
            Err(err) => Err(err),
        };
        let batch = match claimed {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(error = ?err, "could not claim webhook deliveries");
                drop(permits);
                tokio::select! {
                    _ = tokio::time::sleep(d.config.poll_interval) => {}
                    _ = stop.cancelled() => break,
                }
                continue;
            }
        };
        if batch.rows.is_empty() {
            drop(permits);
            let idle = idle_for(&shared, d.config.poll_interval);
            tokio::select! {
                _ = d.bus.deliveries_queued() => {}
                _ = shared.freed.notified() => {}
                _ = tokio::time::sleep(idle) => {}
                _ = stop.cancelled() => break,
            }
            continue;
        }
        // Every claimed row is sent, with a slot or without: on PostgreSQL an `IN
        // (... LIMIT n FOR UPDATE SKIP LOCKED)` claim can return more rows than asked
        // for, and a row left out would stay `sending` for as long as this instance lives.
        for row in batch.rows {
            let permit = permits.pop();
            let target = batch.targets.get(&row.endpoint_id).cloned();
            let body = batch.bodies.get(&row.event_id).cloned();
            let (d, tx, shared) = (d.clone(), tx.clone(), shared.clone());
            shared.in_flight.fetch_add(1, Ordering::SeqCst);
            sending.spawn(async move {
                let done = deliver(&d, row, target, body).await;
                drop(permit);
                let _ = tx.send(done).await;
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
    // In-flight attempts end within their timeout; then the writer records the last
    // results and stops.
    let grace = d.config.timeout + Duration::from_secs(1);
    if tokio::time::timeout(grace, async {
        while sending.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        sending.abort_all();
    }
    drop(tx);
    let _ = writer.await;
}

/// How long the loop may sleep when nothing was due: the poll interval, or less when a
/// retry it scheduled is due sooner. Retries already due were looked for by the claim
/// that just found nothing (held back by their endpoint's cap, say) and are forgotten.
fn idle_for(shared: &Shared, poll: Duration) -> Duration {
    let now = crate::clock::now();
    let mut retries = shared.retries.lock().unwrap_or_else(|e| e.into_inner());
    let later = retries.split_off(&now);
    *retries = later;
    match retries.first() {
        Some(at) => (*at - now).to_std().unwrap_or(Duration::ZERO).min(poll),
        None => poll,
    }
}

/// One claim with what its deliveries need: their endpoints (once each) and their
/// events' bodies.
struct Batch {
    rows: Vec<webhook_deliveries::Model>,
    targets: HashMap<String, Arc<Target>>,
    bodies: HashMap<String, Arc<Vec<u8>>>,
}

async fn claim(d: &Deliverer, owner: &str, limit: usize) -> AppResult<Batch> {
    let turn = d.turn.take(&d.db).await;
    let txn = d.db.begin().await?;
    let rows = deliveries::claim(&txn, owner, limit, d.config.per_endpoint_concurrency).await?;
    txn.commit().await?;
    drop(turn);
    let mut batch = Batch {
        rows,
        targets: HashMap::new(),
        bodies: HashMap::new(),
    };
    if batch.rows.is_empty() {
        return Ok(batch);
    }
    // The rows are this instance's now: if what they need cannot be read, they go back
    // (as unavailable) rather than stay leased.
    if let Err(err) = load(d, &mut batch).await {
        tracing::warn!(error = ?err, "could not read the endpoints and events of claimed webhook deliveries");
    }
    Ok(batch)
}

/// Reads the endpoints (once each) and event bodies of a claim.
async fn load(d: &Deliverer, batch: &mut Batch) -> AppResult<()> {
    let endpoint_ids: BTreeSet<&str> = batch.rows.iter().map(|r| r.endpoint_id.as_str()).collect();
    let event_ids: BTreeSet<&str> = batch.rows.iter().map(|r| r.event_id.as_str()).collect();
    let now = crate::clock::now();
    let endpoints = webhook_endpoints::Entity::find()
        .filter(webhook_endpoints::Column::Id.is_in(endpoint_ids))
        .all(&d.db)
        .await?;
    let events = webhook_events::Entity::find()
        .filter(webhook_events::Column::Id.is_in(event_ids))
        .all(&d.db)
        .await?;
    for e in endpoints {
        let target = Target {
            secrets: sign::secrets(&e, now),
            url: e.url,
            enabled: e.enabled,
        };
        batch.targets.insert(e.id, Arc::new(target));
    }
    for e in events {
        let body = serde_json::to_vec(&e.payload).unwrap_or_default();
        batch.bodies.insert(e.id, Arc::new(body));
    }
    Ok(())
}

/// Sends one claimed delivery (unless its endpoint is disabled or gone).
async fn deliver(
    d: &Deliverer,
    row: webhook_deliveries::Model,
    target: Option<Arc<Target>>,
    body: Option<Arc<Vec<u8>>>,
) -> Done {
    let outcome = match (target, body) {
        (Some(t), _) if !t.enabled => Err(Unsent::Disabled),
        (Some(t), Some(body)) => {
            let req = Request {
                url: &t.url,
                secrets: &t.secrets,
                event_id: &row.event_id,
                body: &body,
                timeout: d.config.timeout,
            };
            Ok(attempt::send(&d.outbound, req).await)
        }
        _ => Err(Unsent::Unavailable),
    };
    Done {
        state: results::decide(&d.config, row.attempts, &outcome),
        delivery_id: row.id,
        endpoint_id: row.endpoint_id,
        org_id: row.org_id,
        attempts_before: row.attempts,
        outcome,
    }
}

/// Records results in batches until every sender is gone.
async fn write_results(
    d: Deliverer,
    owner: String,
    mut rx: mpsc::Receiver<Done>,
    shared: Arc<Shared>,
) {
    let mut buf = Vec::with_capacity(WRITE_BATCH);
    while rx.recv_many(&mut buf, WRITE_BATCH).await > 0 {
        let until = tokio::time::Instant::now() + GATHER;
        while buf.len() < WRITE_BATCH && shared.in_flight.load(Ordering::SeqCst) > 0 {
            let room = WRITE_BATCH - buf.len();
            let more = rx.recv_many(&mut buf, room);
            match tokio::time::timeout_at(until, more).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        record_retrying(&d, &owner, &buf).await;
        {
            let mut retries = shared.retries.lock().unwrap_or_else(|e| e.into_inner());
            for r in buf.drain(..) {
                if let State::RetryAt(t) = r.state {
                    if retries.len() < MAX_HINTS {
                        retries.insert(t);
                    }
                }
            }
        }
        shared.freed.notify_one();
    }
}

/// Records a batch, retrying for a while if the database refuses (busy, unreachable).
/// Given up, the deliveries are handed back to `pending` (their attempt is made again).
async fn record_retrying(d: &Deliverer, owner: &str, done: &[Done]) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=8 {
        let turn = d.turn.take(&d.db).await;
        let recorded = results::record(&d.db, owner, &d.config, done).await;
        drop(turn);
        match recorded {
            Ok(rec) => {
                if rec.lost > 0 {
                    tracing::warn!(
                        lost = rec.lost,
                        "webhook deliveries were taken over by another instance while being sent"
                    );
                }
                return;
            }
            Err(err) => {
                tracing::warn!(error = ?err, attempt, "could not record webhook attempts; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
    // Given up: hand the deliveries back (sent again later) rather than keep them leased
    // for as long as this instance lives; keep trying while the database is away.
    tracing::error!(
        results = done.len(),
        "gave up recording webhook attempts; releasing the deliveries"
    );
    let ids: Vec<&str> = done.iter().map(|r| r.delivery_id.as_str()).collect();
    let mut delay = Duration::from_secs(1);
    loop {
        let turn = d.turn.take(&d.db).await;
        let released = deliveries::release(&d.db, owner, &ids, crate::clock::now()).await;
        drop(turn);
        match released {
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = ?err, "could not release webhook deliveries; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}
