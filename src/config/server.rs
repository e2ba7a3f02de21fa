//! The server's own sections: open streams, stopping, logging, SQLite durability.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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

/// Caps on the streams one caller may hold open at once: REST and GraphQL SSE responses
/// and GraphQL WebSocket operations. Beyond them a stream is refused (429, or close 4429).
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
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

impl StreamsConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        c.number("streams.max_per_key", self.max_per_key, 1, 1_000_000);
        c.number_in(
            "streams.max_per_org",
            self.max_per_org,
            self.max_per_key,
            1_000_000,
            "streams.max_per_key to 1000000".into(),
        );
    }
}

/// Stopping the server.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct ShutdownConfig {
    /// After the shutdown signal, how long open requests may take before the server stops
    /// anyway (streams are ended at the signal; this bounds everything else).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
        }
    }
}

impl ShutdownConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        let (second, hour) = (Duration::from_secs(1), Duration::from_secs(3600));
        c.duration("shutdown.timeout", self.timeout, second, hour);
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Log output.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct LogConfig {
    /// `json` (one object per line) or `pretty`.
    pub format: LogFormat,
    /// `tracing` filter directive, e.g. `info` or `orchstack=debug,info`
    /// (`RUST_LOG`, when set, wins).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}
