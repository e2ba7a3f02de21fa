//! The journal: one task per instance that group-commits what executors record about
//! their runs (events, step rows, run endings, pauses at approval gates). Executors hand
//! their writes over and go on streaming; the journal takes everything pending, commits
//! it in one transaction (one multi-row insert for events, one upsert for steps), and only
//! then publishes the events and the runs' new states on the bus, in the order they were
//! written.
//!
//! Why: a run of the mock provider writes about a dozen rows; written one statement per
//! transaction, SQLite spends its time committing and writers queue on the database
//! lock. Batched, many runs share one commit and one writer never waits for another.
//! If a batch fails, its writes are retried one by one, so one bad write (say, a run
//! whose lease was lost appending after the reaper) cannot take other runs' writes down.

mod claims;
mod ends;
mod isolate;
mod lost;
mod pause;
mod publish;
mod retry;
mod run;
mod thread;
mod turn;
mod write;

pub use lost::STORAGE_ERROR;

pub use pause::Pause;
pub use run::RunJournal;
pub use turn::WriteTurn;

use super::bus::Bus;
use super::RunEvent;
use crate::error::{AppError, AppResult};
use claims::{answer_expired, answer_expired_all, Claim};
use entity::{run_steps, runs};
use pause::paused_run;
use publish::{claimed_runs, created_run, end, stop};
use sea_orm::DatabaseConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use write::{Parts, Written};

/// Opens the connections the journal uses on its own thread (see [`Journal::spawn`]).
pub type OwnDb = futures::future::BoxFuture<'static, anyhow::Result<DatabaseConnection>>;

/// Writes waiting for the journal, at most; executors wait when it is full.
const QUEUE: usize = 16_384;
/// Writes committed in one transaction, at most.
const MAX_BATCH: usize = 2_048;

/// The end of a run, recorded only if the writer still holds the run's lease.
pub struct Finish {
    /// The run as it ends (status, output, error, totals, times; no lease owner).
    pub run: runs::Model,
    /// The lease holder the run row must still name.
    pub owner: String,
    /// The run's terminal event.
    pub event: Arc<RunEvent>,
    /// Told whether the end was recorded (false: the lease was lost meanwhile).
    pub done: oneshot::Sender<AppResult<bool>>,
}

/// A new run, recorded with its first event.
struct Create {
    run: runs::Model,
    event: Arc<RunEvent>,
    done: oneshot::Sender<AppResult<()>>,
}

enum Write {
    Create(Box<Create>),
    Claim(Box<Claim>),
    Event(Arc<RunEvent>),
    Step(Box<run_steps::Model>),
    Finish(Box<Finish>),
    Pause(Box<Pause>),
    Flush(oneshot::Sender<()>),
}

/// The sending side of the journal; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Write>,
    turn: WriteTurn,
}

impl Journal {
    /// Starts the journal of this instance on its own thread. A batch the database
    /// refuses for a transient reason (locked, unreachable) is retried for `retry_for`
    /// (the lease TTL: past it the instance's heartbeats have failed too) before its runs
    /// are given up.
    ///
    /// Why a thread: every run waits for the journal two or three times, and the journal
    /// waits on the database between its statements. As one task among the request
    /// handlers it was queued behind them after each answer from the database: under
    /// load PostgreSQL spent most of a batch idle in the transaction, waiting for the
    /// journal to send the next statement. On its own thread (and runtime) it runs as
    /// soon as the answer arrives. `own_db`, when given, opens the connections the
    /// journal uses there (PostgreSQL: sockets belong to the runtime that opened them);
    /// without it, or if it fails, the journal uses `db`.
    pub fn spawn(
        db: DatabaseConnection,
        own_db: Option<OwnDb>,
        bus: Arc<Bus>,
        retry_for: Duration,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let turn = WriteTurn::default();
        let writer_turn = turn.clone();
        let job = async move {
            let db = match own_db {
                Some(open) => match open.await {
                    Ok(own) => own,
                    Err(err) => {
                        tracing::warn!(error = ?err, "the journal could not open its own connections; it shares the pool");
                        db
                    }
                },
                None => db,
            };
            run(db, bus, rx, retry_for, writer_turn).await;
        };
        thread::start(job);
        Self { tx, turn }
    }

    /// The turns at writing this journal takes (see [`WriteTurn`]).
    pub fn write_turn(&self) -> WriteTurn {
        self.turn.clone()
    }

    async fn send(&self, write: Write) -> AppResult<()> {
        self.tx.send(write).await.map_err(|_| stopped())
    }

