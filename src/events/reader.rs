//! Reading a run's events as one stream: subscribe to the bus, replay the stored log
//! after a sequence number, then follow live events, filling any gap (a lagging
//! subscriber) from the database. The stream ends after the run's terminal event.

use super::bus::Bus;
use super::{EventKind, RunEvent};
use crate::error::AppError;
use entity::run_events;
use futures::Stream;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often a run's log is re-read for this instance's readers when instances share a
/// database but no bus (one poller per run, not per reader).
const LOCAL_POLL: Duration = Duration::from_millis(1000);
/// How often an idle reader checks the log itself: a safety net for lost messages.
const SHARED_POLL: Duration = Duration::from_secs(10);

/// Events read from the log in one query, at most: a replay of a long run is read page
/// by page as the client takes it, never whole.
pub const REPLAY_PAGE: u64 = 256;

/// Up to `limit` events of the run after `after`, in order.
async fn stored_after(
    db: &DatabaseConnection,
    run_id: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<Arc<RunEvent>>, AppError> {
    run_events::Entity::find()
        .filter(run_events::Column::RunId.eq(run_id))
        .filter(run_events::Column::Seq.gt(after))
        .order_by_asc(run_events::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|m| RunEvent::try_from(m).map(Arc::new))
        .collect()
}

/// Fails when `event` does not follow `last`: the log is written in order by one writer
/// per run and read only after commit, so a hole means events were lost. A reader says
/// so rather than skip ids silently.
fn in_order(last: i64, event: &RunEvent) -> Result<(), AppError> {
    if event.seq == last + 1 {
        return Ok(());
    }
    tracing::error!(run_id = %event.run_id, after = last, next = event.seq, "a run's event log has a gap");
    Err(AppError::Unavailable(format!(
        "events {}..{} of run {} are missing from its log",
        last + 1,
        event.seq - 1,
        event.run_id
    )))
}

/// Whether the run's log is complete: it holds the run's terminal event.
async fn log_complete(db: &DatabaseConnection, run_id: &str) -> Result<bool, AppError> {
    log_holds(db, run_id, false).await
}

/// Whether the run's log holds its terminal event (or, with `gates`, a `gate.pending`).
async fn log_holds(db: &DatabaseConnection, run_id: &str, gates: bool) -> Result<bool, AppError> {
    let mut kinds = vec![
        EventKind::RunCompleted.as_str(),
        EventKind::RunFailed.as_str(),
        EventKind::RunCancelled.as_str(),
    ];
    if gates {
        kinds.push(EventKind::GatePending.as_str());
    }
    let found = run_events::Entity::find()
        .filter(run_events::Column::RunId.eq(run_id))
        .filter(run_events::Column::Kind.is_in(kinds))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Whether another instance's events reach this one only through the log: instances
/// share a database (PostgreSQL) but no bus.
fn log_only(db: &DatabaseConnection, bus: &Bus) -> bool {
    !bus.is_shared() && db.get_database_backend() == sea_orm::DbBackend::Postgres
}

/// Starts the one task of this instance that reads a followed run's log every
/// `LOCAL_POLL` and hands new events to the local readers, however many there are,
/// until the run ends or nobody here follows it. Readers then only check the log
/// themselves as a safety net (`SHARED_POLL`). Events the poller repeats are dropped by
/// the readers (they go by sequence number).
fn poll_log(db: &DatabaseConnection, bus: &Arc<Bus>, run_id: &str, mut last: i64) {
    if !bus.start_polling(run_id) {
        return;
    }
    let (db, bus, run_id) = (db.clone(), bus.clone(), run_id.to_owned());
    tokio::spawn(async move {
        let mut ended = false;
        loop {
            tokio::time::sleep(LOCAL_POLL).await;
            if bus.stop_polling(&run_id, ended) {
                break;
            }
            match stored_after(&db, &run_id, last, REPLAY_PAGE).await {
                Ok(events) => {
                    for event in events {
                        last = event.seq;
                        ended |= event.kind.is_terminal();
                        bus.publish_local(event);
                    }
                }
                Err(err) => tracing::warn!(error = %err, run_id, "could not poll a run's log"),
            }
        }
    });
}

/// Watches for the end of a run. Made before the run can end (before it is created),
/// so the terminal event cannot slip by between a check and a subscription.
pub struct EndWatch {
    live: super::bus::Subscription<Arc<RunEvent>>,
    run_id: String,
}

impl EndWatch {
    /// Starts watching `run_id`.
    pub fn new(bus: &Bus, run_id: &str) -> Self {
        Self {
            live: bus.subscribe_run(run_id),
            run_id: run_id.to_owned(),
        }
    }

    /// Resolves once the run's terminal event is stored.
    pub async fn ended(self, db: &DatabaseConnection, bus: &Arc<Bus>) -> Result<(), AppError> {
        self.until(db, bus, false).await
    }

    /// Resolves once the run's terminal event is stored, or it waits at a gate (its
    /// `gate.pending` is stored): the synchronous run call answers then.
    pub async fn settled(self, db: &DatabaseConnection, bus: &Arc<Bus>) -> Result<(), AppError> {
        self.until(db, bus, true).await
    }

    async fn until(
        mut self,
        db: &DatabaseConnection,
        bus: &Arc<Bus>,
        gates: bool,
    ) -> Result<(), AppError> {
        let stops =
            |kind: EventKind| kind.is_terminal() || (gates && kind == EventKind::GatePending);
        if log_only(db, bus) {
            // Its `run.created` (seq 1) may not be stored yet; repeats are harmless.
            poll_log(db, bus, &self.run_id, 0);
        }
        loop {
            match tokio::time::timeout(SHARED_POLL, self.live.recv()).await {
                Ok(Ok(event)) if stops(event.kind) => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(RecvError::Closed)) => {
                    tokio::time::sleep(LOCAL_POLL).await;
                    if log_holds(db, &self.run_id, gates).await? {
                        return Ok(());
                    }
                }
                Ok(Err(RecvError::Lagged(_))) | Err(_) => {
                    if log_holds(db, &self.run_id, gates).await? {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Every event of `run_id` after `after`, in order, each exactly once, ending with the
/// run's terminal event. The caller has checked the run is the reader's. The stored log
/// is read page by page; a hole in it ends the stream with an error.
pub fn follow(
    db: DatabaseConnection,
    bus: Arc<Bus>,
    run_id: String,
    after: i64,
) -> impl Stream<Item = Result<Arc<RunEvent>, AppError>> + Send {
    async_stream::try_stream! {
        let mut live = bus.subscribe_run(&run_id);
        let mut last = after;
        let mut done = false;
        // Read the log from `last` on: at the start, after a gap in what the bus
        // delivered (this subscriber lagged, or missed events published before it
        // subscribed), and when idle as a safety net.
        let mut catch_up = true;
        let mut started = false;
        let mut ending = false;
        while !done {
            if catch_up {
                catch_up = false;
                loop {
                    let page = stored_after(&db, &run_id, last, REPLAY_PAGE).await?;
                    let full = page.len() as u64 == REPLAY_PAGE;
                    for event in page {
                        in_order(last, &event)?;
                        last = event.seq;
                        done = event.kind.is_terminal();
                        yield event;
                    }
                    if !full || done {
                        break;
                    }
                }
                if ending {
                    break;
                }
                if !started {
                    started = true;
                    // Resuming at (or past) the end of a finished run: once its log
                    // holds the terminal event there is nothing to wait for. (Not the
                    // run row's status: the row says "finished" a moment before the
                    // terminal event is appended.)
                    if !done && log_complete(&db, &run_id).await? {
                        ending = true;
                        catch_up = true;
                        continue;
                    }
                    if !done && log_only(&db, &bus) {
                        poll_log(&db, &bus, &run_id, last);
                    }
                }
                continue;
            }
            let Ok(received) = tokio::time::timeout(SHARED_POLL, live.recv()).await else {
                catch_up = true;
                continue;
            };
            match received {
                Ok(event) if event.seq <= last => {}
                Ok(event) if event.seq == last + 1 => {
                    last = event.seq;
                    done = event.kind.is_terminal();
                    yield event;
                }
                Ok(_) | Err(RecvError::Lagged(_)) => catch_up = true,
                Err(RecvError::Closed) => break,
            }
        }
    }
}
