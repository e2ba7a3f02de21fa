//! Units of work: one database transaction that spans everything a request changes, so
//! the request's effects commit together with what must commit with them (its
//! idempotency record; every operation of an atomic batch).
//!
//! A request runs on a unit when its extensions carry one ([`Unit::of`]): the REST and
//! GraphQL handlers hand [`Unit::services`] to the resolvers, whose service calls then
//! write through the unit's transaction (a service's own `begin()` becomes a savepoint).
//! What must only happen once the changes are visible to others (bus publishes, waking
//! workers, evicting caches) is deferred with [`super::Services::after_commit`] and runs
//! when the outermost unit commits; a rolled-back unit drops it.

use super::{Db, Services};
use crate::error::AppResult;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use std::sync::{Arc, Mutex};
use tokio::sync::MutexGuard;

/// What runs after the outermost unit commits.
pub type AfterCommit = Box<dyn FnOnce() + Send>;

/// Runs just before a unit that [`Unit::flush`]es commits early, in its transaction
/// (the idempotency record marks itself committed).
pub type BeforeFlush = Box<
    dyn for<'a> FnOnce(
            &'a DatabaseTransaction,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = AppResult<()>> + Send + 'a>,
        > + Send,
>;

/// A unit's transaction and what waits for its commit.
pub struct Txn {
    pool: DatabaseConnection,
    /// `None` once committed, rolled back or flushed: statements then go to the pool.
    open: tokio::sync::Mutex<Option<DatabaseTransaction>>,
    after: Mutex<Vec<AfterCommit>>,
    parent: Option<Arc<Txn>>,
    /// Set on a unit that may commit early so a synchronous run can be waited for (a
    /// single request's unit, not a batch's).
    flush: Mutex<Option<BeforeFlush>>,
    /// The id the first run created on this unit gets (so a retry finds the same run).
    run_id: Mutex<Option<String>>,
}

impl Txn {
    /// The pool the unit began on.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// The open transaction (`None` after the unit ended or flushed).
    pub async fn open(&self) -> MutexGuard<'_, Option<DatabaseTransaction>> {
        self.open.lock().await
    }

    fn root(self: &Arc<Self>) -> Arc<Self> {
        let mut t = self.clone();
        while let Some(p) = t.parent.clone() {
            t = p;
        }
        t
    }

    /// Defers `f` until the outermost unit commits.
    pub fn after_commit(&self, f: AfterCommit) {
        lock(&self.after).push(f);
    }

    /// Whether a synchronous trigger may commit this unit early to wait for its run.
    pub fn may_flush(self: &Arc<Self>) -> bool {
        lock(&self.root().flush).is_some()
    }

    /// Takes the run id reserved for the first run created on this unit.
    pub fn take_run_id(self: &Arc<Self>) -> Option<String> {
        lock(&self.root().run_id).take()
    }
}

/// A request's unit of work. Cheap to clone; every clone is the same unit.
#[derive(Clone)]
pub struct Unit {
    txn: Arc<Txn>,
    base: Services,
}

impl Unit {
    /// Begins a unit on the pool. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads first and writes later fails with
    /// "database is locked" when another connection wrote in between.
    pub async fn begin(s: &Services) -> AppResult<Unit> {
        let pool = s.db.pool().clone();
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = pool.begin_with_options(options).await?;
        Ok(Self::wrap(s, pool, txn, None))
    }

    fn wrap(
        s: &Services,
        pool: DatabaseConnection,
        txn: DatabaseTransaction,
        parent: Option<Arc<Txn>>,
    ) -> Unit {
        Unit {
            txn: Arc::new(Txn {
                pool,
                open: tokio::sync::Mutex::new(Some(txn)),
                after: Mutex::new(Vec::new()),
                parent,
                flush: Mutex::new(None),
                run_id: Mutex::new(None),
            }),
            base: s.clone(),
        }
    }

    /// A unit inside this one (a savepoint): its rollback undoes only its own changes,
    /// its commit makes them part of this unit.
    pub async fn nested(&self) -> AppResult<Unit> {
        let savepoint = {
            let open = self.txn.open().await;
            match open.as_ref() {
                Some(txn) => txn.begin().await?,
                None => self.txn.pool.begin().await?,
            }
        };
        Ok(Self::wrap(
            &self.base,
            self.txn.pool.clone(),
            savepoint,
            Some(self.txn.clone()),
        ))
    }

    /// The unit a request runs on, if its extensions carry one.
    pub fn of(ext: &::http::Extensions) -> Option<Unit> {
        ext.get::<Unit>().cloned()
    }

    /// The service handles whose database is this unit.
    pub fn services(&self) -> Services {
        Services {
            db: Db::Unit(self.txn.clone()),
            ..self.base.clone()
        }
    }

    /// Lets a synchronous run trigger commit this unit early (running `before` in the
    /// transaction first), and gives the first run created on it the id `run_id`.
    pub fn allow_flush(&self, before: BeforeFlush, run_id: Option<String>) {
        *lock(&self.txn.flush) = Some(before);
        *lock(&self.txn.run_id) = run_id;
    }

    /// Commits. The outermost unit then runs what waited for its commit; a nested one
    /// hands it to its parent.
    pub async fn commit(self) -> AppResult<()> {
        let txn = self.txn.open().await.take();
        if let Some(txn) = txn {
            txn.commit().await?;
        }
        let after = std::mem::take(&mut *lock(&self.txn.after));
        match &self.txn.parent {
            Some(parent) => lock(&parent.after).extend(after),
            None => after.into_iter().for_each(|f| f()),
        }
        Ok(())
    }

    /// Rolls back; what waited for the commit is dropped.
    pub async fn rollback(self) -> AppResult<()> {
        let txn = self.txn.open().await.take();
        lock(&self.txn.after).clear();
        if let Some(txn) = txn {
            txn.rollback().await?;
        }
        Ok(())
    }
}

/// Commits a flushable unit early (see [`Unit::allow_flush`]); later statements on it
/// go to the pool. A unit that may not flush is left alone (`Ok(false)`).
pub async fn flush(txn: &Arc<Txn>) -> AppResult<bool> {
    if txn.parent.is_some() {
        return Ok(false);
    }
    let Some(before) = lock(&txn.flush).take() else {
        return Ok(false);
    };
    let open = txn.open().await.take();
    if let Some(open) = open {
        before(&open).await?;
        open.commit().await?;
    }
    let after = std::mem::take(&mut *lock(&txn.after));
    after.into_iter().for_each(|f| f());
    Ok(true)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these cannot leave the value half-changed.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