    /// Sends the write `make` builds around a reply channel and waits for the reply.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<AppResult<T>>) -> Write,
    ) -> AppResult<T> {
        let (done, answer) = oneshot::channel();
        self.send(make(done)).await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Records a new queued run with its `run.created` event and waits for the commit;
    /// then publishes both and wakes a worker.
    pub async fn create(&self, run: runs::Model, event: Arc<RunEvent>) -> AppResult<()> {
        self.ask(|done| Write::Create(Box::new(Create { run, event, done })))
            .await
    }

    /// Claims up to `limit` queued runs for `owner` (see `jobs::runs`), in the next batch:
    /// on SQLite the journal is then the only regular writer, so writers never wait on
    /// each other's locks.
    ///
    /// A claim that finds nothing waits in the journal for up to `wait`, and is tried
    /// again in every batch that may make a run claimable (one that creates or ends
    /// runs) and whenever work is announced: a run is then claimed in the very
    /// transaction that creates it, not one batch after its creator was answered (a run
    /// used to wait for a whole extra commit between the two).
    ///
    /// With `room` (the worker's semaphore of free slots, and a cap), the claim takes up
    /// to `limit` plus the slots free when it runs, at most the cap: the worker then
    /// takes a slot for each run beyond `limit` (only it takes slots, so they are
    /// still free).
    pub async fn claim(
        &self,
        owner: &str,
        limit: usize,
        wait: Duration,
        room: Option<(Arc<tokio::sync::Semaphore>, usize)>,
    ) -> AppResult<Vec<runs::Model>> {
        let until = (!wait.is_zero()).then(|| tokio::time::Instant::now() + wait);
        self.ask(|done| {
            Write::Claim(Box::new(Claim {
                owner: owner.to_owned(),
                limit,
                done,
                until,
                room,
            }))
        })
        .await
    }

    /// Queues an event (published once committed).
    pub async fn event(&self, event: Arc<RunEvent>) -> AppResult<()> {
        self.send(Write::Event(event)).await
    }

    /// Queues a step row, new or updated (the latest version of a row wins).
    pub async fn step(&self, step: run_steps::Model) -> AppResult<()> {
        self.send(Write::Step(Box::new(step))).await
    }

    /// Records the end of a run with its terminal event and waits for the commit.
    /// Returns false if the run's lease was lost (another instance ended it).
    pub async fn finish(
        &self,
        run: runs::Model,
        owner: &str,
        event: Arc<RunEvent>,
    ) -> AppResult<bool> {
        self.ask(|done| {
            Write::Finish(Box::new(Finish {
                run,
                owner: owner.to_owned(),
                event,
                done,
            }))
        })
        .await
    }

    /// Waits until everything queued before this call is committed (or failed).
    pub async fn flush(&self) {
        let (done, answer) = oneshot::channel();
        if self.send(Write::Flush(done)).await.is_ok() {
            let _ = answer.await;
        }
    }
}

#[track_caller]
fn stopped() -> AppError {
    AppError::internal(anyhow::anyhow!("the run journal has stopped"))
}

/// One batch, split by kind; events keep their order.
#[derive(Default)]
struct Batch {
    creates: Vec<Create>,
    claims: Vec<Claim>,
    events: Vec<Arc<RunEvent>>,
    steps: Vec<run_steps::Model>,
    finishes: Vec<Finish>,
    pauses: Vec<Pause>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn add(&mut self, write: Write, step_index: &mut HashMap<String, usize>) {
        match write {
            Write::Create(c) => self.creates.push(*c),
            Write::Claim(c) => self.claims.push(*c),
            Write::Event(e) => self.events.push(e),
            Write::Step(s) => match step_index.get(&s.id) {
                Some(&i) => self.steps[i] = *s,
                None => {
                    step_index.insert(s.id.clone(), self.steps.len());
                    self.steps.push(*s);
                }
            },
            Write::Finish(f) => self.finishes.push(*f),
            Write::Pause(p) => self.pauses.push(*p),
            Write::Flush(tx) => self.flushes.push(tx),
        }
    }
}

