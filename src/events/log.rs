//! Appending to a run's event log. Only the holder of a run's lease (its executor) or
//! the API before any worker has it appends, so a counter kept by the writer numbers
//! the events without races.

use super::bus::Bus;
use super::{EventKind, RunEvent};
use crate::error::AppResult;
use entity::run_events;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;
use std::sync::Arc;

/// The writer of one run's log.
pub struct RunLog {
    run_id: String,
    org_id: String,
    next_seq: i64,
}

impl RunLog {
    /// A writer continuing after the last stored event of the run.
    pub async fn open(db: &impl ConnectionTrait, run_id: &str, org_id: &str) -> AppResult<Self> {
        let last: Option<i64> = run_events::Entity::find()
            .select_only()
            .column(run_events::Column::Seq)
            .filter(run_events::Column::RunId.eq(run_id))
            .order_by_desc(run_events::Column::Seq)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        Ok(Self {
            run_id: run_id.to_owned(),
            org_id: org_id.to_owned(),
            next_seq: last.unwrap_or(0) + 1,
        })
    }

    /// A writer for a run that has no events yet.
    pub fn new(run_id: &str, org_id: &str) -> Self {
        Self {
            run_id: run_id.to_owned(),
            org_id: org_id.to_owned(),
            next_seq: 1,
        }
    }

    /// A writer continuing after event `last` (0: the log is empty).
    pub fn after(run_id: &str, org_id: &str, last: i64) -> Self {
        Self {
            run_id: run_id.to_owned(),
            org_id: org_id.to_owned(),
            next_seq: last + 1,
        }
    }

    /// The next event of the log, numbered; the caller stores it (or hands it to the
    /// journal).
    pub fn next(&mut self, kind: EventKind, data: Value) -> Arc<RunEvent> {
        let event = RunEvent {
            run_id: self.run_id.clone(),
            org_id: self.org_id.clone(),
            seq: self.next_seq,
            kind,
            data,
            created_at: crate::clock::now(),
        };
        self.next_seq += 1;
        Arc::new(event)
    }

    /// Takes back `event`, the last one [`RunLog::next`] numbered, when it was not stored
    /// (a pause that did not happen): the next event gets its number, so the log has no
    /// gap.
    pub fn take_back(&mut self, event: &RunEvent) {
        if event.seq + 1 == self.next_seq {
            self.next_seq = event.seq;
        }
    }

    /// Stores one event (publish it with [`Bus::publish_event`] once its transaction
    /// committed; [`RunLog::append`] does both).
    pub async fn store(
        &mut self,
        db: &impl ConnectionTrait,
        kind: EventKind,
        data: Value,
    ) -> AppResult<Arc<RunEvent>> {
        let event = self.next(kind, data);
        row(&event).insert(db).await?;
        Ok(event)
    }

    /// Stores an event and publishes it.
    pub async fn append(
        &mut self,
        db: &impl ConnectionTrait,
        bus: &Bus,
        kind: EventKind,
        data: Value,
    ) -> AppResult<Arc<RunEvent>> {
        let event = self.store(db, kind, data).await?;
        bus.publish_event(event.clone());
        Ok(event)
    }
}

/// The stored row of an event.
pub fn row(e: &RunEvent) -> run_events::ActiveModel {
    run_events::ActiveModel {
        run_id: Set(e.run_id.clone()),
        seq: Set(e.seq),
        org_id: Set(e.org_id.clone()),
        kind: Set(e.kind.as_str().to_owned()),
        data: Set(e.data.clone()),
        created_at: Set(e.created_at),
    }
}
