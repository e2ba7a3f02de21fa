//! Typed configuration: defaults < optional TOML file < `ORCHSTACK_*` environment
//! (`__` nests), plus `DATABASE_URL` and `REDIS_URL` read as they are. Validated at boot.

use crate::runtime::providers::{default_provider_configs, ProviderConfig};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything the server can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// sea-orm database URL: SQLite by default, PostgreSQL when `postgres://`.
    pub database_url: String,
    /// PostgreSQL schema to use instead of `public` (tables are created there).
    pub database_schema: Option<String>,
    /// Redis URL for shared state between instances (optional).
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
    pub auth_cache_ttl_secs: u64,
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
    /// Model providers by name (the `provider` of `provider/model`).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Logging.
    pub log: LogConfig,
}

/// SQLite's durability setting (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// fsync the WAL at every commit: an acknowledged write survives power loss.
    #[default]
    Full,
    /// fsync only at checkpoints: consistent, but the last commits may be lost.
    Normal,
}

/// GraphQL query limits, checked before validation and execution (`graphql::cost`) on
/// every transport, except the response size, which is counted while executing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GraphqlConfig {
    /// Deepest selection nesting allowed.
    pub max_depth: usize,
    /// Largest operation cost allowed: each field costs 1, and the items of a paged
    /// list (`nodes`, `edges`) cost their page size (`first`/`last`, 20 by default) times.
    pub max_complexity: usize,
    /// Most fields a document may hold with every fragment spread expanded (each
    /// spread counted again): bounds the validation walk, which expands fragments.
    pub max_selections: usize,
    /// Most aliased fields in a document.
    pub max_aliases: usize,
    /// Most root fields in an operation (fragments expanded).
    pub max_root_fields: usize,
    /// Most fragment definitions in a document.
    pub max_fragments: usize,
    /// Most fragment spreads written in a document.
    pub max_spreads: usize,
    /// Largest response (or subscription event) in bytes of JSON, roughly; a larger
    /// one is refused with `response_too_large` instead of being sent.
    pub max_response_bytes: usize,
}

/// Run limits and the price table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RunsConfig {
    /// A run still going after this long ends `failed` with `timeout`.
    pub timeout_secs: u64,
    /// Model steps per run unless the agent's `model_settings.max_steps` says otherwise.
    pub max_steps: u32,
    /// Most model steps an agent may ask for in `model_settings.max_steps` (checked when
    /// saved; runs of agents saved with more are held to this).
    pub max_steps_limit: u32,
    /// How long a synchronous run request waits before answering 202.
    pub wait_timeout_secs: u64,
    /// How long cancelling a running run waits for it to end (ms) before answering
    /// with the run still going (REST: 202); 0 answers at once.
    pub cancel_wait_ms: u64,
    /// Price per million tokens by `provider/model` (e.g. `"openai/gpt-4o-mini"`);
    /// models not listed cost 0.
    pub prices: BTreeMap<String, Price>,
}

/// A model's price per million tokens.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
pub struct Price {
    /// Per million prompt tokens.
    pub input: f64,
    /// Per million completion tokens.
    pub output: f64,
}

impl RunsConfig {
    /// The cost of a model call.
    pub fn cost(&self, model: &str, input: u64, output: u64) -> f64 {
        self.prices
            .get(model)
            .map(|p| (p.input * input as f64 + p.output * output as f64) / 1e6)
            .unwrap_or(0.0)
    }
}

impl Default for RunsConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 300,
            max_steps: 8,
            max_steps_limit: 64,
            wait_timeout_secs: 30,
            cancel_wait_ms: 2_000,
            prices: BTreeMap::new(),
        }
    }
}

