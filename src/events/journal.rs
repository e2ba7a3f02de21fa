//! The journal: one task per instance that group-commits what executors record about
//! their runs (events, step rows, run endings). Executors hand their writes over and go
//! on streaming; the journal takes everything pending, commits it in one transaction
//! (one multi-row insert for events, one upsert for steps), and only then publishes the
//! events and the runs' new states on the bus, in the order they were written.
//!
//! Why: a run of the mock provider writes about a dozen rows; written one statement per
//! transaction, SQLite spends its time committing and writers queue on the database
//! lock. Batched, many runs share one commit and one writer never waits for another.
//! If a batch fails, its writes are retried one by one, so one bad write (say, a run
//! whose lease was lost appending after the reaper) cannot take other runs' writes down.

use super::bus::Bus;
use super::RunEvent;
use crate::error::{AppError, AppResult};
use entity::{run_events, run_steps, runs};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the journal, at most; executors wait when it is full.
const QUEUE: usize = 16_384;
/// Writes committed in one transaction, at most.
const MAX_BATCH: usize = 2_048;
/// Rows per multi-row insert (well under SQLite's and PostgreSQL's bound-value limits).
const ROWS_PER_INSERT: usize = 256;

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
    Event(Arc<RunEvent>),
    Step(Box<run_steps::Model>),
    Finish(Box<Finish>),
    Flush(oneshot::Sender<()>),
}

/// The sending side of the journal; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Write>,
}

impl Journal {
    /// Starts the journal task of this instance.
    pub fn spawn(db: DatabaseConnection, bus: Arc<Bus>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, bus, rx));
        Self { tx }
    }

    async fn send(&self, write: Write) -> AppResult<()> {
        self.tx
            .send(write)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the run journal has stopped")))
    }

    /// Records a new queued run with its `run.created` event and waits for the commit;
    /// then publishes both and wakes a worker.
    pub async fn create(&self, run: runs::Model, event: Arc<RunEvent>) -> AppResult<()> {
        let (done, answer) = oneshot::channel();
        self.send(Write::Create(Box::new(Create { run, event, done })))
            .await?;
        answer
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the run journal has stopped")))?
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
        let (done, answer) = oneshot::channel();
        let finish = Finish {
            run,
            owner: owner.to_owned(),
            event,
            done,
        };
        self.send(Write::Finish(Box::new(finish))).await?;
        answer
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the run journal has stopped")))?
    }

    /// Waits until everything queued before this call is committed (or failed).
    pub async fn flush(&self) {
        let (done, answer) = oneshot::channel();
        if self.send(Write::Flush(done)).await.is_ok() {
            let _ = answer.await;
        }
    }
}

/// One batch, split by kind; events keep their order.
#[derive(Default)]
struct Batch {
    creates: Vec<Create>,
    events: Vec<Arc<RunEvent>>,
    steps: Vec<run_steps::Model>,
    finishes: Vec<Finish>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn add(&mut self, write: Write, step_index: &mut HashMap<String, usize>) {
        match write {
            Write::Create(c) => self.creates.push(*c),
            Write::Event(e) => self.events.push(e),
            Write::Step(s) => match step_index.get(&s.id) {
                Some(&i) => self.steps[i] = *s,
                None => {
                    step_index.insert(s.id.clone(), self.steps.len());
                    self.steps.push(*s);
                }
            },
            Write::Finish(f) => self.finishes.push(*f),
            Write::Flush(tx) => self.flushes.push(tx),
        }
    }
}

async fn run(db: DatabaseConnection, bus: Arc<Bus>, mut rx: mpsc::Receiver<Write>) {
    let mut buf = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut buf, MAX_BATCH).await > 0 {
        let mut batch = Batch::default();
        let mut step_index = HashMap::new();
        for write in buf.drain(..) {
            batch.add(write, &mut step_index);
        }
        commit(&db, &bus, batch).await;
    }
}

