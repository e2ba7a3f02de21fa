//! The database handle the service layer works on: the pool, or a request's unit of
//! work (one transaction spanning everything a request changes; see [`super::unit`]).
//!
//! Service functions take it as `impl ConnectionTrait + TransactionTrait`; a `begin()`
//! on a unit is a savepoint of its transaction, so the same code commits on its own when
//! called alone and becomes part of the request's transaction inside a unit.

use super::unit::Txn;
use async_trait::async_trait;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, Statement, TransactionError, TransactionOptions,
    TransactionTrait,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The pool, or a unit of work's transaction. Cheap to clone.
#[derive(Clone)]
pub enum Db {
    /// Every statement on its own (or in the transaction a service begins).
    Pool(DatabaseConnection),
    /// Inside a request's unit of work.
    Unit(Arc<Txn>),
}

impl Db {
    /// The pool, whatever this handle is: for work that must not be part of a request's
    /// transaction (reads that must see other requests' commits, background tasks).
    pub fn pool(&self) -> &DatabaseConnection {
        match self {
            Self::Pool(db) => db,
            Self::Unit(t) => t.pool(),
        }
    }

    /// The unit of work this handle is in, if any.
    pub fn unit(&self) -> Option<&Arc<Txn>> {
        match self {
            Self::Pool(_) => None,
            Self::Unit(t) => Some(t),
        }
    }
}

impl From<DatabaseConnection> for Db {
    fn from(db: DatabaseConnection) -> Self {
        Self::Pool(db)
    }
}

/// Runs `$call` on the unit's open transaction, or on the pool once the unit flushed.
macro_rules! on {
    ($self:ident, $conn:ident => $call:expr) => {
        match $self {
            Db::Pool($conn) => $call,
            Db::Unit(t) => {
                let open = t.open().await;
                match open.as_ref() {
                    Some($conn) => $call,
                    None => {
                        let $conn = t.pool();
                        $call
                    }
                }
            }
        }
    };
}

#[async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        on!(self, c => c.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on!(self, c => c.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        on!(self, c => c.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on!(self, c => c.query_all_raw(stmt).await)
    }

    fn support_returning(&self) -> bool {
        self.pool().support_returning()
    }
}

#[async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        on!(self, c => c.begin().await)
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        on!(self, c => c.begin_with_config(isolation_level, access_mode).await)
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        on!(self, c => c.begin_with_options(options).await)
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        on!(self, c => c.transaction(callback).await)
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        on!(self, c => c.transaction_with_config(callback, isolation_level, access_mode).await)
    }
}