/// The run workers of this instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Execute runs on this instance.
    pub enabled: bool,
    /// Runs executed at once.
    pub concurrency: usize,
    /// A lease not renewed for this long is taken as its instance's death.
    pub lease_ttl_secs: u64,
    /// How often to look for work when not woken (other instances' runs).
    pub poll_interval_ms: u64,
    /// How often to look for runs whose lease expired.
    pub reap_interval_secs: u64,
    /// On shutdown, how long in-flight runs may take to finish.
    pub shutdown_grace_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            concurrency: 64,
            lease_ttl_secs: 30,
            poll_interval_ms: 500,
            reap_interval_secs: 5,
            shutdown_grace_secs: 20,
        }
    }
}

/// Caps on the streams one caller may hold open at once: REST and GraphQL SSE responses
/// and GraphQL WebSocket operations. Beyond them a stream is refused (429, or close 4429).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamsConfig {
    /// Open streams per API key.
    pub max_per_key: usize,
    /// Open streams per organisation (all its keys together).
    pub max_per_org: usize,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            max_per_key: 100,
            max_per_org: 1000,
        }
    }
}

/// Requests to URLs tenants give.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboundConfig {
    /// What tenants may reach besides public addresses: CIDRs (`10.0.0.0/8`), addresses
    /// (`127.0.0.1`), host names (`tools.internal`) or suffixes (`*.corp.example`).
    /// Cloud metadata addresses stay refused.
    pub allow: Vec<String>,
    /// Largest answer read, in bytes; a larger one is an error.
    pub max_response_bytes: usize,
    /// Longest timeout a tenant may set, in milliseconds.
    pub max_timeout_ms: u64,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            max_response_bytes: 1024 * 1024,
            max_timeout_ms: 60_000,
        }
    }
}

/// Stopping the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShutdownConfig {
    /// After the shutdown signal, how long open requests may take before the server stops
    /// anyway (streams are ended at the signal; this bounds everything else).
    pub timeout_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { timeout_secs: 10 }
    }
}

/// Limits on rendering a tenant's template.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplatesConfig {
    /// Instructions one render may execute (minijinja fuel).
    pub fuel: u64,
    /// Largest rendered text, in bytes.
    pub max_output_bytes: usize,
    /// How long a render may take, in milliseconds.
    pub timeout_ms: u64,
    /// Renders running at once on this instance (others wait for a slot), counted
    /// separately for plain templates (in the server) and sandboxed ones (processes).
    pub max_concurrent: usize,
    /// Memory a sandboxed render may use (its process's data limit), in bytes.
    pub max_memory_bytes: u64,
    /// The binary run as `<exe> render-template` for sandboxed renders; by default the
    /// running `orchstack` binary itself.
    pub sandbox_exe: Option<PathBuf>,
}

