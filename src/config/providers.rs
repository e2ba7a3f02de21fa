//! Per-provider configuration: which wire format, where, with which key, and how
//! patiently to wait and retry.

use super::check::Checks;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The public OpenAI API, used when an `openai` provider has no `base_url`.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The public Anthropic API, used when an `anthropic` provider has no `base_url`.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// One configured provider, keyed by the name used as the model prefix
/// (`<name>/<model>`). Every field has a default, so a config only needs what differs,
/// e.g. `ORCHSTACK_PROVIDERS__VLLM__BASE_URL=http://localhost:8000/v1`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, DocumentedFields)]
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
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest gap between two chunks of a response (and for the response headers).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Retries after the first attempt on 429, 5xx and connection errors (only while
    /// nothing has been streamed yet).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with jitter.
    #[serde(with = "humantime_serde")]
    pub retry_base_delay: Duration,
    /// Largest backoff delay between two attempts.
    #[serde(with = "humantime_serde")]
    pub retry_max_delay: Duration,
    /// Largest `Retry-After` honoured; a longer one is cut to this.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: "openai".into(),
            base_url: String::new(),
            api_key: None,
            connect_timeout: Duration::from_secs(10),
            // Reasoning models can think for a long time before their first token.
            idle_timeout: Duration::from_secs(120),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            retry_max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
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
    pub fn base(&self) -> String {
        let base = self.base_url.trim().trim_end_matches('/');
        match (base.is_empty(), self.kind.as_str()) {
            (false, _) => base.to_string(),
            (true, "anthropic") => ANTHROPIC_BASE_URL.to_string(),
            (true, _) => OPENAI_BASE_URL.to_string(),
        }
    }

    /// The API key, if one is set and not blank.
    pub fn key(&self) -> Option<&str> {
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
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_base_delay", &self.retry_base_delay)
            .field("retry_max_delay", &self.retry_max_delay)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}

/// The built-in providers: `openai` (the public API, key from `OPENAI_API_KEY`) and
/// `anthropic` (key from `ANTHROPIC_API_KEY`). `mock` needs no entry: it is always there.
pub fn default_provider_configs() -> BTreeMap<String, ProviderConfig> {
    let env_key = |name: &str| std::env::var(name).ok().filter(|k| !k.trim().is_empty());
    let mut configs = builtin_providers();
    for (name, var) in [
        ("openai", "OPENAI_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
    ] {
        if let Some(cfg) = configs.get_mut(name) {
            cfg.api_key = env_key(var);
        }
    }
    configs
}

/// The built-in providers without keys: what the example file shows, whatever the
/// environment holds.
pub(crate) fn builtin_providers() -> BTreeMap<String, ProviderConfig> {
    BTreeMap::from([
        (
            "openai".to_string(),
            ProviderConfig::new("openai", OPENAI_BASE_URL),
        ),
        (
            "anthropic".to_string(),
            ProviderConfig::new("anthropic", ANTHROPIC_BASE_URL),
        ),
    ])
}

impl ProviderConfig {
    /// Range checks, under `providers.<name>`.
    pub(crate) fn check(&self, name: &str, c: &mut Checks) {
        let key = |field: &str| format!("providers.{name}.{field}");
        let (ms, hour) = (Duration::from_millis(1), Duration::from_secs(3600));
        c.duration(
            &key("connect_timeout"),
            self.connect_timeout,
            ms,
            Duration::from_secs(600),
        );
        c.duration(&key("idle_timeout"), self.idle_timeout, ms, hour);
        c.number(&key("max_retries"), self.max_retries, 0, 20);
        c.duration(
            &key("retry_base_delay"),
            self.retry_base_delay,
            Duration::ZERO,
            Duration::from_secs(600),
        );
        c.duration(
            &key("retry_max_delay"),
            self.retry_max_delay,
            Duration::ZERO,
            hour,
        );
        c.duration(
            &key("max_retry_after"),
            self.max_retry_after,
            Duration::ZERO,
            hour,
        );
    }
}
