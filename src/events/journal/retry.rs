//! Riding out a stalled database: which write errors are worth retrying, and the retry
//! loop with its deadline.
//!
//! Why: a batch holds the writes of many runs. A database that is locked or unreachable
//! for a few seconds (another process holding SQLite's write lock, a PostgreSQL
//! failover) must not cost those runs their events. So a batch that failed for such a
//! reason is retried whole, with backoff, for as long as the runs' leases allow (the
//! instance's heartbeats fail too, so past the lease TTL another instance may take
//! them). Anything else (a constraint violation: a run whose lease was lost) is not
//! retried here; the journal isolates it by writing the batch's parts one by one.

use super::write::{write, Parts, Written};
use crate::error::{AppError, AppResult};
use backon::{BackoffBuilder, ExponentialBuilder};
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};
use std::time::Duration;
use tokio::time::Instant;

/// Whether a failed write may succeed if tried again unchanged: the database was busy,
/// locked or unreachable, not the write itself wrong.
pub(super) fn is_transient(err: &AppError) -> bool {
    let AppError::Internal(err) = err else {
        return false;
    };
    let Some(db_err) = err.downcast_ref::<DbErr>() else {
        return false;
    };
    match db_err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_transient(e)
        }
        other => busy_text(&other.to_string()),
    }
}

fn sqlx_transient(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::PoolTimedOut | Error::Tls(_) | Error::Protocol(_) => true,
        Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // SQLite: BUSY (5) and LOCKED (6) and their extended codes. PostgreSQL:
            // serialization failure, deadlock, lock timeout, shutdown, too many
            // connections, and the connection-exception class 08.
            matches!(
                code.as_ref(),
                "5" | "6" | "261" | "262" | "517" | "773" | "40001" | "40P01" | "55P03"
            ) || code.starts_with("57P")
                || code.starts_with("53")
                || code.starts_with("08")
                || busy_text(db.message())
        }
        other => busy_text(&other.to_string()),
    }
}

fn busy_text(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("database is locked") || m.contains("database is busy")
}

/// Writes `parts` in one transaction, retrying transient failures with backoff until
/// `retry_for` has passed since the first attempt. The last error is returned when the
/// database did not come back in time, or at once when the error is not transient.
pub(super) async fn write_retrying(
    db: &DatabaseConnection,
    parts: &Parts<'_>,
    retry_for: Duration,
) -> AppResult<Written> {
    let deadline = Instant::now() + retry_for;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(2))
        .with_jitter()
        .without_max_times()
        .build();
    let mut attempt = 1u32;
    loop {
        let err = match write(db, parts).await {
            Err(err) if is_transient(&err) => err,
            done => {
                if attempt > 1 && done.is_ok() {
                    tracing::info!(
                        attempt,
                        "the database is writable again; the journal caught up"
                    );
                }
                return done;
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(err);
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(2)).min(left);
        tracing::warn!(error = %err, attempt, retry_in = ?delay, "a journal batch could not be written (the database is busy or unreachable); retrying");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}
