//! Typed configuration: defaults < optional TOML file < `ORCHSTACK_*` environment
//! (`__` nests), plus `DATABASE_URL` and `REDIS_URL` read as they are. Validated at boot.
//!
//! One file per section. Each field's `///` doc and each section's `check` (its
//! ranges) are the one source of both the boot errors and the commented example file
//! (`orchstack config defaults`, committed as `orchstack.example.toml`).

mod check;
mod example;
mod gates;
mod graphql;
mod idempotency;
mod knowledge;
mod load;
mod outbound;
pub mod providers;
mod rate_limits;
mod renamed;
mod runs;
mod server;
mod templates;
mod webhooks;

pub use example::example_toml;
pub use gates::GatesConfig;
pub use graphql::GraphqlConfig;
pub use idempotency::IdempotencyConfig;
pub use knowledge::KnowledgeConfig;
pub use load::Loaded;
pub use outbound::OutboundConfig;
pub use providers::{default_provider_configs, ProviderConfig};
pub use rate_limits::{RateLimitsConfig, TierLimit};
pub use renamed::{Renamed, Unit, RENAMED};
pub use runs::{Price, RunsConfig, WorkerConfig};
pub use server::{LogConfig, LogFormat, ShutdownConfig, SqliteSynchronous, StreamsConfig};
pub use templates::TemplatesConfig;
pub use webhooks::WebhooksConfig;

use check::{bytes, Checks};
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Everything the server can be told.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// sea-orm database URL: SQLite by default, PostgreSQL when `postgres://`
    /// (`DATABASE_URL` also sets it).
    pub database_url: String,
    /// PostgreSQL schema to use instead of `public` (tables are created there).
    pub database_schema: Option<String>,
    /// Redis URL for shared state between instances (optional; `REDIS_URL` also sets it).
    pub redis_url: Option<String>,
    /// When set and the database has no API key yet, the default organisation is
    /// created with this as its `*`-scoped admin key.
    pub bootstrap_key: Option<String>,
    /// Run pending migrations at start-up.
    pub migrate_on_start: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Largest number of database connections in the pool.
    pub db_max_connections: u32,
    /// SQLite's `synchronous` setting: `full` (the default) never loses an acknowledged
    /// commit on power loss; `normal` fsyncs less and may lose the last ones.
    pub sqlite_synchronous: SqliteSynchronous,
    /// How long a verified API key is trusted without asking the database again
    /// (revocation on the same instance is immediate; other instances see it after this).
    #[serde(with = "humantime_serde")]
    pub auth_cache_ttl: Duration,
    /// GraphQL limits.
    pub graphql: GraphqlConfig,
    /// Run limits and prices.
    pub runs: RunsConfig,
    /// The run workers of this instance.
    pub worker: WorkerConfig,
    /// Caps on open streams (SSE and WebSocket operations).
    pub streams: StreamsConfig,
    /// Stopping the server.
    pub shutdown: ShutdownConfig,
    /// Requests to URLs tenants give (HTTP tools).
    pub outbound: OutboundConfig,
    /// Rendering tenants' templates (agent instructions).
    pub templates: TemplatesConfig,
    /// Approval gates.
    pub gates: GatesConfig,
    /// Outgoing webhooks.
    pub webhooks: WebhooksConfig,
    /// Per-organisation rate limits.
    pub rate_limits: RateLimitsConfig,
    /// Idempotency keys.
    pub idempotency: IdempotencyConfig,
    /// Knowledge bases: uploads, indexing, search.
    pub knowledge: KnowledgeConfig,
    /// Model providers by name (the `provider` of `provider/model`); `mock` is always
    /// there. `api_key` defaults to `OPENAI_API_KEY` / `ANTHROPIC_API_KEY`.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Logging.
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://orchstack.db?mode=rwc".into(),
            database_schema: None,
            redis_url: None,
            bootstrap_key: None,
            migrate_on_start: true,
            body_limit_bytes: 1024 * 1024,
            db_max_connections: 16,
            sqlite_synchronous: SqliteSynchronous::default(),
            auth_cache_ttl: Duration::from_secs(10),
            graphql: GraphqlConfig::default(),
            runs: RunsConfig::default(),
            worker: WorkerConfig::default(),
            streams: StreamsConfig::default(),
            shutdown: ShutdownConfig::default(),
            outbound: OutboundConfig::default(),
            templates: TemplatesConfig::default(),
            gates: GatesConfig::default(),
            webhooks: WebhooksConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            idempotency: IdempotencyConfig::default(),
            knowledge: KnowledgeConfig::default(),
            providers: default_provider_configs(),
            log: LogConfig::default(),
        }
    }
}

impl Config {
    /// Rejects values the server cannot run with, naming each setting and its range.
    /// `outbound.allow` is parsed, and so checked, by `Outbound::new` at boot.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut checks = Checks::default();
        self.check(&mut checks);
        checks.into_result()
    }

    /// Every section's checks, in the order of the file.
    fn check(&self, c: &mut Checks) {
        c.rule(
            "database_url",
            self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"),
            "must be an sqlite: or postgres:// URL",
            "",
        );
        if let Some(schema) = &self.database_schema {
            let ok = !schema.is_empty()
                && schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            c.rule(
                "database_schema",
                ok,
                "must be lower-case letters, digits and _",
                "",
            );
        }
        if let Some(key) = &self.bootstrap_key {
            c.rule(
                "bootstrap_key",
                crate::ids::looks_like_key(key),
                "must look like os_live_<at least 24 letters or digits>",
                "",
            );
        }
        let (min, max) = (1usize << 10, 1usize << 30);
        let range = format!("{} to {}", bytes(min as u64), bytes(max as u64));
        c.number_in("body_limit_bytes", self.body_limit_bytes, min, max, range);
        c.number("db_max_connections", self.db_max_connections, 1, 1_000);
        let hour = Duration::from_secs(3600);
        c.duration("auth_cache_ttl", self.auth_cache_ttl, Duration::ZERO, hour);
        self.graphql.check(c);
        self.runs.check(c);
        self.worker.check(c);
        self.streams.check(c);
        self.shutdown.check(c);
        self.outbound.check(c);
        self.templates.check(c);
        self.gates.check(c);
        self.webhooks.check(c);
        self.rate_limits.check(c);
        self.idempotency.check(c);
        self.knowledge.check(c);
        for (name, provider) in &self.providers {
            provider.check(name, c);
        }
    }

    /// True when the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}
