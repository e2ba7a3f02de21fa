//! The OpenAI-compatible Chat Completions API, streamed (`POST {base}/chat/completions`,
//! `stream: true`). Works with OpenAI and the servers that copy it (vLLM, Ollama,
//! llama.cpp, LM Studio). Tool-call arguments arrive in pieces keyed by `index` and are
//! assembled before the call is reported.

use super::http::{error_text, Http};
use super::retry::{with_retries, Failure, Out};
use super::{
    count_prompt_tokens, count_tokens, tool_schema, ChatRequest, Message, Provider, ProviderError,
    StreamEvent, ToolCall,
};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// `model_settings` keys sent on as they are (the last three are vLLM/llama.cpp
/// sampling extras, sent only when an agent sets them).
const PASS_THROUGH: &[&str] = &[
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "stop",
    "seed",
    "response_format",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "logit_bias",
    "user",
    "top_k",
    "min_p",
    "repetition_penalty",
];

/// A provider speaking the Chat Completions wire format.
pub(crate) struct OpenAi {
    http: Http,
}

impl OpenAi {
    /// Over `http`.
    pub fn new(http: Http) -> Self {
        Self { http }
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(key) = self.http.cfg.key() {
            if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {key}")) {
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
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
        let resp = self
            .http
            .post("/chat/completions", self.headers(), body)
            .await?;
        let mut events = self.http.events(resp);
        let mut out = Out::new(tx);
        let mut turn = Turn::default();
        loop {
            let event = events.next().await.map_err(|e| out.fail(e))?;
            let Some(event) = event else {
                if turn.finished {
                    break;
                }
                return Err(out.fail(ProviderError::new(
                    ProviderError::PROVIDER_ERROR,
                    format!("{}: stream ended before [DONE]", self.http.name),
                )));
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                break;
            }
            if data.is_empty() {
                continue;
            }
            let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
                Failure::fatal(ProviderError::new(
                    ProviderError::INVALID_RESPONSE,
                    format!("{}: unreadable chunk ({e}): {}", self.http.name, clip(data)),
                ))
            })?;
            if let Some(error) = chunk.error {
                return Err(out.fail(ProviderError::new(
                    ProviderError::PROVIDER_ERROR,
                    format!(
                        "{}: {}",
                        self.http.name,
                        error_text(&json!({"error": error}).to_string())
                    ),
                )));
            }
            if let Some(usage) = chunk.usage {
                turn.usage = Some((usage.prompt_tokens, usage.completion_tokens));
            }
            // Only the first choice: agents never ask for `n > 1`.
            let Some(choice) = chunk
                .choices
                .into_iter()
                .find(|c| c.index.unwrap_or(0) == 0)
            else {
                continue;
            };
            let delta = choice.delta.unwrap_or_default();
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                turn.answer.push_str(&text);
                if !out.send(StreamEvent::Token(text)).await {
                    return Ok(());
                }
            }
            for (position, piece) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                turn.add_piece(position, piece);
            }
            if choice.finish_reason.is_some() {
                turn.finished = true;
                if !self.flush_calls(&mut turn, &mut out).await? {
                    return Ok(());
                }
            }
        }
        if !self.flush_calls(&mut turn, &mut out).await? {
            return Ok(());
        }
        let (input, output) = turn.usage.unwrap_or_else(|| {
            let args: String = turn.emitted.iter().map(|c| c.arguments.as_str()).collect();
            (
                count_prompt_tokens(req),
                count_tokens(&turn.answer) + count_tokens(&args),
            )
        });
        out.send(StreamEvent::Usage { input, output }).await;
        Ok(())
    }

    /// Sends the assembled tool calls; `Ok(false)` when the receiver is gone.
    async fn flush_calls(&self, turn: &mut Turn, out: &mut Out<'_>) -> Result<bool, Failure> {
        for (index, call) in std::mem::take(&mut turn.calls) {
            if call.name.is_empty() {
                return Err(Failure::fatal(ProviderError::new(
                    ProviderError::INVALID_RESPONSE,
                    format!("{}: tool call {index} has no function name", self.http.name),
                )));
            }
            let call = ToolCall {
                id: if call.id.is_empty() {
                    format!("call_{index}")
                } else {
                    call.id
                },
                name: call.name,
                arguments: if call.arguments.trim().is_empty() {
                    "{}".into()
                } else {
                    call.arguments
                },
            };
            turn.emitted.push(call.clone());
            if !out.send(StreamEvent::ToolCall(call)).await {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[async_trait::async_trait]
impl Provider for OpenAi {
    async fn stream(
        &self,
        req: ChatRequest,
        tx: mpsc::Sender<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let body = request_body(&req);
        let run = with_retries(&self.http.cfg, &self.http.name, || {
            self.attempt(&req, &body, &tx)
        });
        // A dropped receiver ends the call at once, wherever it is (waiting, retrying,
        // streaming); dropping the response closes the connection.
        tokio::select! {
            result = run => result,
            _ = tx.closed() => Ok(()),
        }
    }
}

/// The Chat Completions request for `req`.
fn request_body(req: &ChatRequest) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(message).collect();
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": tool_schema(t),
                }})
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    for key in PASS_THROUGH {
        if let Some(v) = req.settings.get(key).filter(|v| !v.is_null()) {
            body[*key] = v.clone();
        }
    }
    body
}

fn message(m: &Message) -> Value {
    match m {
        Message::System(text) => json!({"role": "system", "content": text}),
        Message::User(text) => json!({"role": "user", "content": text}),
        Message::Assistant {
            content,
            tool_calls,
        } if tool_calls.is_empty() => json!({"role": "assistant", "content": content}),
        Message::Assistant {
            content,
            tool_calls,
        } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
            let content = (!content.is_empty()).then_some(content);
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        Message::Tool {
            call_id, content, ..
        } => json!({"role": "tool", "tool_call_id": call_id, "content": content}),
    }
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// What one streamed answer has accumulated.
#[derive(Default)]
struct Turn {
    answer: String,
    /// Tool calls being assembled, by their `index`.
    calls: BTreeMap<u64, PartialCall>,
    emitted: Vec<ToolCall>,
    usage: Option<(u64, u64)>,
    finished: bool,
}

impl Turn {
    fn add_piece(&mut self, position: usize, piece: ToolCallDelta) {
        let index = piece.index.unwrap_or(position as u64);
        let call = self.calls.entry(index).or_default();
        // Some servers repeat the id and name in every piece: keep the first.
        if let Some(id) = piece.id.filter(|_| call.id.is_empty()) {
            call.id = id;
        }
        if let Some(f) = piece.function {
            if let Some(name) = f.name.filter(|_| call.name.is_empty()) {
                call.name = name;
            }
            if let Some(args) = f.arguments {
                call.arguments.push_str(&args);
            }
        }
    }
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    index: Option<u64>,
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    index: Option<u64>,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}
