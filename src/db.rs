//! Connecting to the database, migrating it, and the first-start bootstrap key.

use crate::config::Config;
use crate::service::{api_keys, orgs};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Opens the pool described by the configuration.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    connect_with(config, config.db_max_connections).await
}

/// [`connect`] with a pool of at most `max_connections`.
pub async fn connect_with(
    config: &Config,
    max_connections: u32,
) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(config.database_url.clone());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if !config.is_postgres() {
        // Per-connection settings, so every pooled connection gets them: WAL lets
        // readers proceed while one writer writes; busy_timeout makes writers queue
        // instead of failing with SQLITE_BUSY (a longer stall is the journal's to ride
        // out). FULL sync: under WAL, NORMAL keeps the database consistent but may lose
        // the last commits on power loss, and an acknowledged run must not vanish. The
        // journal's group commit makes the extra fsync per batch, not per write.
        let synchronous = match config.sqlite_synchronous {
            crate::config::SqliteSynchronous::Full => {
                sea_orm::sqlx::sqlite::SqliteSynchronous::Full
            }
            crate::config::SqliteSynchronous::Normal => {
                sea_orm::sqlx::sqlite::SqliteSynchronous::Normal
            }
        };
        opts.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(5))
                .synchronous(synchronous)
                .foreign_keys(true)
                .pragma("temp_store", "memory")
        });
    }
    if let (true, Some(schema)) = (config.is_postgres(), &config.database_schema) {
        opts.set_schema_search_path(schema.clone());
    }
    let db = Database::connect(opts).await?;
    Ok(db)
}

/// What this instance asked of its database.
#[derive(Debug, Default)]
pub struct DbStats {
    statements: AtomicU64,
    failed: AtomicU64,
}

impl DbStats {
    /// SQL statements sent so far (transaction control included).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Of those, the ones that failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// Counts every statement sent through `db` (and its clones made afterwards).
pub fn count_statements(db: &mut DatabaseConnection) -> Arc<DbStats> {
    let stats = Arc::new(DbStats::default());
    count_into(db, stats.clone());
    stats
}

/// Counts every statement sent through `db` into `counter` (another pool of the same
/// instance: the journal's).
pub fn count_into(db: &mut DatabaseConnection, counter: Arc<DbStats>) {
    db.set_metric_callback(move |info| {
        counter.statements.fetch_add(1, Ordering::Relaxed);
        if info.failed {
            counter.failed.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes instances that
/// start together migrate one after another.
pub async fn migrate(db: &DatabaseConnection, config: &Config) -> anyhow::Result<()> {
    if config.is_postgres() {
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7201144)")
            .await?;
        Migrator::up(&txn, None).await?;
        txn.commit().await?;
    } else {
        Migrator::up(db, None).await?;
    }
    Ok(())
}

/// On a database with no API key: creates the default organisation and its `*` admin
/// key, either the configured bootstrap key or a fresh one. Returns the key when it was
/// generated here, so the caller can show it once.
pub async fn bootstrap(db: &DatabaseConnection, config: &Config) -> anyhow::Result<Option<String>> {
    if api_keys::any_exist(db).await? {
        return Ok(None);
    }
    let txn = db.begin().await?;
    let org = orgs::create(&txn, "Default", orgs::Tier::Enterprise).await?;
    let new = api_keys::NewKey {
        name: "bootstrap admin".into(),
        scopes: vec!["*".into()],
        test: false,
    };
    let issued = api_keys::issue(&txn, &org.id, new, config.bootstrap_key.clone()).await?;
    txn.commit().await?;
    Ok(config.bootstrap_key.is_none().then_some(issued.secret))
}
