//! Model providers, chosen by the agent's model prefix (`<provider>/<model>`).
//!
//! - `openai/<model>` (or any provider configured with `kind = "openai"`): the
//!   OpenAI-compatible Chat Completions API, streamed, with tool calls. Base URL and key
//!   come from the provider's [`ProviderConfig`], so OpenAI, vLLM, Ollama, llama.cpp and
//!   LM Studio all work.
//! - `anthropic/<model>` (`kind = "anthropic"`): the Messages API, streamed, with tool use.
//! - `mock/<name>`: the deterministic offline provider for development and tests
//!   (see [`mock`] for its rules). Always available; `os_test_` keys get it whatever
//!   the agent says.
//!
//! A provider streams [`StreamEvent`]s into a channel: tokens as they arrive, each tool
//! call once its arguments are complete, then one usage report. 429, 5xx and connection
//! errors are retried with backoff and jitter, but only before the first event was sent
//! (a retry after that would duplicate tokens).

mod anthropic;
pub mod embeddings;
mod http;
pub mod mock;
mod openai;
mod retry;

pub use crate::config::providers::{
    default_provider_configs, ProviderConfig, ANTHROPIC_BASE_URL, OPENAI_BASE_URL,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// One model call: the conversation so far, the tools on offer and the agent's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model name after the provider prefix, e.g. `gpt-4o-mini`.
    pub model: String,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// The agent's `model_settings` (temperature, max_tokens, top_p, token_delay_ms for
    /// mock, ...); each provider passes on the keys its API knows.
    pub settings: serde_json::Value,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Instructions.
    System(String),
    /// What the user said.
    User(String),
    /// What the model said: text, tool calls or both.
    Assistant {
        /// The text (may be empty when the model only called tools).
        content: String,
        /// The tool calls it made.
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call.
    Tool {
        /// The [`ToolCall::id`] this answers.
        call_id: String,
        /// The tool's name.
        name: String,
        /// The result as text.
        content: String,
    },
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id, echoed back in the [`Message::Tool`] answer.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as JSON text, as the model produced it (`{}` when it gave none).
    pub arguments: String,
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    pub parameters: serde_json::Value,
}

/// What a provider streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A piece of answer text, as it arrived.
    Token(String),
    /// A complete tool call (its arguments fully assembled).
    ToolCall(ToolCall),
    /// Token counts of the call: the provider's own when it reports them, otherwise
    /// counted with [`count_tokens`]. Sent once, last.
    Usage {
        /// Prompt tokens.
        input: u64,
        /// Completion tokens.
        output: u64,
    },
}

/// Why a model call failed. `code` becomes the run's `error.code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// `provider_error`, `timeout`, `rate_limited`, `invalid_response` or
    /// `unknown_provider`.
    pub code: &'static str,
    /// What happened, including the provider's own status and message.
    pub message: String,
}

impl ProviderError {
    /// The provider failed (5xx, 4xx other than 429, connection refused, error event).
    pub const PROVIDER_ERROR: &'static str = "provider_error";
    /// No connection, response or chunk in time.
    pub const TIMEOUT: &'static str = "timeout";
    /// The provider kept answering 429.
    pub const RATE_LIMITED: &'static str = "rate_limited";
    /// The provider sent something that is not its documented format.
    pub const INVALID_RESPONSE: &'static str = "invalid_response";
    /// The model prefix names no configured provider.
    pub const UNKNOWN_PROVIDER: &'static str = "unknown_provider";

    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ProviderError {}

/// A model API.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Streams the answer to `req` into `tx` and returns `Ok(())` at its end. Returns
    /// `Ok(())` promptly, closing the connection, when the receiver is dropped.
    async fn stream(
        &self,
        req: ChatRequest,
        tx: mpsc::Sender<StreamEvent>,
    ) -> Result<(), ProviderError>;
}

/// Every configured provider by name, plus the built-in `mock`. Cheap to clone.
#[derive(Clone)]
pub struct Providers {
    by_name: BTreeMap<String, Result<Arc<dyn Provider>, String>>,
    mock: Arc<dyn Provider>,
}

