//! The mock provider: deterministic, offline, free. For development, tests, benchmarks
//! and `os_test_` keys (which always get it). Never calls the network.
//!
//! Rules, by the model name after `mock/`:
//!
//! - **`mock/echo`** streams the last user message back. It is cut into tokens that
//!   keep every character: a cut falls after each run of whitespace, so
//!   `"hello big  world"` streams as `"hello "`, `"big  "`, `"world"`. Joining the
//!   tokens gives the message back exactly. No user message: no tokens.
//! - **`mock/tools`**: when the request offers tools and the conversation has no tool
//!   message after its last user message, it calls every offered tool once, in order,
//!   with ids `call_1`, `call_2`, ... and arguments built from the tool's JSON Schema
//!   `properties`: a `string` gets the last user message, a `number` or `integer` gets
//!   `1`, a `boolean` gets `true`, an `array` `[]`, an `object` `{}`, a property with an
//!   `enum` its first value, anything else `null`; a tool without properties gets `{}`.
//!   Otherwise it answers, streamed like echo, with `"Tool results: "` followed by
//!   `name: content` for each tool message after the last user message, joined by
//!   `"; "`.
//! - **any other name** behaves like `mock/echo`.
//!
//! With `model_settings.token_delay_ms` set, it sleeps that long between two events.
//! Usage is counted with [`count_tokens`](super::count_tokens): the whole prompt (and
//! tool specs) as input, the answer text or the tool-call arguments as output.

use super::{count_prompt_tokens, count_tokens, ChatRequest, Message, Provider, ProviderError};
use super::{StreamEvent, ToolCall, ToolSpec};
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// The offline provider (see the module docs for its rules).
#[derive(Debug, Clone, Copy, Default)]
pub struct MockProvider;

#[async_trait::async_trait]
impl Provider for MockProvider {
    async fn stream(
        &self,
        req: ChatRequest,
        tx: mpsc::Sender<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let delay = token_delay(&req.settings);
        let input = count_prompt_tokens(&req);
        let (events, output) = match req.model.as_str() {
            "tools" => match tool_calls(&req) {
                Some(calls) => {
                    let output = calls.iter().map(|c| count_tokens(&c.arguments)).sum();
                    (
                        calls.into_iter().map(StreamEvent::ToolCall).collect(),
                        output,
                    )
                }
                None => text_events(&tool_results(&req.messages)),
            },
            _ => text_events(last_user(&req.messages).unwrap_or_default()),
        };
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 && !delay.is_zero() {
                // Cancelled runs stop at once instead of sleeping out the answer.
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = tx.closed() => return Ok(()),
                }
            }
            if tx.send(event).await.is_err() {
                return Ok(());
            }
        }
        let _ = tx.send(StreamEvent::Usage { input, output }).await;
        Ok(())
    }
}

/// `text` cut into tokens after each run of whitespace; joined, they give `text` back.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if !c.is_whitespace() && in_space {
            tokens.push(std::mem::take(&mut current));
        }
        in_space = c.is_whitespace();
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn text_events(text: &str) -> (Vec<StreamEvent>, u64) {
    let events = tokenize(text).into_iter().map(StreamEvent::Token).collect();
    (events, count_tokens(text))
}

/// `model_settings.token_delay_ms` (a non-negative number), or zero.
fn token_delay(settings: &Value) -> Duration {
    settings
        .get("token_delay_ms")
        .and_then(Value::as_f64)
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .map(|ms| Duration::from_secs_f64(ms.min(60_000.0) / 1000.0))
        .unwrap_or_default()
}

fn last_user(messages: &[Message]) -> Option<&str> {
    messages.iter().rev().find_map(|m| match m {
        Message::User(text) => Some(text.as_str()),
        _ => None,
    })
}

/// The messages after the last user message (all of them when there is none).
fn current_turn(messages: &[Message]) -> &[Message] {
    let start = messages
        .iter()
        .rposition(|m| matches!(m, Message::User(_)))
        .map_or(0, |i| i + 1);
    &messages[start..]
}

/// The calls `mock/tools` makes, or `None` when it should answer instead.
fn tool_calls(req: &ChatRequest) -> Option<Vec<ToolCall>> {
    let answered = current_turn(&req.messages)
        .iter()
        .any(|m| matches!(m, Message::Tool { .. }));
    if answered || req.tools.is_empty() {
        return None;
    }
    let user = last_user(&req.messages).unwrap_or_default();
    let calls = req
        .tools
        .iter()
        .enumerate()
        .map(|(i, tool)| ToolCall {
            id: format!("call_{}", i + 1),
            name: tool.name.clone(),
            arguments: Value::Object(arguments(tool, user)).to_string(),
        })
        .collect();
    Some(calls)
}

/// Arguments for `tool` by the rule in the module docs.
fn arguments(tool: &ToolSpec, user: &str) -> Map<String, Value> {
    let Some(properties) = tool.parameters.get("properties").and_then(Value::as_object) else {
        return Map::new();
    };
    properties
        .iter()
        .map(|(name, schema)| (name.clone(), sample(schema, user)))
        .collect()
}

fn sample(schema: &Value, user: &str) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    // `type` may be a list such as ["string", "null"]: the first non-null one counts.
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "",
    };
    match ty {
        "string" => Value::String(user.to_string()),
        "number" | "integer" => Value::from(1),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(Vec::new()),
        "object" => Value::Object(Map::new()),
        _ => Value::Null,
    }
}

/// `"Tool results: a: x; b: y"` from the tool messages of the current turn.
fn tool_results(messages: &[Message]) -> String {
    let results: Vec<String> = current_turn(messages)
        .iter()
        .filter_map(|m| match m {
            Message::Tool { name, content, .. } => Some(format!("{name}: {content}")),
            _ => None,
        })
        .collect();
    format!("Tool results: {}", results.join("; "))
}
