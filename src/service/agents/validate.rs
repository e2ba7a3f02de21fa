//! The rules an agent's fields must follow; every broken rule is reported at once, each
//! with a JSON pointer into the input.

use super::{AgentPatch, AgentRules, NewAgent};
use crate::error::{AppError, AppResult, FieldError};
use crate::outbound::OutboundError;
use serde_json::Value;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_INSTRUCTIONS: usize = 100_000;
const MAX_TOOLS: usize = 64;
const MAX_LIST: usize = 100;
const MAX_METADATA_KEYS: usize = 50;

struct Check<'a> {
    errors: Vec<FieldError>,
    rules: &'a AgentRules,
}

impl Check<'_> {
    fn fail(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, detail));
    }

    fn name(&mut self, name: &str) {
        let n = name.trim().chars().count();
        if n == 0 || n > MAX_NAME {
            self.fail("/name", format!("must be 1 to {MAX_NAME} characters"));
        }
    }

    fn description(&mut self, d: Option<&str>) {
        if d.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            self.fail(
                "/description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            );
        }
    }

    fn model(&mut self, model: &str) {
        let ok = model.split_once('/').is_some_and(|(provider, name)| {
            !provider.is_empty()
                && provider
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
                && !name.is_empty()
                && !name.chars().any(char::is_whitespace)
        }) && model.len() <= 200;
        if !ok {
            self.fail(
                "/model",
                "must be `provider/model`, e.g. `openai/gpt-4o-mini` or `mock/echo`",
            );
        }
    }

    fn object(&mut self, pointer: &str, v: &Value, max_keys: Option<usize>) {
        match v {
            Value::Object(map) if max_keys.is_some_and(|m| map.len() > m) => self.fail(
                pointer,
                format!("must have at most {} keys", max_keys.unwrap_or_default()),
            ),
            Value::Object(_) => {}
            _ => self.fail(pointer, "must be a JSON object"),
        }
    }

    fn instructions(&mut self, s: &str) {
        if s.chars().count() > MAX_INSTRUCTIONS {
            self.fail(
                "/instructions",
                format!("must be at most {MAX_INSTRUCTIONS} characters"),
            );
        } else if let Err(e) = crate::templates::check_syntax(s) {
            self.fail("/instructions", e.to_string());
        }
    }

    fn model_settings(&mut self, v: &Value) {
        self.object("/model_settings", v, None);
        let limit = self.rules.max_steps_limit;
        if let Some(steps) = v.get("max_steps") {
            if !steps
                .as_u64()
                .is_some_and(|n| (1..=u64::from(limit)).contains(&n))
            {
                self.fail(
                    "/model_settings/max_steps",
                    format!("must be an integer from 1 to {limit}"),
                );
            }
        }
    }

    fn tool_url(&mut self, pointer: String, url: Option<&str>) {
        let problem = match url.map(|u| self.rules.outbound.check_url(u)) {
            Some(Ok(_)) => return,
            None | Some(Err(OutboundError::InvalidUrl)) => {
                "must be an http:// or https:// URL with a host".to_owned()
            }
            Some(Err(e)) => e.describe("the"),
        };
        self.fail(pointer, problem);
    }

    fn tool_timeout(&mut self, pointer: String, v: &Value) {
        let max = self.rules.outbound.max_timeout().as_millis() as u64;
        if !v.as_u64().is_some_and(|ms| (1..=max).contains(&ms)) {
            self.fail(pointer, format!("must be an integer from 1 to {max} (ms)"));
        }
    }

    fn tool_parameters(&mut self, pointer: String, v: &Value) {
        if !v.is_object() {
            self.fail(pointer, "must be a JSON Schema object");
        } else if let Err(e) = jsonschema::validator_for(v) {
            self.fail(pointer, format!("is not a valid JSON Schema: {e}"));
        }
    }

    /// `requires_approval` (a boolean) and its `approval` settings: `timeout_s` from 1 to
    /// `gates.max_timeout`, `on_timeout` `reject` or `approve`, a bounded `prompt`.
    fn tool_approval(&mut self, i: usize, obj: &serde_json::Map<String, Value>) {
        use crate::runtime::tools::MAX_PROMPT;
        let at = |f: &str| format!("/tools/{i}{f}");
        let required = match obj.get("requires_approval") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.fail(at("/requires_approval"), "must be a boolean");
                false
            }
        };
        let Some(approval) = obj.get("approval") else {
            return;
        };
        let Some(fields) = approval.as_object() else {
            return self.fail(at("/approval"), "must be an object");
        };
        if !required {
            self.fail(
                at("/approval"),
                "applies only to a tool with `requires_approval: true`",
            );
        }
        let max = self.rules.max_gate_timeout.as_secs().max(1);
        for (key, v) in fields {
            let ok = match key.as_str() {
                "timeout_s" => v.as_u64().is_some_and(|s| (1..=max).contains(&s)),
                "on_timeout" => matches!(v.as_str(), Some("reject" | "approve")),
                "prompt" => v.as_str().is_some_and(|p| p.chars().count() <= MAX_PROMPT),
                _ => {
                    self.fail(at(&format!("/approval/{key}")), "is not an approval field");
                    continue;
                }
            };
            if !ok {
                let detail = match key.as_str() {
                    "timeout_s" => format!("must be an integer from 1 to {max} (seconds)"),
                    "on_timeout" => "must be `reject` or `approve`".to_owned(),
                    _ => format!("must be a string of at most {MAX_PROMPT} characters"),
                };
                self.fail(at(&format!("/approval/{key}")), detail);
            }
        }
    }

    fn strings(&mut self, pointer: &str, items: &[String]) {
        if items.len() > MAX_LIST {
            self.fail(pointer, format!("must have at most {MAX_LIST} items"));
        }
        for (i, s) in items.iter().enumerate() {
            if s.trim().is_empty() || s.len() > 200 {
                self.fail(format!("{pointer}/{i}"), "must be 1 to 200 characters");
            }
        }
    }

    /// A tool: `{"type": "http", "name": ..., "url": ..., "description"?, "parameters"?}`.
    fn tools(&mut self, tools: &[Value]) {
        if tools.len() > MAX_TOOLS {
            self.fail("/tools", format!("must have at most {MAX_TOOLS} tools"));
        }
        let mut names = Vec::new();
        for (i, tool) in tools.iter().enumerate() {
            let at = |f: &str| format!("/tools/{i}{f}");
            let Some(obj) = tool.as_object() else {
                self.fail(at(""), "must be an object");
                continue;
            };
            match obj.get("name").and_then(Value::as_str) {
                Some(n)
                    if !n.is_empty()
                        && n.len() <= 64
                        && n.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
                {
                    if names.contains(&n) {
                        self.fail(at("/name"), format!("`{n}` is used by another tool"));
                    }
                    names.push(n);
                }
                _ => self.fail(at("/name"), "must be 1 to 64 letters, digits, `_` or `-`"),
            }
            if obj.get("type").and_then(Value::as_str) != Some("http") {
                self.fail(at("/type"), "must be `http`");
            }
            self.tool_url(at("/url"), obj.get("url").and_then(Value::as_str));
            if let Some(ms) = obj.get("timeout_ms") {
                self.tool_timeout(at("/timeout_ms"), ms);
            }
            if let Some(d) = obj.get("description") {
                if !d.is_string() {
                    self.fail(at("/description"), "must be a string");
                }
            }
            if let Some(params) = obj.get("parameters") {
                self.tool_parameters(at("/parameters"), params);
            }
            self.tool_approval(i, obj);
            for key in obj.keys() {
                if ![
                    "name",
                    "type",
                    "url",
                    "description",
                    "parameters",
                    "timeout_ms",
                    "requires_approval",
                    "approval",
                ]
                .contains(&key.as_str())
                {
                    self.fail(at(&format!("/{key}")), "is not a tool field");
                }
            }
        }
    }

    fn done(self) -> AppResult<()> {
        AppError::from_field_errors(self.errors)
    }
}