impl Providers {
    /// Builds one provider per config entry. An entry that cannot be built (unknown
    /// `kind`) is kept as an error that [`Providers::resolve`] reports.
    pub fn new(configs: &BTreeMap<String, ProviderConfig>) -> Self {
        let mock: Arc<dyn Provider> = Arc::new(mock::MockProvider);
        let by_name = configs
            .iter()
            .map(|(name, cfg)| {
                let built: Result<Arc<dyn Provider>, String> = match cfg.kind.as_str() {
                    "openai" => http::Http::new(name, cfg)
                        .map(|h| Arc::new(openai::OpenAi::new(h)) as Arc<dyn Provider>),
                    "anthropic" => http::Http::new(name, cfg)
                        .map(|h| Arc::new(anthropic::Anthropic::new(h)) as Arc<dyn Provider>),
                    "mock" => Ok(mock.clone()),
                    other => Err(format!(
                        "provider `{name}` has unknown kind `{other}` (expected openai, anthropic or mock)"
                    )),
                };
                if let Err(e) = &built {
                    tracing::warn!(provider = %name, error = %e, "provider not usable");
                }
                (name.clone(), built)
            })
            .collect();
        Self { by_name, mock }
    }

    /// The provider for `model` (`<provider>/<model>`) and the model name to send it.
    /// With `test_mode` (an `os_test_` key) it is always the mock provider: `mock/echo`
    /// unless the model is already `mock/<name>`. `mock` is built in and cannot be
    /// replaced by configuration.
    pub fn resolve(
        &self,
        model: &str,
        test_mode: bool,
    ) -> Result<(Arc<dyn Provider>, String), ProviderError> {
        let split = model.split_once('/');
        if let Some(("mock", name)) = split {
            return Ok((self.mock.clone(), name.to_string()));
        }
        if test_mode {
            return Ok((self.mock.clone(), "echo".to_string()));
        }
        let Some((prefix, name)) = split.filter(|(p, n)| !p.is_empty() && !n.is_empty()) else {
            return Err(ProviderError::new(
                ProviderError::UNKNOWN_PROVIDER,
                format!("model `{model}` is not `provider/model`"),
            ));
        };
        match self.by_name.get(prefix) {
            Some(Ok(provider)) => Ok((provider.clone(), name.to_string())),
            Some(Err(why)) => Err(ProviderError::new(
                ProviderError::UNKNOWN_PROVIDER,
                why.clone(),
            )),
            None => Err(ProviderError::new(
                ProviderError::UNKNOWN_PROVIDER,
                format!(
                    "no provider `{prefix}` is configured (known: {})",
                    self.names().join(", ")
                ),
            )),
        }
    }

    /// The usable provider names, `mock` included.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_name
            .iter()
            .filter(|(_, p)| p.is_ok())
            .map(|(n, _)| n.clone())
            .collect();
        if !names.iter().any(|n| n == "mock") {
            names.push("mock".into());
        }
        names.sort();
        names
    }
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers")
            .field("names", &self.names())
            .finish()
    }
}

/// Number of tokens in `text` by the `cl100k_base` encoding (loaded once).
pub fn count_tokens(text: &str) -> u64 {
    static BPE: OnceLock<Option<tiktoken_rs::CoreBPE>> = OnceLock::new();
    match BPE.get_or_init(|| tiktoken_rs::cl100k_base().ok()) {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        // The encoding ships inside the crate, so this is unreachable in practice;
        // ~4 characters per token is the usual estimate.
        None => (text.chars().count() as u64).div_ceil(4),
    }
}

/// Prompt tokens of `req` by [`count_tokens`], for providers that report none.
pub(crate) fn count_prompt_tokens(req: &ChatRequest) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| match m {
            Message::System(t) | Message::User(t) => count_tokens(t),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                count_tokens(content)
                    + tool_calls
                        .iter()
                        .map(|c| count_tokens(&c.name) + count_tokens(&c.arguments))
                        .sum::<u64>()
            }
            Message::Tool { name, content, .. } => count_tokens(name) + count_tokens(content),
        })
        .sum();
    let tools: u64 = req
        .tools
        .iter()
        .map(|t| {
            count_tokens(&t.name)
                + count_tokens(&t.description)
                + count_tokens(&t.parameters.to_string())
        })
        .sum();
    messages + tools
}

/// The JSON Schema to send for a tool: its `parameters`, or an empty object schema
/// when it has none (both APIs reject a missing one).
pub(crate) fn tool_schema(spec: &ToolSpec) -> serde_json::Value {
    match &spec.parameters {
        serde_json::Value::Object(m) if !m.is_empty() => spec.parameters.clone(),
        _ => serde_json::json!({"type": "object", "properties": {}}),
    }
}
