//! The one way to send HTTP to a URL a tenant gave (tools now; webhooks and workflow
//! nodes later). It refuses URLs that reach anything but public addresses (see
//! [`guard`]), connects only to the addresses it checked, never follows redirects, caps
//! the time and the size of the answer, and reports failures by the rule they broke,
//! never with what an internal address answered.
//!
//! Model provider base URLs are operator configuration and do not go through here.

pub mod guard;
mod resolve;

use crate::config::OutboundConfig;
use guard::{Guard, Rule};
use reqwest::Url;
use resolve::{GuardedResolver, Refusal};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Connecting to a destination may take this long (within the request's timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolving a name to check it at save time may take this long.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// An answer from an allowed destination.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body (at most the configured size).
    pub body: Vec<u8>,
    /// The answer's headers (webhooks read `Retry-After`).
    pub headers: http::HeaderMap,
}

/// Why an outbound request did not produce an answer. [`describe`](Self::describe)
/// words it for the tenant; no variant carries what a destination said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundError {
    /// Not an `http(s)://` URL with a host.
    InvalidUrl,
    /// The URL's host is (`resolved == false`) or resolves to an address that breaks
    /// `rule`.
    Refused {
        /// The rule broken.
        rule: Rule,
        /// True when a host name resolved to the address, false for an IP literal.
        resolved: bool,
    },
    /// The host name has no address.
    Unresolvable,
    /// No complete answer within this many milliseconds.
    Timeout(u64),
    /// No connection could be made.
    Unreachable,
    /// The answer is larger than this many bytes.
    TooLarge(usize),
    /// Anything else (a broken connection, a malformed answer).
    Failed,
}

impl OutboundError {
    /// The error as a sentence about `subject` (e.g. `"the tool"`).
    pub fn describe(&self, subject: &str) -> String {
        match self {
            Self::InvalidUrl => {
                format!("{subject} URL must be an http:// or https:// URL with a host")
            }
            Self::Refused {
                rule,
                resolved: false,
            } => {
                format!("{subject} URL points to {rule}, which is not allowed")
            }
            Self::Refused {
                rule,
                resolved: true,
            } => {
                format!("{subject} URL resolves to {rule}, which is not allowed")
            }
            Self::Unresolvable => format!("{subject} URL's host name could not be resolved"),
            Self::Timeout(ms) => format!("{subject} did not answer within {ms} ms"),
            Self::Unreachable => format!("{subject} could not be reached"),
            Self::TooLarge(limit) => {
                format!("{subject}'s answer is larger than the limit of {limit} bytes")
            }
            Self::Failed => format!("{subject} request failed before a complete answer"),
        }
    }
}

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("the destination"))
    }
}

impl std::error::Error for OutboundError {}

/// The guarded client; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    guard: Arc<Guard>,
    client: reqwest::Client,
    max_response_bytes: usize,
    max_timeout: Duration,
}

