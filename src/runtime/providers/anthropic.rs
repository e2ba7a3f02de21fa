//! The Anthropic Messages API, streamed (`POST {base}/v1/messages`, `stream: true`).
//! Text arrives as `text_delta`s; a `tool_use` block's input arrives as
//! `input_json_delta` pieces and is reported when the block stops.

use super::http::{error_text, Http};
use super::retry::{with_retries, Failure, Out};
use super::{
    count_prompt_tokens, count_tokens, tool_schema, ChatRequest, Message, Provider, ProviderError,
    StreamEvent, ToolCall,
};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// The API version this module speaks.
const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by the API; this is used when the agent sets none.
const DEFAULT_MAX_TOKENS: u64 = 1024;
/// `model_settings` keys sent on as they are.
const PASS_THROUGH: &[&str] = &[
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tool_choice",
    "metadata",
    "thinking",
];

/// A provider speaking the Messages wire format.
pub(crate) struct Anthropic {
    http: Http,
}

impl Anthropic {
    /// Over `http`.
    pub fn new(http: Http) -> Self {
        Self { http }
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        if let Some(mut value) = self
            .http
            .cfg
            .key()
            .and_then(|k| HeaderValue::from_str(k).ok())
        {
            value.set_sensitive(true);
            headers.insert("x-api-key", value);
        }
        headers
    }