pub(super) fn new_agent(rules: &AgentRules, a: &NewAgent) -> AppResult<()> {
    // A new agent is checked as the patch that would set every field it gives.
    patch(
        rules,
        &AgentPatch {
            name: Some(a.name.clone()),
            description: Some(a.description.clone()),
            model: Some(a.model.clone()),
            model_settings: a.model_settings.clone(),
            instructions: a.instructions.clone(),
            tools: a.tools.clone(),
            knowledge_ids: a.knowledge_ids.clone(),
            retrieval: a.retrieval,
            channels: a.channels.clone(),
            metadata: a.metadata.clone(),
        },
    )
}

pub(super) fn patch(rules: &AgentRules, a: &AgentPatch) -> AppResult<()> {
    let mut c = Check {
        errors: Vec::new(),
        rules,
    };
    if let Some(v) = &a.name {
        c.name(v);
    }
    if let Some(v) = &a.description {
        c.description(v.as_deref());
    }
    if let Some(v) = &a.model {
        c.model(v);
    }
    if let Some(v) = &a.model_settings {
        c.model_settings(v);
    }
    if let Some(v) = &a.instructions {
        c.instructions(v);
    }
    if let Some(v) = &a.tools {
        c.tools(v);
    }
    if let Some(v) = &a.knowledge_ids {
        c.strings("/knowledge_ids", v);
    }
    if let Some(r) = &a.retrieval {
        if !(1..=50).contains(&r.top_k) {
            c.errors
                .push(FieldError::new("/retrieval/top_k", "must be from 1 to 50"));
        }
        if !r.min_score.is_finite() {
            c.errors.push(FieldError::new(
                "/retrieval/min_score",
                "must be a finite number",
            ));
        }
    }
    if let Some(v) = &a.channels {
        c.strings("/channels", v);
    }
    if let Some(v) = &a.metadata {
        c.object("/metadata", v, Some(MAX_METADATA_KEYS));
    }
    c.done()
}
