//! One attempt of a delivery: the signed POST through the outbound guard, and what came
//! of it. Only a 2xx answer is a success; a redirect is an answer like any other (the
//! guarded client never follows one), so it fails. A URL the guard refuses is a failed
//! attempt whose error names the rule, and nothing is sent.

use super::{schedule, sign};
use crate::outbound::{Outbound, OutboundError};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::{Duration, Instant};

/// How much of an answer's body is kept with the attempt.
pub const KEPT_RESPONSE: usize = 1024;

/// The `user-agent` of every delivery.
pub const USER_AGENT: &str = concat!("OrchStack-Webhooks/", env!("CARGO_PKG_VERSION"));

/// What to send: the event and where.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The endpoint's URL.
    pub url: &'a str,
    /// The secrets that sign (current first; the previous one during its grace).
    pub secrets: &'a [String],
    /// The event id: the `webhook-id`, identical on every attempt.
    pub event_id: &'a str,
    /// The body (the event's stored payload, serialised).
    pub body: &'a [u8],
    /// How long the attempt may take in all.
    pub timeout: Duration,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The HTTP status, if the endpoint answered.
    pub status: Option<u16>,
    /// The first [`KEPT_RESPONSE`] bytes of the answer's body, if it answered.
    pub response: Option<String>,
    /// Why there was no usable answer (refused, timeout, unreachable, ...), if so.
    pub error: Option<String>,
    /// The wait a 429 or 503 asked for with `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Outcome {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// A 410 answer: the receiver says the endpoint is gone for good.
    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }
}

/// The Standard Webhooks headers (plus content type and user agent) for `req` sent at
/// `timestamp` (Unix seconds); `None` if no secret could sign.
pub fn headers(req: &Request<'_>, timestamp: i64) -> Option<HeaderMap> {
    let signature = sign::header(req.secrets, req.event_id, timestamp, req.body)?;
    let mut h = HeaderMap::with_capacity(5);
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    let pairs = [
        ("webhook-id", req.event_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    for (name, value) in pairs {
        // Ids, digits and base64 are always valid header values.
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).ok()?,
        );
    }
    Some(h)
}

/// Sends one attempt of `req` through the guarded client.
pub async fn send(outbound: &Outbound, req: Request<'_>) -> Outcome {
    let at = crate::clock::now();
    let started = Instant::now();
    let Some(headers) = headers(&req, at.timestamp()) else {
        return failed(
            at,
            started,
            "the endpoint's secret cannot sign (not whsec_ + base64)".into(),
        );
    };
    // Only the start of the answer is kept, so a large 2xx answer is still a success.
    let answer = outbound
        .post_excerpt(
            req.url,
            headers,
            req.body.to_vec(),
            req.timeout,
            KEPT_RESPONSE,
        )
        .await;
    match answer {
        Ok(res) => {
            let kept = &res.body[..res.body.len().min(KEPT_RESPONSE)];
            let retry_after = matches!(res.status, 429 | 503)
                .then(|| res.headers.get(http::header::RETRY_AFTER))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| schedule::parse_retry_after(v, crate::clock::now()));
            Outcome {
                at,
                duration_ms: elapsed_ms(started),
                status: Some(res.status),
                response: Some(String::from_utf8_lossy(kept).into_owned()),
                error: None,
                retry_after,
            }
        }
        Err(err) => failed(at, started, describe(&err)),
    }
}

/// The error of an attempt without an answer, worded for the endpoint's owner.
pub fn describe(err: &OutboundError) -> String {
    err.describe("the webhook")
}

fn failed(at: DateTime<Utc>, started: Instant, error: String) -> Outcome {
    Outcome {
        at,
        duration_ms: elapsed_ms(started),
        status: None,
        response: None,
        error: Some(error),
        retry_after: None,
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_are_the_standard_ones() {
        let secrets = vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string()];
        let req = Request {
            url: "https://example.com/hook",
            secrets: &secrets,
            event_id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            body: br#"{"test": 2432232314}"#,
            timeout: Duration::from_secs(1),
        };
        let h = headers(&req, 1614265330).unwrap();
        assert_eq!(h["webhook-id"], "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(h["webhook-timestamp"], "1614265330");
        assert_eq!(
            h["webhook-signature"],
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(h["content-type"], "application/json");
        assert!(h["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("OrchStack-Webhooks/"));
    }

    #[test]
    fn only_2xx_succeeds() {
        let mut o = Outcome {
            at: Utc::now(),
            duration_ms: 1,
            status: Some(200),
            response: None,
            error: None,
            retry_after: None,
        };
        assert!(o.succeeded());
        for s in [199, 301, 302, 307, 400, 410, 429, 500] {
            o.status = Some(s);
            assert!(!o.succeeded(), "{s}");
        }
        o.status = Some(410);
        assert!(o.gone());
        o.status = None;
        assert!(!o.succeeded() && !o.gone());
    }
}
