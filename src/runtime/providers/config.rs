//! Per-provider configuration: which wire format, where, with which key, and how
//! patiently to wait and retry.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The public OpenAI API, used when an `openai` provider has no `base_url`.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The public Anthropic API, used when an `anthropic` provider has no `base_url`.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// One configured provider, keyed by the name used as the model prefix
/// (`<name>/<model>`). Every field has a default, so a config only needs what differs,
/// e.g. `ORCHSTACK_PROVIDERS__VLLM__BASE_URL=http://localhost:8000/v1`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ProviderConfig {
    /// Wire format: `openai` (Chat Completions: OpenAI, vLLM, Ollama, llama.cpp,
    /// LM Studio, ...), `anthropic` (Messages API) or `mock` (the offline provider).
    pub kind: String,
    /// API root: for `openai` the part before `/chat/completions` (e.g.
    /// `https://api.openai.com/v1`), for `anthropic` the part before `/v1/messages`.
    /// Empty means the kind's public API.
    pub base_url: String,
    /// Sent as `Authorization: Bearer` (openai) or `x-api-key` (anthropic); local
    /// servers usually need none.
    pub api_key: Option<String>,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout_ms: u64,
    /// Longest gap between two chunks of a response (and for the response headers).
    pub idle_timeout_ms: u64,
    /// Retries after the first attempt on 429, 5xx and connection errors (only while
    /// nothing has been streamed yet).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with jitter.
    pub retry_base_delay_ms: u64,
    /// Largest backoff delay between two attempts.
    pub retry_max_delay_ms: u64,
    /// Largest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after_ms: u64,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: "openai".into(),
            base_url: String::new(),
            api_key: None,
            connect_timeout_ms: 10_000,
            // Reasoning models can think for a long time before their first token.
            idle_timeout_ms: 120_000,
            max_retries: 3,
            retry_base_delay_ms: 500,
            retry_max_delay_ms: 8_000,
            max_retry_after_ms: 30_000,
        }
    }
}

impl ProviderConfig {
    /// A config of `kind` at `base_url` with every other field defaulted.
    pub fn new(kind: &str, base_url: &str) -> Self {
        Self {
            kind: kind.into(),
            base_url: base_url.into(),
            ..Self::default()
        }
    }

    /// `base_url` without a trailing `/`, or the kind's public API when empty.
    pub(crate) fn base(&self) -> String {
        let base = self.base_url.trim().trim_end_matches('/');
        match (base.is_empty(), self.kind.as_str()) {
            (false, _) => base.to_string(),
            (true, "anthropic") => ANTHROPIC_BASE_URL.to_string(),
            (true, _) => OPENAI_BASE_URL.to_string(),
        }
    }

    /// The API key, if one is set and not blank.
    pub(crate) fn key(&self) -> Option<&str> {
        self.api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }
}

// Hand-written so that the key never reaches a log line.
impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("idle_timeout_ms", &self.idle_timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("retry_base_delay_ms", &self.retry_base_delay_ms)
            .field("retry_max_delay_ms", &self.retry_max_delay_ms)
            .field("max_retry_after_ms", &self.max_retry_after_ms)
            .finish()
    }
}

/// The built-in providers: `openai` (the public API, key from `OPENAI_API_KEY`) and
/// `anthropic` (key from `ANTHROPIC_API_KEY`). `mock` needs no entry: it is always there.
pub fn default_provider_configs() -> BTreeMap<String, ProviderConfig> {
    let env_key = |name: &str| std::env::var(name).ok().filter(|k| !k.trim().is_empty());
    let mut configs = BTreeMap::new();
    configs.insert(
        "openai".to_string(),
        ProviderConfig {
            api_key: env_key("OPENAI_API_KEY"),
            ..ProviderConfig::new("openai", OPENAI_BASE_URL)
        },
    );
    configs.insert(
        "anthropic".to_string(),
        ProviderConfig {
            api_key: env_key("ANTHROPIC_API_KEY"),
            ..ProviderConfig::new("anthropic", ANTHROPIC_BASE_URL)
        },
    );
    configs
}
