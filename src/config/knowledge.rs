//! Knowledge bases: upload limits, indexing workers, search.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Knowledge bases (uploads, indexing, search).
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct KnowledgeConfig {
    /// Largest file (or JSON document's content) accepted by an upload; larger: 413.
    pub max_file_bytes: u64,
    /// Most files (or documents) in one upload request; more: 413.
    pub max_files: usize,
    /// Largest upload request body (all files together, with their encoding); larger: 413.
    pub max_request_bytes: u64,
    /// Where originals are kept: empty keeps them in the database; a directory keeps
    /// them there, one file per SHA-256 (shared by every instance, e.g. a network mount).
    pub blob_dir: String,
    /// Documents each instance indexes at once.
    pub concurrency: usize,
    /// How often an idle indexing worker looks for documents (commits on this instance
    /// wake it sooner).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Attempts at indexing a document before it is `failed`.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles per attempt.
    #[serde(with = "humantime_serde")]
    pub retry_base_delay: Duration,
    /// Texts sent to the embeddings provider in one request.
    pub embedding_batch: usize,
    /// Longest wait for one embeddings request.
    #[serde(with = "humantime_serde")]
    pub embedding_timeout: Duration,
    /// Memory for the vectors kept for semantic search (every base's, least recently
    /// searched dropped first), in MiB; 384-dimension vectors take about 1.5 MiB per
    /// 1,000 chunks.
    pub vector_cache_mib: u64,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 25 * 1024 * 1024,
            max_files: 100,
            max_request_bytes: 100 * 1024 * 1024,
            blob_dir: String::new(),
            concurrency: 2,
            poll_interval: Duration::from_secs(2),
            max_attempts: 3,
            retry_base_delay: Duration::from_secs(2),
            embedding_batch: 64,
            embedding_timeout: Duration::from_secs(60),
            vector_cache_mib: 1024,
        }
    }
}

impl KnowledgeConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        let (kib, gib) = (1024u64, 1024u64 * 1024 * 1024);
        c.number("knowledge.max_file_bytes", self.max_file_bytes, kib, gib);
        c.number("knowledge.max_files", self.max_files, 1, 10_000);
        c.number(
            "knowledge.max_request_bytes",
            self.max_request_bytes,
            kib,
            4 * gib,
        );
        c.number("knowledge.concurrency", self.concurrency, 1, 256);
        let (ms, hour) = (Duration::from_millis(10), Duration::from_secs(3600));
        c.duration("knowledge.poll_interval", self.poll_interval, ms, hour);
        c.number("knowledge.max_attempts", self.max_attempts, 1, 100);
        c.duration(
            "knowledge.retry_base_delay",
            self.retry_base_delay,
            Duration::ZERO,
            hour,
        );
        c.number("knowledge.embedding_batch", self.embedding_batch, 1, 2048);
        let sec = Duration::from_secs(1);
        c.duration(
            "knowledge.embedding_timeout",
            self.embedding_timeout,
            sec,
            hour,
        );
        c.number(
            "knowledge.vector_cache_mib",
            self.vector_cache_mib,
            1,
            1024 * 1024,
        );
    }
}