async fn commit(db: &DatabaseConnection, bus: &Bus, batch: Batch) {
    let Batch {
        creates,
        events,
        steps,
        finishes,
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
    };
    match write(db, &parts).await {
        Ok(kept) => {
            drop(parts);
            let created = !creates.is_empty();
            for c in creates {
                created_run(bus, c, Ok(()));
            }
            for event in events {
                bus.publish_event(event);
            }
            for (f, kept) in finishes.into_iter().zip(kept) {
                end(bus, f, Ok(kept));
            }
            if created {
                bus.notify_work();
            }
        }
        Err(err) => {
            drop(parts);
            tracing::warn!(error = %err, "a journal batch failed; writing its parts one by one");
            write_one_by_one(db, bus, creates, events, steps, finishes).await;
        }
    }
    for tx in flushes {
        let _ = tx.send(());
    }
}

async fn write_one_by_one(
    db: &DatabaseConnection,
    bus: &Bus,
    creates: Vec<Create>,
    events: Vec<Arc<RunEvent>>,
    steps: Vec<run_steps::Model>,
    finishes: Vec<Finish>,
) {
    let mut created = false;
    for c in creates {
        let parts = Parts {
            runs: vec![(&c.run, &*c.event)],
            ..Parts::default()
        };
        let res = write(db, &parts).await.map(|_| ());
        drop(parts);
        created |= res.is_ok();
        created_run(bus, c, res);
    }
    if created {
        bus.notify_work();
    }
    for step in &steps {
        let parts = Parts {
            steps: vec![step],
            ..Parts::default()
        };
        if let Err(err) = write(db, &parts).await {
            tracing::error!(error = %err, step_id = %step.id, "could not record a run step");
        }
    }
    for event in events {
        let parts = Parts {
            events: vec![&*event],
            ..Parts::default()
        };
        let res = write(db, &parts).await;
        drop(parts);
        match res {
            Ok(_) => bus.publish_event(event),
            Err(err) => {
                tracing::error!(error = %err, run_id = %event.run_id, seq = event.seq, "could not record a run event")
            }
        }
    }
    for f in finishes {
        let parts = Parts {
            ends: vec![(&f.run, &f.owner, &*f.event)],
            ..Parts::default()
        };
        let res = write(db, &parts).await.map(|kept| kept[0]);
        drop(parts);
        end(bus, f, res);
    }
}

/// After a new run was (or was not) committed: publish it, tell its creator.
fn created_run(bus: &Bus, c: Create, res: AppResult<()>) {
    if res.is_ok() {
        bus.publish_event(c.event);
        bus.publish_run(c.run);
    }
    let _ = c.done.send(res);
}

/// After a run's end was (or was not) committed: publish it, tell its executor.
fn end(bus: &Bus, f: Finish, res: AppResult<bool>) {
    if let Ok(true) = res {
        bus.publish_event(f.event);
        bus.publish_run(f.run);
    }
    let _ = f.done.send(res);
}

/// What one transaction writes.
#[derive(Default)]
struct Parts<'a> {
    /// New runs, each with its first event.
    runs: Vec<(&'a runs::Model, &'a RunEvent)>,
    events: Vec<&'a RunEvent>,
    steps: Vec<&'a run_steps::Model>,
    /// Run endings: the run as it ends, the lease owner it needs, its terminal event.
    ends: Vec<(&'a runs::Model, &'a str, &'a RunEvent)>,
}