impl Outbound {
    /// Builds the client from its configuration (validated at boot).
    pub fn new(config: &OutboundConfig) -> anyhow::Result<Self> {
        let guard =
            Guard::new(&config.allow).map_err(|e| anyhow::anyhow!("outbound.allow: {e}"))?;
        let guard = Arc::new(guard);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past the guard.
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            guard,
            client,
            max_response_bytes: config.max_response_bytes,
            max_timeout: config.max_timeout,
        })
    }

    /// The longest timeout a request may ask for.
    pub fn max_timeout(&self) -> Duration {
        self.max_timeout
    }

    /// Checks a URL without resolving it (for save time): `http(s)` with a host, and
    /// an IP literal host must be allowed. Host names are checked when called.
    pub fn check_url(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = Url::parse(url).map_err(|_| OutboundError::InvalidUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl);
        }
        let ip: Option<IpAddr> = match parsed.host() {
            None => return Err(OutboundError::InvalidUrl),
            Some(url::Host::Domain("")) => return Err(OutboundError::InvalidUrl),
            Some(url::Host::Domain(_)) => None,
            Some(url::Host::Ipv4(v4)) => Some(v4.into()),
            Some(url::Host::Ipv6(v6)) => Some(v6.into()),
        };
        if let Some(ip) = ip {
            // The client connects to an IP literal without asking the resolver.
            self.guard
                .check(ip, false)
                .map_err(|rule| OutboundError::Refused {
                    rule,
                    resolved: false,
                })?;
        }
        Ok(parsed)
    }

    /// Whether the operator's allow-list names the URL's host: its name (or a `*.`
    /// suffix of it), or, for an IP literal, a listed address or range. Plain `http://`
    /// is accepted for such hosts only (webhook URLs).
    pub fn is_allow_listed(&self, url: &Url) -> bool {
        match url.host() {
            Some(url::Host::Domain(host)) => self.guard.host_allowed(host),
            Some(url::Host::Ipv4(v4)) => self.guard.ip_allowed(v4.into()),
            Some(url::Host::Ipv6(v6)) => self.guard.ip_allowed(v6.into()),
            None => false,
        }
    }

    /// [`check_url`](Self::check_url), and for a host name also resolves it now and
    /// refuses it when any of its addresses breaks a rule (or it has none): what the
    /// client's resolver would do at send time, for URLs checked when they are saved
    /// (webhook endpoints). Sending checks again; this only refuses early what would
    /// certainly be refused then.
    pub async fn check_url_resolved(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = self.check_url(url)?;
        if let Some(url::Host::Domain(host)) = parsed.host() {
            let lookup = resolve::checked_addrs(&self.guard, host);
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(_)) => {}
                Ok(Err(Refusal::Rule(rule))) => {
                    return Err(OutboundError::Refused {
                        rule,
                        resolved: true,
                    })
                }
                Ok(Err(Refusal::Unresolvable)) | Err(_) => return Err(OutboundError::Unresolvable),
            }
        }
        Ok(parsed)
    }

    /// POSTs `body` as JSON; see [`post`](Self::post).
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Response, OutboundError> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        self.post(url, headers, body.to_string().into_bytes(), timeout)
            .await
    }

    /// POSTs `body` with `headers` to a checked URL and reads the answer, whatever its
    /// status, up to the size limit. `timeout` (capped at the configured maximum) covers
    /// everything from connecting to the last byte.
    pub async fn post(
        &self,
        url: &str,
        headers: http::HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Response, OutboundError> {
        let (mut res, timeout_ms) = self.send(url, headers, body, timeout).await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let limit = self.max_response_bytes;
        if res.content_length().is_some_and(|n| n > limit as u64) {
            return Err(OutboundError::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| classify(&e, timeout_ms))? {
            if body.len() + chunk.len() > limit {
                // Dropping the response closes the connection mid-answer.
                return Err(OutboundError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            body,
            headers,
        })
    }

    /// Like [`post`](Self::post), for callers that keep only the start of an answer
    /// (webhook deliveries log 1 KiB): reads at most `keep` bytes of the body and drops
    /// the rest, so a large answer is still an answer (its status counts).
    pub async fn post_excerpt(
        &self,
        url: &str,
        headers: http::HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
        keep: usize,
    ) -> Result<Response, OutboundError> {
        let (mut res, timeout_ms) = self.send(url, headers, body, timeout).await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let mut body = Vec::new();
        while body.len() < keep {
            match res.chunk().await.map_err(|e| classify(&e, timeout_ms))? {
                Some(chunk) => {
                    let room = keep - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                None => break,
            }
        }
        Ok(Response {
            status,
            body,
            headers,
        })
    }

    /// Sends the POST to a checked URL; the answer's head, and the timeout in ms.
    async fn send(
        &self,
        url: &str,
        headers: http::HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(reqwest::Response, u64), OutboundError> {
        let url = self.check_url(url)?;
        let timeout = timeout.clamp(Duration::from_millis(1), self.max_timeout);
        let timeout_ms = timeout.as_millis() as u64;
        let res = self
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| classify(&e, timeout_ms))?;
        Ok((res, timeout_ms))
    }
}

/// The error a failed request stands for, without its text (which may carry internal
/// addresses or what they answered).
fn classify(err: &reqwest::Error, timeout_ms: u64) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return match *refusal {
                Refusal::Rule(rule) => OutboundError::Refused {
                    rule,
                    resolved: true,
                },
                Refusal::Unresolvable => OutboundError::Unresolvable,
            };
        }
        source = e.source();
    }
    if err.is_timeout() {
        OutboundError::Timeout(timeout_ms)
    } else if err.is_connect() {
        OutboundError::Unreachable
    } else {
        OutboundError::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound(allow: &[&str]) -> Outbound {
        let config = OutboundConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            ..OutboundConfig::default()
        };
        Outbound::new(&config).expect("outbound client")
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn the_allow_list_names_hosts_and_addresses() {
        let o = outbound(&[
            "127.0.0.1",
            "10.1.0.0/16",
            "hooks.internal",
            "*.corp.example",
        ]);
        assert!(o.is_allow_listed(&url("http://127.0.0.1:8080/x")));
        assert!(o.is_allow_listed(&url("http://10.1.2.3/x")));
        assert!(o.is_allow_listed(&url("http://HOOKS.internal/x")));
        assert!(o.is_allow_listed(&url("http://a.corp.example/x")));
        assert!(!o.is_allow_listed(&url("http://10.2.0.1/x")));
        assert!(!o.is_allow_listed(&url("http://localhost/x")));
        assert!(!o.is_allow_listed(&url("http://[::1]/x")));
        assert!(!o.is_allow_listed(&url("http://example.com/x")));
    }

    #[tokio::test]
    async fn names_are_resolved_and_checked_when_saved() {
        let strict = outbound(&[]);
        assert_eq!(
            strict.check_url_resolved("https://localhost/x").await.err(),
            Some(OutboundError::Refused {
                rule: Rule::Loopback,
                resolved: true
            })
        );
        assert_eq!(
            strict
                .check_url_resolved("https://no-such-host.invalid/x")
                .await
                .err(),
            Some(OutboundError::Unresolvable)
        );
        assert_eq!(
            strict.check_url_resolved("https://[fc00::1]/x").await.err(),
            Some(OutboundError::Refused {
                rule: Rule::UniqueLocal,
                resolved: false
            })
        );
        // The address allow-listed: a name resolving to it passes, as it would at send
        // time; a metadata address never does.
        let open = outbound(&["127.0.0.1", "169.254.169.254"]);
        assert!(open.check_url_resolved("https://localhost/x").await.is_ok());
        assert!(open
            .check_url_resolved("http://169.254.169.254/")
            .await
            .is_err());
    }
}
