//! Retrying a model call: exponential backoff with jitter (backon), `Retry-After`
//! honoured up to a cap, and never once the caller has been sent an event.

use super::ProviderError;
use crate::config::ProviderConfig;
use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;

/// How one attempt failed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// What to report if this is the last attempt.
    pub error: ProviderError,
    /// Whether another attempt may help and cannot duplicate output.
    pub retryable: bool,
    /// The provider's requested wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure that no retry can fix.
    pub fn fatal(error: ProviderError) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }
}

/// Runs `attempt` until it succeeds, fails with a non-retryable [`Failure`], or
/// `max_retries` retries are spent; the last error gets the attempt count appended.
pub(crate) async fn with_retries<F, Fut>(
    cfg: &ProviderConfig,
    name: &str,
    mut attempt: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(cfg.retry_base_delay)
        .with_max_delay(cfg.retry_max_delay.max(cfg.retry_base_delay))
        .with_max_times(cfg.max_retries as usize)
        .with_jitter();
    let cap = cfg.max_retry_after;
    let mut attempts = 0u32;
    let result = (|| {
        attempts += 1;
        attempt()
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(|f: &Failure| f.retryable)
    .adjust(|f: &Failure, next: Option<Duration>| {
        // `None` means the retries are spent; a Retry-After does not extend them.
        next.map(|d| f.retry_after.map_or(d, |ra| ra.min(cap)))
    })
    .notify(|f: &Failure, wait: Duration| {
        tracing::warn!(
            provider = %name,
            code = f.error.code,
            error = %f.error.message,
            wait_ms = wait.as_millis() as u64,
            "model call failed; retrying"
        );
    })
    .await;
    result.map_err(|f| {
        let mut error = f.error;
        if attempts > 1 {
            error.message = format!("{} (after {attempts} attempts)", error.message);
        }
        error
    })
}

/// The caller's channel, remembering whether anything was sent (after which a
/// failure can no longer be retried).
pub(crate) struct Out<'a> {
    tx: &'a tokio::sync::mpsc::Sender<super::StreamEvent>,
    /// Whether an event went out.
    pub sent: bool,
}

impl<'a> Out<'a> {
    /// Wraps `tx`.
    pub fn new(tx: &'a tokio::sync::mpsc::Sender<super::StreamEvent>) -> Self {
        Self { tx, sent: false }
    }

    /// Sends `event`; `false` when the receiver is gone (the run was cancelled).
    pub async fn send(&mut self, event: super::StreamEvent) -> bool {
        self.sent = true;
        self.tx.send(event).await.is_ok()
    }

    /// A failure while streaming: a provider or rate-limit error is retried only while
    /// nothing was sent; a stall or a malformed stream never is.
    pub fn fail(&self, error: ProviderError) -> Failure {
        let retryable = !self.sent
            && matches!(
                error.code,
                ProviderError::PROVIDER_ERROR | ProviderError::RATE_LIMITED
            );
        Failure {
            error,
            retryable,
            retry_after: None,
        }
    }
}