async fn run(
    db: DatabaseConnection,
    bus: Arc<Bus>,
    mut rx: mpsc::Receiver<Write>,
    retry_for: Duration,
    turn: WriteTurn,
) {
    let mut buf = Vec::with_capacity(MAX_BATCH);
    // Runs whose events or steps could not be stored (the run was ended by another
    // instance after its lease expired, and its sequence numbers collide; or the database
    // stayed unavailable past the retry deadline): their later events and steps are
    // dropped rather than stored after a gap, their executors are stopped, and their
    // endings are recorded as `storage_error` right after the last stored event.
    // Forgotten once the run's end is committed.
    let mut broken = HashSet::new();
    // Claims that found nothing, waiting for a batch that may make a run claimable.
    let mut parked: Vec<Claim> = Vec::new();
    loop {
        let mut announced = false;
        let received = match parked.iter().filter_map(|c| c.until).min() {
            None => rx.recv_many(&mut buf, MAX_BATCH).await,
            Some(deadline) => tokio::select! {
                n = rx.recv_many(&mut buf, MAX_BATCH) => n,
                _ = bus.work_queued() => {
                    announced = true;
                    usize::MAX
                }
                _ = tokio::time::sleep_until(deadline) => {
                    answer_expired(&mut parked);
                    continue;
                }
            },
        };
        if received == 0 {
            break;
        }
        let mut batch = Batch::default();
        let mut step_index = HashMap::new();
        for write in buf.drain(..) {
            let run_id = match &write {
                Write::Event(e) => Some(&e.run_id),
                Write::Step(s) => Some(&s.run_id),
                _ => None,
            };
            if run_id.is_some_and(|id| broken.contains(id)) {
                continue;
            }
            batch.add(write, &mut step_index);
        }
        // New runs, ended runs (a conversation's next run) and announced work (another
        // instance's runs, a gate's decision) may be claimable now.
        let creates = !batch.creates.is_empty();
        let retried = !parked.is_empty();
        if announced || creates || !batch.finishes.is_empty() {
            batch.claims.append(&mut parked);
        }
        batch.finishes = rewrite_lost(&db, &broken, batch.finishes).await;
        // A stopped run does not pause (its executor ends it instead).
        let (lost, pauses): (Vec<_>, Vec<_>) = std::mem::take(&mut batch.pauses)
            .into_iter()
            .partition(|p| broken.contains(&p.run.id));
        batch.pauses = pauses;
        for p in lost {
            let _ = p.done.send(Ok(false));
        }
        commit(&db, &bus, batch, &mut broken, &mut parked, retry_for, &turn).await;
        if creates && retried {
            // This batch's own announcement of its new runs: the parked claims have
            // already seen them, in the same transaction.
            use futures::FutureExt;
            let _ = bus.work_queued().now_or_never();
        }
    }
    answer_expired_all(parked);
}

/// The endings of stopped runs become `storage_error` failures (see `lost`); an ending
/// whose run's log cannot be read now is answered with the error (its executor retries).
async fn rewrite_lost(
    db: &DatabaseConnection,
    broken: &HashSet<String>,
    finishes: Vec<Finish>,
) -> Vec<Finish> {
    let mut out = Vec::with_capacity(finishes.len());
    for f in finishes {
        if !lost::is_lost(broken, &f) {
            out.push(f);
            continue;
        }
        match lost::as_storage_failure(db, f).await {
            Ok(f) => out.push(f),
            Err((f, err)) => {
                let _ = f.done.send(Err(err));
            }
        }
    }
    out
}

async fn commit(
    db: &DatabaseConnection,
    bus: &Bus,
    batch: Batch,
    broken: &mut HashSet<String>,
    parked: &mut Vec<Claim>,
    retry_for: Duration,
    turn: &WriteTurn,
) {
    let Batch {
        creates,
        claims,
        events,
        steps,
        finishes,
        pauses,
        flushes,
    } = batch;
    let parts = Parts {
        runs: creates.iter().map(|c| (&c.run, &*c.event)).collect(),
        events: events.iter().map(|e| &**e).collect(),
        steps: steps.iter().collect(),
        ends: finishes
            .iter()
            .map(|f| (&f.run, f.owner.as_str(), &*f.event))
            .collect(),
        claims: claims
            .iter()
            .map(|c| (c.owner.as_str(), c.limit_now()))
            .collect(),
        pauses: pauses
            .iter()
            .map(|p| (&p.run, p.owner.as_str(), &p.gate, &*p.event))
            .collect(),
    };
    let turn = turn.take(db).await;
    let written = retry::write_retrying(db, &parts, retry_for).await;
    drop(turn);
    match written {
        Ok(Written {
            kept,
            claimed,
            paused,
            deliveries,
        }) => {
            drop(parts);
            let created = !creates.is_empty();
            for c in creates {
                created_run(bus, c, Ok(()));
            }
            for event in events {
                bus.publish_event(event);
            }
            for (f, kept) in finishes.into_iter().zip(kept) {
                broken.remove(&f.run.id);
                end(bus, f, Ok(kept));
            }
            for (p, kept) in pauses.into_iter().zip(paused) {
                paused_run(bus, p, Ok(kept));
            }
            // In the order the transaction wrote them: a claimed run may follow the end
            // of an earlier run of its conversation.
            let now = tokio::time::Instant::now();
            for (c, runs) in claims.into_iter().zip(claimed) {
                if runs.is_empty() && c.until.is_some_and(|u| u > now) && !c.done.is_closed() {
                    parked.push(c);
                } else {
                    claimed_runs(bus, c, Ok(runs));
                }
            }
            if created {
                bus.notify_work();
            }
            if deliveries > 0 {
                bus.notify_deliveries();
            }
        }
        Err(err) => {
            drop(parts);
            let rest = Batch {
                creates,
                claims,
                events,
                steps,
                finishes,
                pauses,
                flushes: Vec::new(),
            };
            if retry::is_transient(&err) {
                lost::give_up(rest, bus, broken, &err);
            } else {
                tracing::warn!(error = ?err, "a journal batch failed; writing its parts one by one");
                rest.write_one_by_one(db, bus, broken).await;
            }
        }
    }
    for tx in flushes {
        let _ = tx.send(());
    }
}