impl Default for TemplatesConfig {
    fn default() -> Self {
        Self {
            fuel: 200_000,
            max_output_bytes: 256 * 1024,
            timeout_ms: 2_000,
            max_concurrent: 4,
            max_memory_bytes: 256 * 1024 * 1024,
            sandbox_exe: None,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `json` (one object per line) or `pretty`.
    pub format: String,
    /// `tracing` filter directive, e.g. `info` or `orchstack=debug,info`.
    pub level: String,
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
            auth_cache_ttl_secs: 10,
            graphql: GraphqlConfig::default(),
            runs: RunsConfig::default(),
            worker: WorkerConfig::default(),
            streams: StreamsConfig::default(),
            shutdown: ShutdownConfig::default(),
            outbound: OutboundConfig::default(),
            templates: TemplatesConfig::default(),
            providers: default_provider_configs(),
            log: LogConfig::default(),
        }
    }
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 5000,
            max_selections: 2000,
            max_aliases: 100,
            max_root_fields: 50,
            max_fragments: 100,
            max_spreads: 500,
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

impl GraphqlConfig {
    /// Every limit must let a small query through; the response cap at least 1 KiB.
    fn validate(&self) -> anyhow::Result<()> {
        for (name, value, min) in [
            ("graphql.max_depth", self.max_depth, 1),
            ("graphql.max_complexity", self.max_complexity, 1),
            ("graphql.max_selections", self.max_selections, 1),
            ("graphql.max_aliases", self.max_aliases, 0),
            ("graphql.max_root_fields", self.max_root_fields, 1),
            ("graphql.max_fragments", self.max_fragments, 0),
            ("graphql.max_spreads", self.max_spreads, 0),
            ("graphql.max_response_bytes", self.max_response_bytes, 1024),
        ] {
            anyhow::ensure!(value >= min, "{name} must be at least {min}");
        }
        Ok(())
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "json".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    /// Loads the configuration from its layers and validates it.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::prefixed("ORCHSTACK_").split("__"))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]))
            .extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects values the server cannot run with, naming the setting.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"),
            "database_url must be an sqlite: or postgres:// URL"
        );
        if let Some(schema) = &self.database_schema {
            anyhow::ensure!(
                !schema.is_empty()
                    && schema
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "database_schema must be lower-case letters, digits and _"
            );
        }
        if let Some(key) = &self.bootstrap_key {
            anyhow::ensure!(
                crate::auth::keys::looks_like_key(key),
                "bootstrap_key must look like os_live_<at least 24 letters or digits>"
            );
        }
        anyhow::ensure!(
            self.body_limit_bytes >= 1024,
            "body_limit_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.db_max_connections >= 1,
            "db_max_connections must be at least 1"
        );
        self.graphql.validate()?;
        anyhow::ensure!(
            (1..=1_000_000).contains(&self.streams.max_per_key),
            "streams.max_per_key must be 1 to 1000000"
        );
        anyhow::ensure!(
            (self.streams.max_per_key..=1_000_000).contains(&self.streams.max_per_org),
            "streams.max_per_org must be at least streams.max_per_key and at most 1000000"
        );
        anyhow::ensure!(
            (1..=3600).contains(&self.shutdown.timeout_secs),
            "shutdown.timeout_secs must be 1 to 3600"
        );
        self.validate_limits()?;
        anyhow::ensure!(
            matches!(self.log.format.as_str(), "json" | "pretty"),
            "log.format must be json or pretty"
        );
        Ok(())
    }

    fn validate_limits(&self) -> anyhow::Result<()> {
        let runs = &self.runs;
        anyhow::ensure!(
            (1..=1_000).contains(&runs.max_steps_limit),
            "runs.max_steps_limit must be 1 to 1000"
        );
        anyhow::ensure!(
            (1..=runs.max_steps_limit).contains(&runs.max_steps),
            "runs.max_steps must be 1 to runs.max_steps_limit"
        );
        anyhow::ensure!(
            runs.cancel_wait_ms <= 60_000,
            "runs.cancel_wait_ms must be 0 to 60000"
        );
        crate::outbound::guard::Guard::new(&self.outbound.allow)
            .map_err(|e| anyhow::anyhow!("outbound.allow: {e}"))?;
        anyhow::ensure!(
            self.outbound.max_response_bytes >= 1024,
            "outbound.max_response_bytes must be at least 1024"
        );
        anyhow::ensure!(
            (1..=3_600_000).contains(&self.outbound.max_timeout_ms),
            "outbound.max_timeout_ms must be 1 to 3600000"
        );
        let t = &self.templates;
        anyhow::ensure!(t.fuel >= 1_000, "templates.fuel must be at least 1000");
        anyhow::ensure!(
            t.max_output_bytes >= 1024,
            "templates.max_output_bytes must be at least 1024"
        );
        anyhow::ensure!(
            (1..=60_000).contains(&t.timeout_ms),
            "templates.timeout_ms must be 1 to 60000"
        );
        anyhow::ensure!(
            (1..=1_024).contains(&t.max_concurrent),
            "templates.max_concurrent must be 1 to 1024"
        );
        anyhow::ensure!(
            (32 << 20..=64 << 30).contains(&t.max_memory_bytes),
            "templates.max_memory_bytes must be 32 MiB to 64 GiB"
        );
        if let Some(exe) = &t.sandbox_exe {
            anyhow::ensure!(
                exe.is_file(),
                "templates.sandbox_exe must be an existing file: {}",
                exe.display()
            );
        }
        Ok(())
    }

    /// True when the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}
