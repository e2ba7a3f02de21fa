//! Tells a plain template (text, comments and `{{ variable|filter }}` substitutions)
//! from one with logic. A plain template's work and memory are bounded by its length
//! times the size of its context, so the server renders it itself; anything else runs
//! in the sandbox process. The check is deliberately narrow: whatever it does not
//! recognise is not plain.

/// Filters whose output is bounded by their input's size.
const BOUNDED_FILTERS: &[&str] = &[
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "tojson",
    "length",
    "escape",
    "e",
    "safe",
];

/// Filters that may take one string or number literal (the fallback value).
const DEFAULT_FILTERS: &[&str] = &["default", "d"];

/// True when `source` has no statements and every expression is a variable path with
/// bounded filters.
pub fn is_plain(source: &str) -> bool {
    if source.contains("{%") {
        return false;
    }
    let mut rest = source;
    loop {
        let Some(start) = rest.find('{').map(|i| &rest[i..]) else {
            return true;
        };
        if let Some(comment) = start.strip_prefix("{#") {
            match comment.find("#}") {
                Some(end) => rest = &comment[end + 2..],
                None => return false,
            }
        } else if let Some(expr) = start.strip_prefix("{{") {
            match expression(expr) {
                Some(after) => rest = after,
                None => return false,
            }
        } else {
            rest = &start[1..];
        }
    }
}

/// Reads one plain expression body up to and including its `}}`; returns what follows.
fn expression(src: &str) -> Option<&str> {
    let mut s = Scanner(src);
    s.eat_any(&["-"]);
    s.path()?;
    while s.eat("|") {
        let name = s.ident()?;
        if DEFAULT_FILTERS.contains(&name) {
            if s.eat("(") {
                s.literal()?;
                s.expect(")")?;
            }
        } else if !BOUNDED_FILTERS.contains(&name) {
            return None;
        }
    }
    s.eat_any(&["-"]);
    s.expect("}}")?;
    Some(s.0)
}

/// A cursor over an expression that skips whitespace before every token.
struct Scanner<'a>(&'a str);

impl<'a> Scanner<'a> {
    fn skip_ws(&mut self) {
        self.0 = self.0.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        match self.0.strip_prefix(token) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    fn eat_any(&mut self, tokens: &[&str]) {
        // `-}}` must stay whole for `expect("}}")` when no `-` is meant.
        if self.0.starts_with("}}") {
            return;
        }
        for t in tokens {
            if self.eat(t) {
                return;
            }
        }
    }

    fn expect(&mut self, token: &str) -> Option<()> {
        self.eat(token).then_some(())
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let s = self.0;
        let first = s.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        self.0 = &s[end..];
        Some(&s[..end])
    }

    fn digits(&mut self) -> Option<()> {
        let end = self
            .0
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.0.len());
        (end > 0).then(|| self.0 = &self.0[end..])
    }

    /// `name`, then any of `.name`, `.0`, `["key"]`, `[0]`.
    fn path(&mut self) -> Option<()> {
        self.ident()?;
        loop {
            if self.0.starts_with('.') {
                self.0 = &self.0[1..];
                if self.digits().is_none() {
                    self.ident()?;
                }
            } else if self.eat("[") {
                self.skip_ws();
                if self.digits().is_none() {
                    self.string()?;
                }
                self.expect("]")?;
            } else {
                return Some(());
            }
        }
    }

    /// A string literal or a plain (optionally negative, optionally decimal) number.
    fn literal(&mut self) -> Option<()> {
        self.skip_ws();
        if self.string().is_some() {
            return Some(());
        }
        if let Some(rest) = self.0.strip_prefix('-') {
            self.0 = rest;
        }
        self.digits()?;
        if let Some(rest) = self.0.strip_prefix('.') {
            self.0 = rest;
            self.digits()?;
        }
        Some(())
    }

    /// A quoted string (`"..."` or `'...'`, backslash escapes).
    fn string(&mut self) -> Option<()> {
        let quote = self.0.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let mut escaped = false;
        for (i, c) in self.0.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                self.0 = &self.0[i + 1..];
                return Some(());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::is_plain;

    #[test]
    fn text_and_variable_substitutions_are_plain() {
        for src in [
            "",
            "Be brief.",
            "You book appointments for {{ user_id }}.",
            "{{user_id}} {{ metadata.plan }} {{ metadata[\"plan\"] }} {{ a[0] }} {{ a.0.b }}",
            "{{- input -}}",
            "{{ input|upper }} {{ input | trim | lower }} {{ metadata|tojson }}",
            "{{ channel|default(\"web\") }} {{ x|d('a }} b') }} {{ n|default(-1.5) }}",
            "{{ channel|default }}",
            "{# a comment with {{ inside #}Hi {{ user_id|e }}",
            "a { b } c }} d",
        ] {
            assert!(is_plain(src), "{src}");
        }
    }

    #[test]
    fn logic_and_unbounded_expressions_are_not_plain() {
        for src in [
            "{{ a ~ b }}",
            "{{ a * 3 }}",
            "{{ a + b }}",
            "{{ a|replace(\"x\", a) }}",
            "{{ a|join(a) }}",
            "{{ a }}{% raw %}",
            "{% if a %}x{% endif %}",
            "{# {% if a %} #}{{ a }}",
            "{{ \"x\" }}",
            "{{ 1 }}",
            "{{ a() }}",
            "{{ a.b() }}",
            "{{ a[b] }}",
            "{{ a|default(a) }}",
            "{{ a|default(\"x\" * 9) }}",
            "{{ a|upper(1) }}",
            "{{ a|tojson(indent=2) }}",
            "{{ a",
            "{# never closed",
            "{{ a }} {{ a[\"}}\" ~ b] }}",
            "{{ a if b else c }}",
            "{{ range(10) }}",
        ] {
            assert!(!is_plain(src), "{src}");
        }
    }
}
