//! Fair turns at writing to SQLite for the steady writers of an instance.

use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Turns at writing to SQLite, for this instance's steady writers (the journal and the
/// webhook delivery loop). SQLite has one writer at a time, and a writer that finds the
/// database locked sleeps in its busy handler and polls: against a journal that commits
/// back to back it could wait seconds. Taking turns on a fair (first come, first
/// served) lock instead, each waits for at most the transactions queued before it. On
/// PostgreSQL writers do not block each other, and nothing is taken.
#[derive(Clone, Default)]
pub struct WriteTurn(Arc<tokio::sync::Mutex<()>>);

impl WriteTurn {
    /// Waits for this writer's turn on `db` (SQLite); held until the guard drops.
    pub async fn take(&self, db: &DatabaseConnection) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if sea_orm::ConnectionTrait::get_database_backend(db) == sea_orm::DbBackend::Sqlite {
            Some(self.0.lock().await)
        } else {
            None
        }
    }
}
