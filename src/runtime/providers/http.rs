//! The HTTP side shared by the wire formats: one reqwest client per provider, request
//! sending with status classification, and a server-sent-event reader with an idle
//! timeout between chunks.

use super::retry::Failure;
use super::ProviderError;
use crate::config::ProviderConfig;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use std::pin::Pin;
use std::time::Duration;

/// Longest provider error text kept in a message.
const MAX_ERROR_TEXT: usize = 500;

/// A configured provider's HTTP client and settings.
pub(crate) struct Http {
    /// The configured provider name, for messages.
    pub name: String,
    /// Its configuration.
    pub cfg: ProviderConfig,
    /// Its API root without a trailing `/`.
    pub base: String,
    client: reqwest::Client,
}

impl Http {
    /// A client with the provider's connect timeout.
    pub fn new(name: &str, cfg: &ProviderConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("orchstack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("provider `{name}`: cannot build HTTP client: {e}"))?;
        Ok(Self {
            name: name.to_string(),
            base: cfg.base(),
            cfg: cfg.clone(),
            client,
        })
    }

    /// Gap allowed between two chunks.
    pub fn idle(&self) -> Duration {
        self.cfg.idle_timeout
    }

    /// POSTs `body` as JSON to `{base}{path}` and returns the response once its status
    /// is a success; any other status becomes a [`Failure`] carrying the provider's
    /// own error message.
    pub async fn post(
        &self,
        path: &str,
        headers: HeaderMap,
        body: &serde_json::Value,
    ) -> Result<Response, Failure> {
        let url = format!("{}{path}", self.base);
        let send = self.client.post(&url).headers(headers).json(body).send();
        // Headers must come within the connect timeout plus one idle gap.
        let wait = self.cfg.connect_timeout + self.idle();
        let resp = match tokio::time::timeout(wait, send).await {
            Err(_) => {
                return Err(Failure::fatal(ProviderError::new(
                    ProviderError::TIMEOUT,
                    format!(
                        "{}: no response from {url} within {} ms",
                        self.name,
                        wait.as_millis()
                    ),
                )))
            }
            Ok(Err(e)) => return Err(self.send_failure(&url, e)),
            Ok(Ok(resp)) => resp,
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = retry_after(resp.headers());
        let text = match tokio::time::timeout(self.idle(), resp.text()).await {
            Ok(Ok(text)) => error_text(&text),
            _ => String::new(),
        };
        let message = if text.is_empty() {
            format!("{}: HTTP {status}", self.name)
        } else {
            format!("{}: HTTP {status}: {text}", self.name)
        };
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => Failure {
                error: ProviderError::new(ProviderError::RATE_LIMITED, message),
                retryable: true,
                retry_after,
            },
            s if s.is_server_error() => Failure {
                error: ProviderError::new(ProviderError::PROVIDER_ERROR, message),
                retryable: true,
                retry_after,
            },
            _ => Failure::fatal(ProviderError::new(ProviderError::PROVIDER_ERROR, message)),
        })
    }

    /// Classifies an error from sending: connection errors may be retried.
    fn send_failure(&self, url: &str, e: reqwest::Error) -> Failure {
        let code = if e.is_timeout() {
            ProviderError::TIMEOUT
        } else {
            ProviderError::PROVIDER_ERROR
        };
        let retryable = e.is_connect();
        let error = ProviderError::new(
            code,
            format!(
                "{}: request to {url} failed: {}",
                self.name,
                chain(&e.without_url())
            ),
        );
        Failure {
            error,
            retryable,
            retry_after: None,
        }
    }

    /// The response body as server-sent events, failing with `timeout` when no chunk
    /// arrives within the idle timeout.
    pub fn events(&self, resp: Response) -> Events {
        let idle = self.idle();
        let bytes = resp.bytes_stream();
        // Time each network chunk, not each event: keep-alive comments count as life.
        let timed = futures::stream::unfold(Some(Box::pin(bytes)), move |state| async move {
            let mut bytes = state?;
            match tokio::time::timeout(idle, bytes.next()).await {
                Err(_) => Some((Err(ChunkError::Idle), None)),
                Ok(None) => None,
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(bytes))),
                Ok(Some(Err(e))) => Some((Err(ChunkError::Transport(chain(&e))), None)),
            }
        });
        Events {
            inner: Box::pin(timed.eventsource()),
            name: self.name.clone(),
            idle_ms: self.cfg.idle_timeout.as_millis(),
        }
    }
}

/// Why the byte stream stopped early.
#[derive(Debug)]
enum ChunkError {
    Idle,
    Transport(String),
}

type EventResult = Result<Event, EventStreamError<ChunkError>>;

/// A response's server-sent events (see [`Http::events`]).
pub(crate) struct Events {
    inner: Pin<Box<dyn Stream<Item = EventResult> + Send>>,
    name: String,
    idle_ms: u128,
}

impl Events {
    /// The next event, `None` at the end of the body.
    pub async fn next(&mut self) -> Result<Option<Event>, ProviderError> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Ok(event)) => Ok(Some(event)),
            Some(Err(EventStreamError::Transport(ChunkError::Idle))) => Err(ProviderError::new(
                ProviderError::TIMEOUT,
                format!(
                    "{}: stream stalled: no data for {} ms",
                    self.name, self.idle_ms
                ),
            )),
            Some(Err(EventStreamError::Transport(ChunkError::Transport(e)))) => {
                Err(ProviderError::new(
                    ProviderError::PROVIDER_ERROR,
                    format!("{}: stream broken: {e}", self.name),
                ))
            }
            Some(Err(EventStreamError::Utf8(e))) => Err(self.invalid(&e)),
            Some(Err(EventStreamError::Parser(e))) => Err(self.invalid(&e)),
        }
    }

    fn invalid(&self, e: &dyn std::fmt::Display) -> ProviderError {
        ProviderError::new(
            ProviderError::INVALID_RESPONSE,
            format!("{}: not a valid event stream: {e}", self.name),
        )
    }
}

/// An error and its sources, joined: reqwest's own message alone rarely says why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The provider's error message from an error body: `error.message` (OpenAI,
/// Anthropic), `error` as a string (Ollama), `message` or `detail` (vLLM and others),
/// else the text itself; shortened.
pub(crate) fn error_text(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        let e = v.get("error");
        e.and_then(|e| e.get("message"))
            .or(e)
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"))
            .map(|m| match m.as_str() {
                Some(s) => s.to_string(),
                None => m.to_string(),
            })
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    match text.char_indices().nth(MAX_ERROR_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The wait a 429/503 asks for: `retry-after-ms` (OpenAI), else `Retry-After` in
/// seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // Clamped to a day so that an absurd value cannot overflow a Duration.
    let secs =
        |s: f64| (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(86_400.0)));
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return secs(ms / 1000.0);
    }
    let value = header("retry-after")?;
    if let Ok(s) = value.parse::<f64>() {
        return secs(s);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}