    /// One request and its stream; `Ok` also when the receiver went away.
    async fn attempt(
        &self,
        req: &ChatRequest,
        body: &Value,
        tx: &mpsc::Sender<StreamEvent>,
    ) -> Result<(), Failure> {
        let resp = self.http.post("/v1/messages", self.headers(), body).await?;
        let mut events = self.http.events(resp);
        let mut out = Out::new(tx);
        let mut turn = Turn::default();
        loop {
            let Some(event) = events.next().await.map_err(|e| out.fail(e))? else {
                return Err(out.fail(ProviderError::new(
                    ProviderError::PROVIDER_ERROR,
                    format!("{}: stream ended before message_stop", self.http.name),
                )));
            };
            if event.data.trim().is_empty() {
                continue;
            }
            let data: Value = serde_json::from_str(&event.data).map_err(|e| {
                Failure::fatal(ProviderError::new(
                    ProviderError::INVALID_RESPONSE,
                    format!(
                        "{}: unreadable `{}` event: {e}",
                        self.http.name, event.event
                    ),
                ))
            })?;
            let kind = data["type"].as_str().unwrap_or(&event.event);
            let index = data["index"].as_u64().unwrap_or(0);
            let token = match kind {
                "message_start" => {
                    let usage = &data["message"]["usage"];
                    let input = [
                        "input_tokens",
                        "cache_creation_input_tokens",
                        "cache_read_input_tokens",
                    ]
                    .iter()
                    .filter_map(|k| usage[*k].as_u64())
                    .sum::<u64>();
                    turn.input = usage["input_tokens"].as_u64().map(|_| input);
                    turn.output = usage["output_tokens"].as_u64();
                    None
                }
                "content_block_start" => {
                    let block = &data["content_block"];
                    match block["type"].as_str() {
                        Some("tool_use") => {
                            let call = ToolCall {
                                id: block["id"].as_str().unwrap_or_default().to_string(),
                                name: block["name"].as_str().unwrap_or_default().to_string(),
                                arguments: String::new(),
                            };
                            turn.calls.insert(index, call);
                            None
                        }
                        Some("text") => block["text"].as_str().map(str::to_string),
                        _ => None,
                    }
                }
                "content_block_delta" => {
                    let delta = &data["delta"];
                    match delta["type"].as_str() {
                        Some("text_delta") => delta["text"].as_str().map(str::to_string),
                        Some("input_json_delta") => {
                            if let (Some(call), Some(piece)) =
                                (turn.calls.get_mut(&index), delta["partial_json"].as_str())
                            {
                                call.arguments.push_str(piece);
                            }
                            None
                        }
                        // thinking_delta, signature_delta, ...: not part of the answer.
                        _ => None,
                    }
                }
                "content_block_stop" => {
                    if let Some(mut call) = turn.calls.remove(&index) {
                        if call.arguments.trim().is_empty() {
                            call.arguments = "{}".into();
                        }
                        turn.call_text.push_str(&call.arguments);
                        if !out.send(StreamEvent::ToolCall(call)).await {
                            return Ok(());
                        }
                    }
                    None
                }
                "message_delta" => {
                    let usage = &data["usage"];
                    if let Some(output) = usage["output_tokens"].as_u64() {
                        turn.output = Some(output);
                    }
                    if let Some(input) = usage["input_tokens"].as_u64().filter(|i| *i > 0) {
                        turn.input = Some(input);
                    }
                    None
                }
                "message_stop" => break,
                "error" => {
                    let code = match data["error"]["type"].as_str() {
                        Some("rate_limit_error") => ProviderError::RATE_LIMITED,
                        _ => ProviderError::PROVIDER_ERROR,
                    };
                    let message = format!("{}: {}", self.http.name, error_text(&event.data));
                    return Err(out.fail(ProviderError::new(code, message)));
                }
                // ping, and event types added after this was written.
                _ => None,
            };
            if let Some(text) = token.filter(|t| !t.is_empty()) {
                turn.answer.push_str(&text);
                if !out.send(StreamEvent::Token(text)).await {
                    return Ok(());
                }
            }
        }
        let input = turn.input.unwrap_or_else(|| count_prompt_tokens(req));
        let output = turn
            .output
            .unwrap_or_else(|| count_tokens(&turn.answer) + count_tokens(&turn.call_text));
        out.send(StreamEvent::Usage { input, output }).await;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Provider for Anthropic {
    async fn stream(
        &self,
        req: ChatRequest,
        tx: mpsc::Sender<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let body = request_body(&req);
        let run = with_retries(&self.http.cfg, &self.http.name, || {
            self.attempt(&req, &body, &tx)
        });
        // See the OpenAI provider: a dropped receiver ends the call at once.
        tokio::select! {
            result = run => result,
            _ = tx.closed() => Ok(()),
        }
    }
}

/// What one streamed answer has accumulated.
#[derive(Default)]
struct Turn {
    answer: String,
    call_text: String,
    /// `tool_use` blocks being assembled, by block index.
    calls: BTreeMap<u64, ToolCall>,
    input: Option<u64>,
    output: Option<u64>,
}

/// The Messages request for `req`.
fn request_body(req: &ChatRequest) -> Value {
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System(text) if !text.is_empty() => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let max_tokens = req.settings["max_tokens"]
        .as_u64()
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let mut body = json!({
        "model": req.model,
        "max_tokens": max_tokens,
        "messages": messages(&req.messages),
        "stream": true,
    });
    if !system.is_empty() {
        body["system"] = Value::String(system.join("\n\n"));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": tool_schema(t)}))
            .collect();
        body["tools"] = Value::Array(tools);
    }
    for key in PASS_THROUGH {
        if let Some(v) = req.settings.get(key).filter(|v| !v.is_null()) {
            body[*key] = v.clone();
        }
    }
    // OpenAI's name for stop sequences, accepted for agents that move between the two.
    if body.get("stop_sequences").is_none() {
        match &req.settings["stop"] {
            Value::String(s) => body["stop_sequences"] = json!([s]),
            Value::Array(a) => body["stop_sequences"] = Value::Array(a.clone()),
            _ => {}
        }
    }
    body
}

/// The conversation as content blocks. Consecutive messages of one role are merged
/// (the API wants turns to alternate, and parallel tool results in one user turn);
/// empty text blocks are left out (the API rejects them).
fn messages(conversation: &[Message]) -> Vec<Value> {
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for m in conversation {
        let (role, blocks) = match m {
            Message::System(_) => continue,
            Message::User(text) => ("user", vec![text_block(text)]),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks = vec![text_block(content)];
                blocks.extend(tool_calls.iter().map(|c| {
                    // The API wants the input as an object, not as text.
                    let input = serde_json::from_str::<Value>(&c.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
                }));
                ("assistant", blocks)
            }
            Message::Tool {
                call_id, content, ..
            } => (
                "user",
                vec![json!({"type": "tool_result", "tool_use_id": call_id, "content": content})],
            ),
        };
        let blocks = blocks.into_iter().filter(|b| !b.is_null());
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks.collect())),
        }
    }
    turns
        .into_iter()
        .filter(|(_, blocks)| !blocks.is_empty())
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect()
}

/// A text block, or `null` (dropped) for empty text.
fn text_block(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        json!({"type": "text", "text": text})
    }
}
