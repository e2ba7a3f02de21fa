//! HTTP tools: the model's arguments are checked against the tool's JSON Schema, then
//! POSTed as JSON to the tool's URL through the outbound guard, with a timeout. Whatever goes wrong becomes an error
//! text the model sees in the next step; it never crashes the run.

use super::providers::ToolSpec;
use crate::outbound::Outbound;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Longest tool answer given to the model, in bytes.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;
/// Most of an error answer (non-2xx or not JSON) given to the model, in bytes.
pub const MAX_ERROR_BODY_BYTES: usize = 512;
/// Default tool timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// A tool as stored on an agent.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpTool {
    /// Tool name the model calls.
    pub name: String,
    /// What it does (for the model).
    #[serde(default)]
    pub description: String,
    /// Where to POST the arguments.
    pub url: String,
    /// JSON Schema of the arguments.
    #[serde(default)]
    pub parameters: Option<Value>,
    /// Timeout in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Whether a person must approve each call before it is made (an approval gate).
    #[serde(default)]
    pub requires_approval: bool,
    /// How the gate of a call waits (only with `requires_approval`).
    #[serde(default)]
    pub approval: Approval,
}

/// How an approval gate of a tool waits: `{"timeout_s", "on_timeout", "prompt"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Approval {
    /// Seconds the gate waits (`gates.default_timeout` when absent).
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// What expiry does: `reject` (the default) or `approve`.
    #[serde(default)]
    pub on_timeout: Option<String>,
    /// What the approver is asked.
    #[serde(default)]
    pub prompt: Option<String>,
}

/// What an expired gate does when its tool says nothing.
pub const DEFAULT_ON_TIMEOUT: &str = "reject";
/// Longest `approval.prompt`, in characters.
pub const MAX_PROMPT: usize = 2_000;

impl HttpTool {
    /// The tool as the model sees it.
    pub fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters: self
                .parameters
                .clone()
                .unwrap_or_else(|| serde_json::json!({ "type": "object", "properties": {} })),
        }
    }
}

/// The tools of an agent snapshot (malformed entries are skipped; agents are validated
/// when saved).
pub fn from_snapshot(tools: &Value) -> Vec<HttpTool> {
    tools
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| serde_json::from_value(t.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Calls a tool. `Ok` is the tool's JSON answer as text; `Err` says what went wrong,
/// naming the rule a refused URL broke; nothing a refused destination said comes back
/// (it is never contacted).
pub async fn call(outbound: &Outbound, tool: &HttpTool, arguments: &str) -> Result<String, String> {
    let args: Value = serde_json::from_str(if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    })
    .map_err(|e| format!("the arguments are not valid JSON: {e}"))?;
    if let Some(schema) = &tool.parameters {
        let validator = jsonschema::validator_for(schema)
            .map_err(|e| format!("the tool's parameter schema is invalid: {e}"))?;
        let problems: Vec<String> = validator
            .iter_errors(&args)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if !problems.is_empty() {
            return Err(format!(
                "the arguments do not match the tool's schema: {}",
                problems.join("; ")
            ));
        }
    }
    // Agents saved before the limit existed are held to it too (`post_json` caps it).
    let timeout = Duration::from_millis(tool.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS));
    let res = outbound
        .post_json(&tool.url, &args, timeout)
        .await
        .map_err(|e| e.describe("the tool"))?;
    let body = &res.body;
    if !(200..300).contains(&res.status) {
        return Err(format!(
            "the tool answered HTTP {}: {}",
            res.status,
            excerpt(body)
        ));
    }
    serde_json::from_slice::<Value>(body)
        .map_err(|_| format!("the tool's answer is not JSON: {}", excerpt(body)))?;
    Ok(String::from_utf8_lossy(&body[..body.len().min(MAX_RESULT_BYTES)]).into_owned())
}

/// The start of an answer, for an error the model sees.
fn excerpt(body: &[u8]) -> String {
    let mut text =
        String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY_BYTES)]).into_owned();
    if body.len() > MAX_ERROR_BODY_BYTES {
        text.push_str("...");
    }
    text
}