/// Writes one batch in one transaction: new runs, steps, then run endings (each only if
/// its lease is still held; steps cut short end with their run), then events. Returns,
/// per ending, whether it was recorded.
async fn write(db: &DatabaseConnection, parts: &Parts<'_>) -> AppResult<Vec<bool>> {
    let txn = db.begin().await?;
    for chunk in parts.runs.chunks(ROWS_PER_INSERT / 4) {
        let rows = chunk
            .iter()
            .map(|(r, _)| (*r).clone().into_active_model().reset_all());
        runs::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in parts.steps.chunks(ROWS_PER_INSERT / 2) {
        let rows = chunk
            .iter()
            .map(|s| (*s).clone().into_active_model().reset_all());
        run_steps::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(run_steps::Column::Id)
                    .update_columns([
                        run_steps::Column::Output,
                        run_steps::Column::TokensInput,
                        run_steps::Column::TokensOutput,
                        run_steps::Column::Cost,
                        run_steps::Column::Status,
                        run_steps::Column::Error,
                        run_steps::Column::CompletedAt,
                        run_steps::Column::DurationMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let mut kept = Vec::with_capacity(parts.ends.len());
    let mut dropped = HashSet::new();
    for (run, owner, event) in &parts.ends {
        let ok = end_run(&txn, run, owner).await?;
        if !ok {
            dropped.insert((event.run_id.as_str(), event.seq));
        }
        kept.push(ok);
    }
    let rows = parts
        .runs
        .iter()
        .map(|(_, e)| *e)
        .chain(parts.events.iter().copied())
        .chain(parts.ends.iter().map(|(_, _, e)| *e))
        .filter(|e| !dropped.contains(&(e.run_id.as_str(), e.seq)))
        .collect::<Vec<_>>();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let rows = chunk.iter().map(|e| run_events::ActiveModel {
            run_id: sea_orm::Set(e.run_id.clone()),
            seq: sea_orm::Set(e.seq),
            org_id: sea_orm::Set(e.org_id.clone()),
            kind: sea_orm::Set(e.kind.clone()),
            data: sea_orm::Set(e.data.clone()),
            created_at: sea_orm::Set(e.created_at),
        });
        run_events::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(kept)
}

/// Records a run's end if `owner` still holds its lease.
async fn end_run(
    txn: &sea_orm::DatabaseTransaction,
    run: &runs::Model,
    owner: &str,
) -> AppResult<bool> {
    let updated = runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(run.status.clone()))
        .col_expr(runs::Column::Output, Expr::value(run.output.clone()))
        .col_expr(runs::Column::Error, Expr::value(run.error.clone()))
        .col_expr(runs::Column::TokensInput, Expr::value(run.tokens_input))
        .col_expr(runs::Column::TokensOutput, Expr::value(run.tokens_output))
        .col_expr(runs::Column::Cost, Expr::value(run.cost))
        .col_expr(runs::Column::CompletedAt, Expr::value(run.completed_at))
        .col_expr(runs::Column::DurationMs, Expr::value(run.duration_ms))
        .col_expr(
            runs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .filter(runs::Column::Id.eq(&run.id))
        .filter(runs::Column::LeaseOwner.eq(owner))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(false);
    }
    if run.status != "completed" {
        // Steps cut short by a cancel, timeout or failure end with the run.
        let status = if run.status == "cancelled" {
            "cancelled"
        } else {
            "failed"
        };
        run_steps::Entity::update_many()
            .col_expr(run_steps::Column::Status, Expr::value(status))
            .col_expr(
                run_steps::Column::CompletedAt,
                Expr::value(run.completed_at),
            )
            .filter(run_steps::Column::RunId.eq(&run.id))
            .filter(run_steps::Column::Status.eq("running"))
            .exec(txn)
            .await?;
    }
    Ok(true)
}

/// One run's writer for its executor: numbers the run's events and hands them, with the
/// run's step rows and its end, to the journal.
pub struct RunJournal {
    journal: Journal,
    log: super::log::RunLog,
}

impl RunJournal {
    /// A writer appending to `log` through `journal`.
    pub fn new(journal: Journal, log: super::log::RunLog) -> Self {
        Self { journal, log }
    }

    /// Appends an event.
    pub async fn event(&mut self, kind: &str, data: serde_json::Value) -> AppResult<()> {
        let event = self.log.next(kind, data);
        self.journal.event(event).await
    }

    /// Records a step row (new or updated).
    pub async fn step(&self, step: run_steps::Model) -> AppResult<()> {
        self.journal.step(step).await
    }

    /// Ends the run (`run` as it ends) with its terminal event; false if the lease was
    /// lost meanwhile.
    pub async fn finish(
        &mut self,
        run: runs::Model,
        owner: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> AppResult<bool> {
        let event = self.log.next(kind, data);
        self.journal.finish(run, owner, event).await
    }
}
