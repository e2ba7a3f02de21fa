//! The one way a template is rendered, in the server (plain templates) and in the
//! sandbox process (everything else): the same minijinja settings, fuel and output cap.

use super::TemplateError;
use minijinja::{Environment, ErrorKind, Value};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Nesting allowed for macros, includes and recursive loops (minijinja's own default
/// is 500, deep enough to overflow a blocking thread's stack).
const RECURSION_LIMIT: usize = 100;

/// The environment every template compiles and renders in.
pub(super) fn environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(fuel));
    env.set_recursion_limit(RECURSION_LIMIT);
    env
}

/// Renders `source` with `context`: at most `fuel` instructions and `cap` bytes of
/// output; a write after `stop` is set fails (the caller's deadline passed).
pub(super) fn render(
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
pub(super) fn describe(e: &minijinja::Error) -> String {
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

    fn run(src: &str, fuel: u64, cap: usize) -> Result<String, TemplateError> {
        render(
            src,
            context! { name => "Ada" },
            fuel,
            cap,
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn a_template_renders_with_its_context() {
        assert_eq!(
            run("Hello {{ name }}!", 10_000, 1024).as_deref(),
            Ok("Hello Ada!")
        );
    }

    #[test]
    fn nested_loops_run_out_of_fuel() {
        let src =
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
        assert_eq!(run(src, 100_000, 1024), Err(TemplateError::OutOfFuel));
    }

    #[test]
    fn output_past_the_cap_is_refused() {
        let src = r#"{% for i in range(10) %}{{ "x" * 50000000 }}{% endfor %}"#;
        assert_eq!(
            run(src, 100_000, 64 * 1024),
            Err(TemplateError::TooLarge(64 * 1024))
        );
    }

    #[test]
    fn a_write_after_the_deadline_fails() {
        let out = render(
            "Hi {{ name }}",
            context! {},
            1_000,
            1024,
            &AtomicBool::new(true),
        );
        assert!(matches!(out, Err(TemplateError::Render(_))), "{out:?}");
    }
}
