//! Rendering tenants' templates.

use super::check::{bytes, Checks};
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Limits on rendering a tenant's template.
#[derive(Debug, Clone, Serialize, Deserialize, DocumentedFields)]
#[serde(default)]
pub struct TemplatesConfig {
    /// Instructions one render may execute (minijinja fuel).
    pub fuel: u64,
    /// Largest rendered text, in bytes.
    pub max_output_bytes: usize,
    /// How long a render may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
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
            timeout: Duration::from_secs(2),
            max_concurrent: 4,
            max_memory_bytes: 256 * 1024 * 1024,
            sandbox_exe: None,
        }
    }
}

impl TemplatesConfig {
    pub(super) fn check(&self, c: &mut Checks) {
        c.number("templates.fuel", self.fuel, 1_000, 1_000_000_000);
        let (min, max) = (1usize << 10, 1usize << 30);
        let range = format!("{} to {}", bytes(min as u64), bytes(max as u64));
        c.number_in(
            "templates.max_output_bytes",
            self.max_output_bytes,
            min,
            max,
            range,
        );
        let (ms, minute) = (Duration::from_millis(1), Duration::from_secs(60));
        c.duration("templates.timeout", self.timeout, ms, minute);
        c.number("templates.max_concurrent", self.max_concurrent, 1, 1_024);
        let (min, max) = (32u64 << 20, 64u64 << 30);
        let range = format!("{} to {}", bytes(min), bytes(max));
        c.number_in(
            "templates.max_memory_bytes",
            self.max_memory_bytes,
            min,
            max,
            range,
        );
        if let Some(exe) = &self.sandbox_exe {
            let detail = format!(": {}", exe.display());
            c.rule(
                "templates.sandbox_exe",
                exe.is_file(),
                "must be an existing file",
                detail,
            );
        }
    }
}
