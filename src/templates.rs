//! The one bounded renderer for tenants' templates (agent instructions now; workflow
//! expressions later). A render runs on the blocking pool, never on an async worker,
//! with minijinja fuel (instructions executed), a cap on the rendered size and a
//! deadline; a semaphore bounds how many run at once, so slow templates cannot take
//! every thread.
//!
//! Fuel is what really bounds the CPU: a blocking thread cannot be stopped, and keeps
//! its slot until it ends, so the deadline only gives the caller its answer on time
//! (and stops a render at its next write).

use crate::config::TemplatesConfig;
use minijinja::{Environment, ErrorKind, Value};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Nesting allowed for macros, includes and recursive loops (minijinja's own default
/// is 500, deep enough to overflow a blocking thread's stack).
const RECURSION_LIMIT: usize = 100;

/// Why a template did not render.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax(detail) => write!(f, "the template is not valid: {detail}"),
            Self::Render(detail) => write!(f, "the template failed: {detail}"),
            Self::OutOfFuel => f.write_str("the template ran out of fuel (it does too much work)"),
            Self::TooLarge(limit) => write!(f, "the template renders to more than {limit} bytes"),
            Self::Timeout(ms) => write!(f, "the template did not render within {ms} ms"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Checks that a template compiles (for save time).
pub fn check_syntax(source: &str) -> Result<(), TemplateError> {
    environment(1)
        .template_from_str(source)
        .map(|_| ())
        .map_err(|e| TemplateError::Syntax(describe(&e)))
}

/// The renderer with its limits and its slots; cheap to clone.
#[derive(Clone)]
pub struct Renderer {
    fuel: u64,
    max_output_bytes: usize,
    timeout: Duration,
    slots: Arc<Semaphore>,
}

impl Renderer {
    /// A renderer with these limits.
    pub fn new(config: &TemplatesConfig) -> Self {
        Self {
            fuel: config.fuel,
            max_output_bytes: config.max_output_bytes,
            timeout: Duration::from_millis(config.timeout_ms),
            slots: Arc::new(Semaphore::new(config.max_concurrent)),
        }
    }

    /// Renders `source` with `context`, within the limits. Waits for a free slot first
    /// (the deadline starts once the render does).
    pub async fn render(&self, source: &str, context: Value) -> Result<String, TemplateError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| TemplateError::Render("the renderer is shutting down".into()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (source, fuel, cap) = (source.to_owned(), self.fuel, self.max_output_bytes);
        let stopped = stop.clone();
        let task = tokio::task::spawn_blocking(move || {
            // The slot is given back when the render really ends, not at the deadline.
            let _slot = slot;
            render_blocking(&source, context, fuel, cap, &stopped)
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
}

fn environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(fuel));
    env.set_recursion_limit(RECURSION_LIMIT);
    env
}

fn render_blocking(
    source: &str,
    context: Value,
    fuel: u64,
    cap: usize,
    stop: &AtomicBool,
) -> Result<String, TemplateError> {
    let env = environment(fuel);
    let template = env
        .template_from_str(source)
        .map_err(|e| TemplateError::Syntax(describe(&e)))?;
    let mut out = CappedWriter {
        buf: Vec::new(),
        cap,
        stop,
        overflowed: false,
    };
    let rendered = template.render_captured_to(context, &mut out).map(|_| ());
    match rendered {
        Ok(()) => String::from_utf8(out.buf)
            .map_err(|_| TemplateError::Render("the output is not UTF-8".into())),
        Err(_) if out.overflowed => Err(TemplateError::TooLarge(cap)),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(TemplateError::OutOfFuel),
        Err(e) => Err(TemplateError::Render(describe(&e))),
    }
}

/// `line N: detail`, without the template's name (always `<string>`).
fn describe(e: &minijinja::Error) -> String {
    let detail = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(line) => format!("line {line}: {detail}"),
        None => detail,
    }
}

/// Collects the output and refuses a write past the cap, or after the deadline.
struct CappedWriter<'a> {
    buf: Vec<u8>,
    cap: usize,
    stop: &'a AtomicBool,
    overflowed: bool,
}

impl io::Write for CappedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("past the deadline"));
        }
        if self.buf.len() + data.len() > self.cap {
            self.overflowed = true;
            return Err(io::Error::other("output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn renderer(fuel: u64, cap: usize) -> Renderer {
        Renderer::new(&TemplatesConfig {
            fuel,
            max_output_bytes: cap,
            timeout_ms: 2_000,
            max_concurrent: 2,
        })
    }

    #[tokio::test]
    async fn a_template_renders_with_its_context() {
        let out = renderer(10_000, 1024)
            .render("Hello {{ name }}!", context! { name => "Ada" })
            .await;
        assert_eq!(out.as_deref(), Ok("Hello Ada!"));
    }

    #[tokio::test]
    async fn nested_loops_run_out_of_fuel() {
        let src =
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
        let out = renderer(100_000, 1024).render(src, context! {}).await;
        assert_eq!(out, Err(TemplateError::OutOfFuel));
    }

    #[tokio::test]
    async fn output_past_the_cap_is_refused() {
        let src = r#"{% for i in range(10) %}{{ "x" * 50000000 }}{% endfor %}"#;
        let out = renderer(100_000, 64 * 1024).render(src, context! {}).await;
        assert_eq!(out, Err(TemplateError::TooLarge(64 * 1024)));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = check_syntax("Hi\n{% if x %}\nno end").unwrap_err();
        let TemplateError::Syntax(detail) = err else {
            panic!("{err:?}")
        };
        assert!(detail.starts_with("line "), "{detail}");
        assert!(check_syntax("Hi {{ user_id }}").is_ok());
    }
}
