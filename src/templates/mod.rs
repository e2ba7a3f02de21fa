//! The one bounded renderer for tenants' templates (agent instructions now; workflow
//! expressions later), with minijinja fuel (instructions executed), a cap on the
//! rendered size and a deadline; a semaphore bounds how many run at once.
//!
//! Fuel counts instructions, not bytes: `{% set a = a ~ a %}` a few times takes any
//! amount of memory in a handful of instructions. So only a plain template (text and
//! `{{ variable|filter }}`, see [`plain`]), whose size bounds its work, renders in the
//! server, on the blocking pool. Anything with logic renders in a child process that
//! limits its own memory and CPU ([`sandbox`]); the deadline kills it.

mod child;
mod engine;
pub mod plain;
pub mod sandbox;

pub use child::main as sandbox_main;

use crate::config::TemplatesConfig;
use minijinja::Value;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Why a template did not render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateError {
    /// The template does not compile (line and detail).
    Syntax(String),
    /// It failed while rendering (an undefined filter, a bad operation, ...).
    Render(String),
    /// It executed more instructions than its fuel allows.
    OutOfFuel,
    /// Its output grew past this many bytes.
    TooLarge(usize),
    /// It did not finish within this many milliseconds.
    Timeout(u64),
    /// It needed more memory than this many bytes.
    TooMuchMemory(u64),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax(detail) => write!(f, "the template is not valid: {detail}"),
            Self::Render(detail) => write!(f, "the template failed: {detail}"),
            Self::OutOfFuel => f.write_str("the template ran out of fuel (it does too much work)"),
            Self::TooLarge(limit) => write!(f, "the template renders to more than {limit} bytes"),
            Self::Timeout(ms) => write!(f, "the template did not render within {ms} ms"),
            Self::TooMuchMemory(bytes) => write!(
                f,
                "the template used more memory than allowed ({} MiB)",
                bytes / (1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Checks that a template parses (for save time). Parsing only: compiling would fold
/// constant expressions, and `("x" * 100000000) ~ ...` would then take any amount of
/// memory in the server; the parser's work is bounded by the template's length.
// `SyntaxConfig` is a unit struct unless minijinja's `custom_syntax` is on.
#[allow(clippy::default_constructed_unit_structs)]
pub fn check_syntax(source: &str) -> Result<(), TemplateError> {
    minijinja::machinery::parse(
        source,
        "<string>",
        minijinja::syntax::SyntaxConfig::default(),
        minijinja::machinery::WhitespaceConfig::default(),
    )
    .map(|_| ())
    .map_err(|e| TemplateError::Syntax(engine::describe(&e)))
}

/// Plain templates up to this long render on the calling task: their work is bounded by
/// their length and the output cap (microseconds for a prompt), less than a hop to the
/// blocking pool and back, which every run would otherwise pay.
const INLINE_MAX_TEMPLATE_BYTES: usize = 4096;

/// The renderer with its limits and its slots; cheap to clone.
#[derive(Clone)]
pub struct Renderer {
    fuel: u64,
    max_output_bytes: usize,
    timeout: Duration,
    /// Plain renders in the server at once.
    slots: Arc<Semaphore>,
    /// Sandbox processes at once.
    sandboxes: Arc<Semaphore>,
    sandbox: Arc<sandbox::Sandbox>,
}

impl Renderer {
    /// A renderer with these limits; fails when the sandbox binary is missing.
    pub fn new(config: &TemplatesConfig) -> anyhow::Result<Self> {
        let exe = match &config.sandbox_exe {
            Some(path) => path.clone(),
            None => std::env::current_exe()?,
        };
        anyhow::ensure!(
            exe.is_file(),
            "templates.sandbox_exe: {} is not a file",
            exe.display()
        );
        Ok(Self {
            fuel: config.fuel,
            max_output_bytes: config.max_output_bytes,
            timeout: config.timeout,
            slots: Arc::new(Semaphore::new(config.max_concurrent)),
            sandboxes: Arc::new(Semaphore::new(config.max_concurrent)),
            sandbox: Arc::new(sandbox::Sandbox {
                exe,
                max_memory_bytes: config.max_memory_bytes,
                // The deadline kills the child first; this only backs it up.
                cpu_seconds: (config.timeout.as_millis() as u64).div_ceil(1000) + 1,
            }),
        })
    }

    /// Renders `source` with `context`, within the limits. Waits for a free slot first
    /// (the deadline starts once the render does).
    pub async fn render(&self, source: &str, context: Value) -> Result<String, TemplateError> {
        if plain::is_plain(source) {
            if source.len() <= INLINE_MAX_TEMPLATE_BYTES {
                let never = AtomicBool::new(false);
                return engine::render(source, context, self.fuel, self.max_output_bytes, &never);
            }
            self.render_in_process(source, context).await
        } else {
            self.render_sandboxed(source, context).await
        }
    }

    async fn render_in_process(
        &self,
        source: &str,
        context: Value,
    ) -> Result<String, TemplateError> {
        let slot = self.slots.clone().acquire_owned().await.map_err(closed)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (source, fuel, cap) = (source.to_owned(), self.fuel, self.max_output_bytes);
        let stopped = stop.clone();
        let task = tokio::task::spawn_blocking(move || {
            // The slot is given back when the render really ends, not at the deadline.
            let _slot = slot;
            engine::render(&source, context, fuel, cap, &stopped)
        });
        let timeout_ms = self.timeout.as_millis() as u64;
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(TemplateError::Render("the renderer failed".into())),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                Err(TemplateError::Timeout(timeout_ms))
            }
        }
    }

    async fn render_sandboxed(
        &self,
        source: &str,
        context: Value,
    ) -> Result<String, TemplateError> {
        let request = sandbox::Request {
            template: source.to_owned(),
            context: serde_json::to_value(&context)
                .map_err(|e| TemplateError::Render(format!("the context is not JSON: {e}")))?,
            fuel: self.fuel,
            max_output_bytes: self.max_output_bytes,
        };
        let _slot = self.sandboxes.acquire().await.map_err(closed)?;
        self.sandbox.render(&request, self.timeout).await
    }
}

fn closed(_: tokio::sync::AcquireError) -> TemplateError {
    TemplateError::Render("the renderer is shutting down".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_line() {
        let err = check_syntax("Hi\n{% if x %}\nno end").unwrap_err();
        let TemplateError::Syntax(detail) = err else {
            panic!("{err:?}")
        };
        assert!(detail.starts_with("line "), "{detail}");
        assert!(check_syntax("Hi {{ user_id }}").is_ok());
    }

    #[test]
    fn checking_syntax_does_not_evaluate_constants() {
        // Folded, this would be 60 GB.
        let huge = r#"("x" * 10000000000)"#;
        assert!(check_syntax(&format!("{{{{ {} }}}}", [huge; 6].join(" ~ "))).is_ok());
    }

    #[test]
    fn errors_cross_the_process_boundary_unchanged() {
        for e in [
            TemplateError::OutOfFuel,
            TemplateError::TooLarge(10),
            TemplateError::Render("x".into()),
        ] {
            let json = serde_json::to_string(&sandbox::Reply::Error(e.clone())).unwrap();
            let back: sandbox::Reply = serde_json::from_str(&json).unwrap();
            assert!(matches!(back, sandbox::Reply::Error(b) if b == e), "{json}");
        }
    }
}
